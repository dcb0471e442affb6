// The real clocks. core/ never reads a clock; the event loop reads CLOCK_MONOTONIC once per
// dispatch round and hands `Instant now` to everything it calls. SystemWallClock feeds the
// WallClock interface (TAI64N handshake timestamps) from CLOCK_REALTIME.
// Tests use tests/support FakeClock instead.
#pragma once

#include "core/base/time.hpp"

namespace tunless::io {

// CLOCK_MONOTONIC as an Instant. Never goes backwards; unaffected by settimeofday/NTP steps.
Instant mono_now() noexcept;

class SystemWallClock final : public WallClock {
public:
    WallTime now() override;  // CLOCK_REALTIME
};

}  // namespace tunless::io
