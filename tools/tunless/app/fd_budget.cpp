#include "tools/tunless/app/fd_budget.hpp"

#include <algorithm>

#include "proxy/limits.hpp"
#include "proxy/socks5_udp.hpp"
#include "proxy/udp_forward.hpp"
#include "tools/log/log.hpp"
#include "transports/fd_limit.hpp"

namespace tunless::app {
namespace {

std::uint64_t cap_or_default(std::uint32_t configured, std::uint64_t fallback) {
    return configured == 0 ? fallback : configured;
}

}  // namespace

FdDemand descriptors_wanted(const cfg::Config& c, std::uint32_t max_tcp_connections) {
    // Every TCP session holds one host socket: the accepted client (SOCKS5, HTTP,
    // TCPClientTunnel) or the connection to the local target (TCPServerTunnel). Sessions
    // beyond the Stack's cap are refused, so that cap bounds the sum of the listener caps.
    std::uint64_t listeners = 0;
    const auto add = [&listeners](std::uint32_t max) {
        listeners += cap_or_default(max, proxy::kDefaultMaxConnections);
    };
    for (const auto& p : c.socks5) add(p.max_connections);
    for (const auto& p : c.http) add(p.max_connections);
    for (const auto& t : c.tcp_client_tunnels) add(t.max_connections);
    for (const auto& t : c.tcp_server_tunnels) add(t.max_connections);
    FdDemand d;
    d.tcp = std::min<std::uint64_t>(listeners, max_tcp_connections);
    // A UDPServerTunnel flow has its own host socket; a SOCKS5 UDP association its relay
    // socket next to the control connection already counted above.
    for (const auto& t : c.udp_server_tunnels) {
        d.udp += cap_or_default(t.max_connections, proxy::kDefaultMaxUdpFlows);
    }
    d.udp += c.socks5.size() * proxy::Socks5UdpConfig{}.max_associations;
    d.total = d.tcp + d.udp + kBaseDescriptors;
    return d;
}

void check_fd_limit(const cfg::Config& config, std::uint32_t max_tcp_connections) {
    const FdDemand want = descriptors_wanted(config, max_tcp_connections);
    auto lim = io::raise_fd_limit();
    if (!lim) {
        log::warn("descriptor limit: {}", lim.error().message);
        return;
    }
    if (lim->soft != lim->before) {
        log::info("descriptor limit raised from {} to {} (RLIMIT_NOFILE hard limit)", lim->before,
                  lim->soft);
    }
    if (lim->soft < want.total) {
        log::warn(
            "descriptor limit {} (hard {}) is below the {} the connection limits can use "
            "({} TCP, {} UDP, {} base): raise it (ulimit -n, systemd LimitNOFILE=) or lower "
            "MaxConnections / [Limits] MaxTcpConnections; past it new connections wait or fail",
            lim->soft, lim->hard == io::kUnlimitedFds ? std::string("unlimited")
                                                      : std::to_string(lim->hard),
            want.total, want.tcp, want.udp, kBaseDescriptors);
    }
}

}  // namespace tunless::app
