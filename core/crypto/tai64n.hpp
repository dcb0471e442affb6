// TAI64N timestamps (cr.yp.to/libtai/tai64.html) as carried in handshake initiations: 8 bytes
// big-endian seconds with the 2^62 offset (plus the 10 s TAI-UTC offset, as wireguard-go and
// the kernel write 0x400000000000000a + unix seconds), 4 bytes big-endian nanoseconds.
// Like wireguard-go and the kernel, nanoseconds are rounded down to a multiple of 2^24 ns
// (~16.8 ms) so the timestamp does not leak a precise clock (whitepaper §5.1 timing leak).
// Callers: the handshake (create_initiation stamps, consume_initiation compares).
#pragma once

#include <array>
#include <cstdint>

#include "core/base/time.hpp"

namespace tunless::crypto {

using Tai64n = std::array<std::uint8_t, 12>;

inline constexpr std::uint64_t kTai64nBase = 0x400000000000000aULL;
// wireguard-go tai64n.go whitenerMask = 0x1000000 - 1; kernel noise.c tai64n_now() rounds
// down to rounddown_pow_of_two(NSEC_PER_SEC / INITIATIONS_PER_SECOND) = 2^24.
inline constexpr std::uint32_t kTai64nWhitenerMask = (1u << 24) - 1;

Tai64n tai64n_from_wall(WallTime t);
// Byte-wise big-endian compare gives chronological order: true if a is strictly later than b.
bool tai64n_after(const Tai64n& a, const Tai64n& b);

}  // namespace tunless::crypto
