// proxy::Services: every user-facing TCP service of the node, built from the config after
// app::Node::start(): [Socks5], [http], [TCPServerTunnel], [TCPClientTunnel]. Owns the shared
// pieces (splice runtime, name resolver, mesh route view) and exposes per-listener counters
// for the SIGUSR1 status lines. A config reload adds, removes and updates listeners in place
// (apply_reload). Shut down with shutdown() (SIGTERM) before the loop stops; destroyed before
// the Node. UDP services (proxy/udp_*) hook in through set_udp_associate_handler() and
// resolver().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "core/config/config.hpp"
#include "core/config/listener_diff.hpp"
#include "core/wg/device.hpp"
#include "netstack/stack.hpp"
#include "proxy/device_routes.hpp"
#include "proxy/http_proxy_server.hpp"
#include "proxy/listener_reload.hpp"
#include "proxy/name_resolver.hpp"
#include "proxy/session.hpp"
#include "proxy/socks5_server.hpp"
#include "proxy/splice.hpp"
#include "proxy/tcp_forward.hpp"
#include "transports/event_loop.hpp"

namespace tunless::proxy {

struct ServicesOptions {
    SpliceOptions splice;
    Duration connect_timeout = kDefaultConnectTimeout;
};

// Forwards to whichever resolver is active (set_resolver is meant for start-up, before any
// lookup is in flight).
class ForwardingResolver final : public NameResolver {
public:
    explicit ForwardingResolver(NameResolver* const* target) : target_(target) {}
    RequestId resolve(std::string_view name, Callback cb) override {
        return (*target_)->resolve(name, std::move(cb));
    }
    void cancel(RequestId id) override { (*target_)->cancel(id); }

private:
    NameResolver* const* target_;
};

class Services {
public:
    // `loop`, `stack` and `device` must outlive the Services. Fails (naming the section) if a
    // listener cannot be opened.
    static Result<std::unique_ptr<Services>> create(io::EventLoop& loop, net::Stack& stack,
                                                    const wg::Device& device,
                                                    const cfg::Config& config,
                                                    const ServicesOptions& options = {});
    ~Services();
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    // Replaces the system resolver for names (e.g. DNS over the mesh). `resolver` must
    // outlive the Services; nullptr restores the system resolver.
    void set_resolver(NameResolver* resolver);
    NameResolver& resolver() { return *active_resolver_; }
    // Applies to every [Socks5] listener, including ones a reload adds.
    void set_udp_associate_handler(Socks5UdpAssociateHandler* handler);

    // Config reload (SIGHUP): applies the TCP entries of `diff` (cfg::diff_listeners of the
    // running config and `next`; UDP entries are UdpServices' part), in its order. Removed
    // listeners close and reset their connections. Changed ones keep listening: connections
    // accepted from now on get the new settings, live ones keep theirs. Added ones open. A
    // listener that cannot be put into effect (bind failed) is reported and left out; the
    // rest is applied regardless.
    ListenerReloadFailures apply_reload(const cfg::ListenerDiff& diff, const cfg::Config& next);

    // Closes every listener and resets every connection (SIGTERM).
    void shutdown();
    // One line per listener: active, total, refused, failed, rejected, bytes each way.
    std::vector<std::string> status_lines() const;
    // Sum of active sessions over all listeners.
    std::uint64_t active_connections() const;

private:
    Services(io::EventLoop& loop, net::Stack& stack, const wg::Device& device,
             const ServicesOptions& options);
    Status add_all(const cfg::Config& config);
    // One listener of `next` (the index-th section of that kind): open it / update it.
    Status start(cfg::ListenerKind kind, const cfg::Config& next, std::size_t index);
    Status update(const cfg::ListenerDelta& delta, std::size_t position, const cfg::Config& next);
    std::size_t position(const cfg::ListenerDelta& delta) const;
    void remove(const cfg::ListenerDelta& delta, std::size_t position);

    DeviceRoutes routes_;
    SpliceRuntime splices_;
    SystemResolver system_resolver_;
    NameResolver* active_resolver_;
    ForwardingResolver resolver_;
    ServiceContext ctx_;
    std::vector<std::unique_ptr<Socks5Server>> socks5_;
    std::vector<std::unique_ptr<HttpProxyServer>> http_;
    std::vector<std::unique_ptr<InboundForward>> inbound_;
    std::vector<std::unique_ptr<OutboundForward>> outbound_;
    Socks5UdpAssociateHandler* udp_handler_ = nullptr;
};

}  // namespace tunless::proxy
