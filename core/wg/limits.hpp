// Implementation limits of the WireGuard core: caps on every table and queue, and the knobs that
// are our choice rather than the protocol's. Protocol constants live in core/wg/messages.hpp.
// Not configuration: the daemon cannot change these at run time (except the MTU and the
// under-load override, which have setters on wg::Device).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/time.hpp"

namespace tunless::wg {

// Peers per device (wireguard-go MaxPeers). Bounds the index table at 4 entries per peer
// (one handshake + current/previous/next keypair).
inline constexpr std::size_t kMaxPeers = std::size_t{1} << 16;
inline constexpr std::size_t kIndicesPerPeer = 4;

// Packets waiting for a handshake, per peer (kernel MAX_STAGED_PACKETS). Overflow drops the
// oldest packet (DropReason::kStagedOverflow).
inline constexpr std::size_t kMaxStagedPackets = 128;

// Tries to find a free random receiver index before giving up (collisions are ~never hit with a
// table that is at most half full; the bound only protects against a broken Rng).
inline constexpr int kIndexAllocationAttempts = 32;

// Largest IP packet (IPv4 total length / IPv6 payload + header fit in 16 bits).
inline constexpr std::size_t kMaxIpPacketSize = 65535;
// wg-quick's default MTU; only used to cap padding (paper §5.4.6).
inline constexpr std::uint16_t kDefaultMtu = 1420;

// Outbox caps per call (the caller drains and clears after every Device call). When a cap is
// reached, timer work is deferred to the next on_timer() call (the peer stays due) and
// anything else is dropped as DropReason::kOutboxFull.
inline constexpr std::size_t kOutboxMaxDatagrams = 2 * kMaxStagedPackets;
inline constexpr std::size_t kOutboxMaxPackets = 64;
inline constexpr std::size_t kOutboxMaxEvents = 256;
// on_timer() stops visiting peers when fewer free datagram slots than this are left.
inline constexpr std::size_t kOutboxTimerReserve = 4;

// "Under load" (cookie replies instead of handshake work, paper §5.3): the device counts
// handshake messages with a valid MAC1 (the ones that would cost X25519 work) per 1 s window.
// At kUnderLoadHandshakesPerSecond or more it is under load, and stays so for
// kUnderLoadAfterTime after the last window that crossed the threshold (wireguard-go's
// UnderLoadAfterTime). A responder costs about 4 X25519 operations per initiation, roughly
// 1 ms on a small ARM core: 64/s caps handshake work at a few percent of one core.
inline constexpr std::uint32_t kUnderLoadHandshakesPerSecond = 64;
inline constexpr Duration kUnderLoadWindow = 1s;
inline constexpr Duration kUnderLoadAfterTime = 1s;

// Per-source-address token bucket for handshake messages while under load (wireguard-go
// ratelimiter: 20 packets/s, burst 5; IPv6 sources grouped by /64 like the kernel).
inline constexpr std::uint32_t kRateLimitPacketsPerSecond = 20;
inline constexpr std::uint32_t kRateLimitBurst = 5;
inline constexpr std::size_t kRateLimitTableSize = 4096;   // entries; full table = deny
inline constexpr Duration kRateLimitEntryIdle = 1s;        // idle entries are collected

}  // namespace tunless::wg
