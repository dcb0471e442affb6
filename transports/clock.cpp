#include "transports/clock.hpp"

#include <time.h>

namespace tunless::io {

Instant mono_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return Instant{} + std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

WallTime SystemWallClock::now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return WallTime{static_cast<std::int64_t>(ts.tv_sec), static_cast<std::uint32_t>(ts.tv_nsec)};
}

}  // namespace tunless::io
