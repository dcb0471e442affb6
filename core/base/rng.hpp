// Randomness is injected: production wraps libsodium's randombytes_buf (SystemRng), tests and
// fuzzers use a seeded deterministic stream (tests/support). Nothing in core/ calls a global RNG.
#pragma once

#include <cstdint>

#include "core/base/bytes.hpp"

namespace tunless {

class Rng {
public:
    virtual ~Rng() = default;
    virtual void fill(MutByteView out) = 0;
    std::uint32_t uniform(std::uint32_t upper_exclusive);  // unbiased, upper_exclusive > 0
    std::uint32_t next_u32();
};

// libsodium's CSPRNG (the kernel RNG). Lives in core because libsodium is core's only dependency
// and it is not I/O the core performs: the caller decides which Rng a component gets.
class SystemRng final : public Rng {
public:
    void fill(MutByteView out) override;
};

}  // namespace tunless
