// TAI64N timestamps (cr.yp.to/libtai/tai64.html) as carried in handshake initiations: 8 bytes
// big-endian seconds with the 2^62 offset, 4 bytes big-endian nanoseconds. Like wireguard-go,
// nanoseconds are rounded down to a coarse granularity so the timestamp does not leak a
// precise clock to an observer who can see it (whitepaper §5.1 discusses the timing leak).
#pragma once

#include <array>
#include <cstdint>

#include "core/base/time.hpp"

namespace tunless::crypto {

using Tai64n = std::array<std::uint8_t, 12>;

Tai64n tai64n_from_wall(WallTime t);
// Byte-wise big-endian compare gives chronological order.
bool tai64n_after(const Tai64n& a, const Tai64n& b);

}  // namespace tunless::crypto
