#include "core/base/rng.hpp"

#include <sodium.h>

namespace tunless {

std::uint32_t Rng::next_u32() {
    std::uint8_t b[4];
    fill(b);
    return load_le32(b);
}

std::uint32_t Rng::uniform(std::uint32_t upper_exclusive) {
    // Rejection sampling (same idea as randombytes_uniform) so jitter is unbiased.
    const std::uint32_t min = (1U + ~upper_exclusive) % upper_exclusive;
    std::uint32_t r;
    do {
        r = next_u32();
    } while (r < min);
    return r % upper_exclusive;
}

void SystemRng::fill(MutByteView out) { randombytes_buf(out.data(), out.size()); }

}  // namespace tunless
