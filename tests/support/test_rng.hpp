// Deterministic test doubles for the injected clock and randomness.
#pragma once

#include <cstdint>

#include "core/base/rng.hpp"
#include "core/base/time.hpp"

namespace tunless::test {

// xoshiro-style seeded stream: reproducible across runs and platforms; never for production.
class SeededRng final : public Rng {
public:
    explicit SeededRng(std::uint64_t seed = 1) : s_(seed ? seed : 1) {}
    void fill(MutByteView out) override;

private:
    std::uint64_t s_;
};

// Monotonic and wall time that move only when the test says so.
class FakeClock final : public WallClock {
public:
    Instant now_mono() const { return mono_; }
    WallTime now() override { return wall_; }
    void advance(Duration d) {
        mono_ += d;
        auto ns = std::int64_t(wall_.nanoseconds) + d.count();
        wall_.seconds += ns / 1'000'000'000;
        wall_.nanoseconds = static_cast<std::uint32_t>(ns % 1'000'000'000);
    }
    void set_wall(WallTime w) { wall_ = w; }

private:
    Instant mono_ = Instant{} + std::chrono::hours(1);
    WallTime wall_{1'700'000'000, 0};
};

}  // namespace tunless::test
