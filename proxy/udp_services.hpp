// UdpServices: the UDP side of the proxy layer built from a Config: every [UDPProxyTunnel] and
// [UDPServerTunnel] forward plus the SOCKS5 UDP ASSOCIATE relay, as one DeadlineProvider for
// their flow timeouts, and their counters (status lines, key/value pairs). A config reload
// opens, closes and reopens forwards (apply_reload). Also the helpers
// that derive the DnsResolver configuration from [Interface] DNS= and [Resolve]. Not the TCP
// services (proxy/services.*). Owned by the daemon; must be destroyed before the Stack.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.hpp"
#include "core/config/config.hpp"
#include "core/config/listener_diff.hpp"
#include "proxy/dns_resolver.hpp"
#include "proxy/listener_reload.hpp"
#include "proxy/socks5_udp.hpp"
#include "proxy/socks5_udp_control.hpp"
#include "proxy/udp_forward.hpp"
#include "transports/event_loop.hpp"

namespace tunless::proxy {

// [Resolve] ResolveStrategy: ipv4 / ipv6 prefer that family; auto prefers IPv6 when the
// interface has an IPv6 address.
FamilyPreference family_preference(const cfg::Config& config);
// DNS= servers (queried over the mesh); none -> the system resolver.
DnsResolverConfig dns_resolver_config(const cfg::Config& config);

using CounterPairs = std::vector<std::pair<std::string, std::string>>;

// "dns: mesh servers=1 lookups=3 cache_hits=1 queries=4 ..." and the same as pairs "dns.*".
std::string dns_status_line(const DnsResolver& resolver);
void dns_counters(const DnsResolver& resolver, CounterPairs& out);

class UdpServices final : public io::DeadlineProvider {
public:
    // Opens every UDP forward of `config`. Names of mesh-side targets ([UDPProxyTunnel],
    // SOCKS5 UDP) go to `mesh_names` (DNS= over the mesh, or the system resolver); names of
    // host-side targets ([UDPServerTunnel]) go to `host_names` (the system resolver: the
    // target lives on the local network, as wireproxy's server tunnels dial it). `loop`,
    // `stack` and both resolvers must outlive this.
    static Result<std::unique_ptr<UdpServices>> create(const cfg::Config& config,
                                                       io::EventLoop& loop, net::Stack& stack,
                                                       DnsResolver& mesh_names,
                                                       DnsResolver& host_names);
    ~UdpServices() override;

    // For the SOCKS5 server's UDP ASSOCIATE (one relay shared by all SOCKS5 listeners):
    // Services::set_udp_associate_handler(&udp_services.socks5_handler()).
    Socks5UdpAssociateHandler& socks5_handler() { return *control_; }
    Socks5UdpRelay& socks5_relay() { return *relay_; }
    // Ends every association (SIGTERM); forwards stay until destruction.
    void shutdown() { control_->shutdown(); }

    // Config reload (SIGHUP): applies the UDP entries of `diff` (cfg::diff_listeners of the
    // running config and `next`), in its order. Removed forwards close with their flows. A
    // changed forward is reopened on the same address with the new settings: its flows start
    // over (UDP keeps no connection; a client's next datagram opens a new flow). Added ones
    // open. One that cannot open is reported and left out; the rest is applied regardless.
    // Target names resolve with the family preference the services started with.
    ListenerReloadFailures apply_reload(const cfg::ListenerDiff& diff, const cfg::Config& next);

    Instant next_deadline() const override;
    void on_timer(Instant now) override;

    // One line per forward plus one for the relay (SIGUSR1 / shutdown log).
    std::vector<std::string> status_lines() const;
    // "udp_proxy.<i>.flows_active", ..., "socks5_udp.*" for `get=tunless`.
    void counters(CounterPairs& out) const;

private:
    UdpServices(io::EventLoop& loop, net::Stack& stack, DnsResolver& mesh_names,
                DnsResolver& host_names, FamilyPreference pref)
        : loop_(loop), stack_(stack), mesh_names_(mesh_names), host_names_(host_names),
          pref_(pref) {}
    // Opens the index-th [UDPProxyTunnel] / [UDPServerTunnel] of `config` at `slot`.
    Status open(cfg::ListenerKind kind, const cfg::Config& config, std::size_t index,
                std::size_t slot);
    std::size_t position(const cfg::ListenerDelta& delta) const;
    void close(cfg::ListenerKind kind, std::size_t position);

    io::EventLoop& loop_;
    net::Stack& stack_;
    DnsResolver& mesh_names_;
    DnsResolver& host_names_;
    FamilyPreference pref_;
    std::vector<std::unique_ptr<UdpProxyTunnel>> proxy_tunnels_;
    std::vector<std::unique_ptr<UdpServerTunnel>> server_tunnels_;
    std::unique_ptr<Socks5UdpRelay> relay_;
    std::unique_ptr<Socks5UdpControl> control_;  // after relay_: destroyed first
};

}  // namespace tunless::proxy
