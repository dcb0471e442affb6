// Caps and defaults of the TCP services (SOCKS5, HTTP proxy, TCP forwards) in one place
// (engineering notes §7.3.7). Per-connection memory is bounded by lwIP's send buffer and
// receive window (TCP_SND_BUF / TCP_WND, ADR 0001) plus a few hundred bytes of state: the
// splice itself holds no per-connection data buffer (docs/proxy.md, "Memory").
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/time.hpp"

namespace tunless::proxy {

// Live connections per listener when the config sets no MaxConnections. The lwIP stack caps
// all mesh TCP connections together at StackConfig::max_tcp_connections (1024) as well. An
// idle connection costs ~2.5 KiB of process memory and one descriptor (docs/reliability.md).
inline constexpr std::uint32_t kDefaultMaxConnections = 1024;
// Clients beyond MaxConnections that SOCKS5 and the HTTP proxy still negotiate with, only to
// answer "general failure" (0x01) / 503 instead of a bare reset: at most this many at a time
// per listener, each for at most kNegotiationTimeout. Beyond them, a reset.
inline constexpr std::uint32_t kMaxRefusingSessions = 16;

// An established splice with no byte moving either way for this long is reset. RFC 5382
// REQ-5: a NAT's established-connection idle timeout MUST NOT be shorter than 2 h 4 min; a
// proxy standing in for a NAT keeps the same promise.
inline constexpr Duration kDefaultIdleTimeout = 2h + 4min;
// From the first SYN to an established mesh connection (a WireGuard handshake that needs one
// retry takes REKEY_TIMEOUT = 5 s, so 10 s leaves room for that and one SYN retransmission).
inline constexpr Duration kDefaultConnectTimeout = 10s;
// A local client must finish its SOCKS5 negotiation or HTTP request head within this time.
inline constexpr Duration kNegotiationTimeout = 10s;
// How often sessions check their deadlines (only while a listener has sessions).
inline constexpr Duration kSweepInterval = 1s;

// Bytes moved per read/sendmsg call, and the size of the one scratch buffer all splices share
// for host -> mesh reads (single-threaded: it never holds data across calls).
inline constexpr std::size_t kDefaultIoChunk = 64 * 1024;
// At most this many bytes per direction per readiness event, so one fast connection cannot
// starve others within a loop round.
inline constexpr std::size_t kMaxBytesPerEvent = 4 * kDefaultIoChunk;
// Contiguous received runs gathered into one sendmsg (each run is one TCP segment, ~1360 B).
inline constexpr std::size_t kMaxIovecRuns = 64;

inline constexpr int kListenBacklog = 128;
inline constexpr std::size_t kMaxAcceptsPerEvent = 64;
// Accepting is paused this long when the process is out of descriptors (EMFILE/ENFILE).
inline constexpr Duration kAcceptPauseOnExhaustion = 100ms;

// Name lookups in flight (system resolver); more get kLimitReached -> SOCKS 0x04 / HTTP 502.
inline constexpr std::size_t kMaxPendingResolves = 64;
inline constexpr Duration kResolveTimeout = 5s;
inline constexpr Duration kResolvePollInterval = 5ms;

}  // namespace tunless::proxy
