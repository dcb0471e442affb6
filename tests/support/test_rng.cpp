#include "tests/support/test_rng.hpp"

namespace tunless::test {

void SeededRng::fill(MutByteView out) {
    for (auto& b : out) {
        // splitmix64 step per byte: simple, deterministic, good enough for tests.
        s_ += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = s_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        b = static_cast<std::uint8_t>(z ^ (z >> 31));
    }
}

}  // namespace tunless::test
