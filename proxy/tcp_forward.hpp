// TCP port forwards (wireproxy's tunnel sections):
//   InboundForward  [TCPServerTunnel]: listens on a mesh port on every node address, connects
//     each accepted mesh connection to a host-side Target (e.g. 23 -> 127.0.0.1:2323), with
//     an optional PROXY protocol v2 header naming the mesh peer, and splices.
//   OutboundForward [TCPClientTunnel]: listens on a host BindAddress, connects each client to
//     a mesh Target (MeshDialer: only addresses some peer's AllowedIPs contain) and splices.
// Mesh ports without a listener are answered with RST by lwIP. Created by proxy::Services.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config/config.hpp"
#include "netstack/tcp.hpp"
#include "proxy/host_socket.hpp"
#include "proxy/session.hpp"
#include "proxy/target.hpp"

namespace tunless::proxy {

class InboundForward final : public net::TcpAcceptHandler {
public:
    struct Options {
        std::uint16_t mesh_port = 0;
        cfg::NamedEndpoint target;       // host side; a name is resolved per connection
        bool proxy_protocol = false;     // PROXY v2 header before the first byte
        std::uint32_t max_connections = 0;
    };
    // `ctx` must outlive the forward.
    static Result<std::unique_ptr<InboundForward>> create(ServiceContext& ctx,
                                                          const Options& options);
    ~InboundForward() override;
    InboundForward(const InboundForward&) = delete;
    InboundForward& operator=(const InboundForward&) = delete;

    const ListenerStats& stats() const { return stats_; }
    const Options& options() const { return options_; }
    // Config reload: Target, ProxyProtocol and MaxConnections for connections accepted from
    // now on; accepted ones keep theirs. `options.mesh_port` must be the running one.
    void reconfigure(const Options& options);
    void shutdown();
    void on_accept(net::TcpListener& listener, std::unique_ptr<net::TcpConnection>& conn) override;

private:
    class Session;
    InboundForward(ServiceContext& ctx, const Options& options);

    ServiceContext& ctx_;
    Options options_;
    ListenerStats stats_;
    SessionTable sessions_;
    std::unique_ptr<net::TcpListener> listener_;
};

class OutboundForward {
public:
    struct Options {
        Endpoint bind;
        cfg::NamedEndpoint target;  // mesh side
        std::uint32_t max_connections = 0;
    };
    static Result<std::unique_ptr<OutboundForward>> create(ServiceContext& ctx,
                                                           const Options& options);
    ~OutboundForward();
    OutboundForward(const OutboundForward&) = delete;
    OutboundForward& operator=(const OutboundForward&) = delete;

    const ListenerStats& stats() const { return stats_; }
    const Options& options() const { return options_; }
    // Config reload: Target and MaxConnections for connections accepted from now on. Fails,
    // changing nothing, for a target to_target() refuses. `options.bind` must be the running one.
    Status reconfigure(const Options& options);
    void shutdown();

private:
    class Session;
    OutboundForward(ServiceContext& ctx, const Options& options);
    void on_accept(io::UniqueFd fd, const Endpoint& client);
    void name_listener();  // stats_.name from the local address and the Target

    ServiceContext& ctx_;
    Options options_;
    Target target_;
    ListenerStats stats_;
    SessionTable sessions_;
    std::unique_ptr<HostListener> listener_;
};

// A config target as a proxy Target (IP literal or name); nullopt for a name too long or
// with bytes a DomainName refuses.
std::optional<Target> to_target(const cfg::NamedEndpoint& endpoint);

}  // namespace tunless::proxy
