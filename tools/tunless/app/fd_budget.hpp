// How many descriptors the configured connection limits can use at once, and the start-up
// check against RLIMIT_NOFILE: raise the soft limit, then warn when the configuration can use
// more than it allows (connections beyond it would wait in accept queues or fail with EMFILE).
// Called by app::run_daemon once the Stack exists; the estimate is pure (unit-tested).
#pragma once

#include <cstdint>

#include "core/config/config.hpp"

namespace tunless::app {

// Descriptors not tied to a connection: epoll, signalfd, timers, the WireGuard UDP socket,
// netlink, the control socket and its clients, listeners, resolver lookups.
inline constexpr std::uint64_t kBaseDescriptors = 64;

struct FdDemand {
    std::uint64_t tcp = 0;    // one host socket per TCP session, at most max_tcp_connections
    std::uint64_t udp = 0;    // UDPServerTunnel flows, SOCKS5 UDP associations
    std::uint64_t total = 0;  // tcp + udp + kBaseDescriptors
};

// `max_tcp_connections` is the Stack's effective cap ([Limits] MaxTcpConnections or default).
FdDemand descriptors_wanted(const cfg::Config& config, std::uint32_t max_tcp_connections);

// Raises RLIMIT_NOFILE's soft limit and logs the outcome; warns when `demand` exceeds it.
void check_fd_limit(const cfg::Config& config, std::uint32_t max_tcp_connections);

}  // namespace tunless::app
