// UDP port forwards between the host network and the mesh, one flow per source address:
//   UdpProxyTunnel  ([UDPProxyTunnel])  local UDP BindAddress  -> mesh Target; each local
//                   source gets its own mesh socket (random port), replies go back to it.
//   UdpServerTunnel ([UDPServerTunnel]) mesh ListenPort -> local Target; each mesh source gets
//                   its own host socket, replies leave from the node address it was sent to.
// Flows are bounded (MaxConnections, LRU eviction) and idle out after InactivityTimeout (0 =
// never). A Target given by name is resolved through DnsResolver before the first datagram can
// pass (datagrams before that are counted drops). Created by proxy::UdpServices.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/config/config.hpp"
#include "netstack/udp.hpp"
#include "proxy/dns_resolver.hpp"
#include "proxy/udp_flow_table.hpp"
#include "proxy/udp_host_socket.hpp"
#include "transports/event_loop.hpp"

namespace tunless::proxy {

inline constexpr std::size_t kDefaultMaxUdpFlows = 256;  // MaxConnections = 0

struct UdpForwardStats {
    FlowTableStats flows;
    std::uint64_t to_mesh_datagrams = 0;  // local -> mesh
    std::uint64_t to_mesh_bytes = 0;
    std::uint64_t from_mesh_datagrams = 0;  // mesh -> local
    std::uint64_t from_mesh_bytes = 0;
    std::uint64_t drop_unresolved = 0;   // target name not resolved (yet)
    std::uint64_t drop_foreign = 0;      // reply from someone other than the target
    std::uint64_t drop_send_failed = 0;  // socket error / full buffer / no route
    std::uint64_t drop_no_socket = 0;    // could not open a flow's socket
};

// Target address of a forward: the literal, or the name resolved on demand (re-resolved after
// a failure on the next datagram).
class ForwardTarget {
public:
    ForwardTarget(cfg::NamedEndpoint target, DnsResolver& resolver, FamilyPreference pref);
    // The address if known; otherwise starts a lookup (if none is running) and returns nullopt.
    std::optional<IpAddress> get();
    std::uint16_t port() const { return target_.port; }
    const cfg::NamedEndpoint& named() const { return target_; }

private:
    cfg::NamedEndpoint target_;
    DnsResolver& resolver_;
    FamilyPreference pref_;
    std::optional<IpAddress> ip_;
    DnsResolver::Handle pending_;
};

class UdpProxyTunnel {
public:
    // Binds the local socket. `loop`, `stack`, `resolver` must outlive the tunnel.
    static Result<std::unique_ptr<UdpProxyTunnel>> create(const cfg::UdpProxyTunnel& config,
                                                          io::EventLoop& loop, net::Stack& stack,
                                                          DnsResolver& resolver,
                                                          FamilyPreference pref);
    ~UdpProxyTunnel();

    Instant next_deadline() const;
    void on_timer(Instant now);
    UdpForwardStats stats() const;
    std::string describe() const;
    // The local socket's address (the kernel's port when BindAddress had port 0).
    const Endpoint& local() const { return socket_->local(); }
    // BindAddress as configured (port 0 kept): the forward's identity across reloads.
    const Endpoint& bind() const { return bind_; }

private:
    struct Flow;
    UdpProxyTunnel(const cfg::UdpProxyTunnel& config, io::EventLoop& loop, net::Stack& stack,
                   DnsResolver& resolver, FamilyPreference pref);
    void on_local(const Endpoint& from, ByteView payload);

    io::EventLoop& loop_;
    net::Stack& stack_;
    ForwardTarget target_;
    Endpoint bind_;
    UdpFlowTable<Flow> flows_;
    std::unique_ptr<HostUdpSocket> socket_;
    UdpForwardStats stats_;
};

class UdpServerTunnel final : public net::UdpHandler {
public:
    static Result<std::unique_ptr<UdpServerTunnel>> create(const cfg::UdpServerTunnel& config,
                                                           io::EventLoop& loop, net::Stack& stack,
                                                           DnsResolver& resolver,
                                                           FamilyPreference pref);
    ~UdpServerTunnel() override;

    void on_datagram(net::UdpSocket& socket, const net::UdpDatagramInfo& info,
                     ByteView payload) override;
    Instant next_deadline() const;
    void on_timer(Instant now);
    UdpForwardStats stats() const;
    std::string describe() const;
    std::uint16_t listen_port() const { return listen_port_; }

private:
    struct Flow;
    UdpServerTunnel(const cfg::UdpServerTunnel& config, io::EventLoop& loop, DnsResolver& resolver,
                    FamilyPreference pref);

    io::EventLoop& loop_;
    ForwardTarget target_;
    std::uint16_t listen_port_;
    UdpFlowTable<Flow> flows_;
    std::unique_ptr<net::UdpSocket> socket_;
    UdpForwardStats stats_;
};

}  // namespace tunless::proxy
