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
    // A 32-bit time_t (armhf glibc without _TIME_BITS=64) wraps negative in January 2038, and
    // WireGuard peers reject handshake timestamps that go backwards. Read it as unsigned there:
    // correct until 2106, and the kernel's clock is 64-bit underneath anyway.
    std::int64_t seconds = static_cast<std::int64_t>(ts.tv_sec);
    if constexpr (sizeof(ts.tv_sec) == 4) {
        seconds = static_cast<std::int64_t>(static_cast<std::uint32_t>(ts.tv_sec));
    }
    return WallTime{seconds, static_cast<std::uint32_t>(ts.tv_nsec)};
}

}  // namespace tunless::io
