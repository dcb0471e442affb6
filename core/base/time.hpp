// Time as the sans-IO core sees it. The core never reads a clock: every entry point takes
// `Instant now`, and wall-clock time (needed only for TAI64N handshake timestamps) comes in
// through the WallClock interface. The event loop (transports/) owns the real clocks.
#pragma once

#include <chrono>
#include <cstdint>

namespace tunless {

// A monotonic clock *type* with no now(): instants are created by the loop from
// CLOCK_MONOTONIC and by tests from a fake clock. Its epoch is arbitrary.
struct MonoClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<MonoClock>;
    static constexpr bool is_steady = true;
};

using Instant = MonoClock::time_point;
using Duration = std::chrono::nanoseconds;

// "No deadline": the maximum instant, so min() over components needs no special case.
inline constexpr Instant kNever = Instant::max();

using namespace std::chrono_literals;  // NOLINT: 5s, 120s read best at the spec constants

// Wall-clock time since the Unix epoch, as used for TAI64N.
struct WallTime {
    std::int64_t seconds = 0;
    std::uint32_t nanoseconds = 0;
};

class WallClock {
public:
    virtual ~WallClock() = default;
    virtual WallTime now() = 0;
};

}  // namespace tunless
