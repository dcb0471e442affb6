#include "proxy/udp_services.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

std::string forward_line(const std::string& what, const UdpForwardStats& s) {
    return fmt::format(
        "{}: flows active={} total={} evicted={} expired={}; to_mesh {} datagrams/{} B; "
        "from_mesh {} datagrams/{} B; drops unresolved={} foreign={} send_failed={} no_socket={}",
        what, s.flows.active, s.flows.total, s.flows.evicted, s.flows.expired, s.to_mesh_datagrams,
        s.to_mesh_bytes, s.from_mesh_datagrams, s.from_mesh_bytes, s.drop_unresolved,
        s.drop_foreign, s.drop_send_failed, s.drop_no_socket);
}

void forward_pairs(const std::string& prefix, const UdpForwardStats& s, CounterPairs& out) {
    auto put = [&](const char* k, auto v) { out.emplace_back(prefix + k, std::to_string(v)); };
    put("flows_active", s.flows.active);
    put("flows_total", s.flows.total);
    put("flows_evicted", s.flows.evicted);
    put("flows_expired", s.flows.expired);
    put("to_mesh_datagrams", s.to_mesh_datagrams);
    put("to_mesh_bytes", s.to_mesh_bytes);
    put("from_mesh_datagrams", s.from_mesh_datagrams);
    put("from_mesh_bytes", s.from_mesh_bytes);
    put("drops", s.drop_unresolved + s.drop_foreign + s.drop_send_failed + s.drop_no_socket);
}

}  // namespace

FamilyPreference family_preference(const cfg::Config& config) {
    switch (config.resolve_strategy) {
        case cfg::ResolveStrategy::kIpv4: return FamilyPreference::kPreferV4;
        case cfg::ResolveStrategy::kIpv6: return FamilyPreference::kPreferV6;
        case cfg::ResolveStrategy::kAuto: break;
    }
    const bool has_v6 =
        std::any_of(config.iface.addresses.begin(), config.iface.addresses.end(),
                    [](const cfg::InterfaceAddress& a) { return a.address.is_v6(); });
    return has_v6 ? FamilyPreference::kPreferV6 : FamilyPreference::kPreferV4;
}

DnsResolverConfig dns_resolver_config(const cfg::Config& config) {
    DnsResolverConfig c;
    c.servers = config.iface.dns;
    return c;
}

std::string dns_status_line(const DnsResolver& r) {
    const auto s = r.stats();
    return fmt::format(
        "dns: {} lookups={} literals={} cache_hits={} cache_entries={} queries={} responses={} "
        "bad_responses={} timeouts={} failures={} busy={} system_lookups={} in_flight={}",
        r.uses_mesh() ? "mesh" : "system", s.lookups, s.literals, s.cache_hits, s.cache_entries,
        s.queries_sent, s.responses, s.bad_responses, s.timeouts, s.failures, s.refused_busy,
        s.system_lookups, s.in_flight);
}

void dns_counters(const DnsResolver& r, CounterPairs& out) {
    const auto s = r.stats();
    auto put = [&](const char* k, auto v) {
        out.emplace_back(std::string("dns.") + k, std::to_string(v));
    };
    put("lookups", s.lookups);
    put("cache_hits", s.cache_hits);
    put("queries", s.queries_sent);
    put("responses", s.responses);
    put("bad_responses", s.bad_responses);
    put("timeouts", s.timeouts);
    put("failures", s.failures);
    put("in_flight", s.in_flight);
}

Result<std::unique_ptr<UdpServices>> UdpServices::create(const cfg::Config& config,
                                                         io::EventLoop& loop, net::Stack& stack,
                                                         DnsResolver& mesh_names,
                                                         DnsResolver& host_names) {
    const FamilyPreference pref = family_preference(config);
    std::unique_ptr<UdpServices> s(new UdpServices(loop, stack, mesh_names, host_names, pref));
    for (cfg::ListenerKind kind : {cfg::ListenerKind::kUdpProxyTunnel,
                                   cfg::ListenerKind::kUdpServerTunnel}) {
        for (std::size_t i = 0; i < cfg::listener_count(config, kind); ++i) {
            if (auto st = s->open(kind, config, i, kNoPosition); !st) {
                const int line = cfg::listener_line(config, kind, i);
                return fail(st.error().code, config.file + ":" + std::to_string(line) + ": " +
                                                 st.error().message);
            }
        }
    }
    s->relay_ = std::make_unique<Socks5UdpRelay>(loop, stack, mesh_names, pref);
    s->control_ = std::make_unique<Socks5UdpControl>(loop, *s->relay_);
    return s;
}

Status UdpServices::open(cfg::ListenerKind kind, const cfg::Config& config, std::size_t i,
                         std::size_t slot) {
    auto place = [slot](auto& items, auto fwd) {
        log::info("{}", fwd->describe());
        if (slot == kNoPosition) {
            items.push_back(std::move(fwd));
        } else {
            items[slot] = std::move(fwd);
        }
    };
    if (kind == cfg::ListenerKind::kUdpProxyTunnel) {
        auto fwd = UdpProxyTunnel::create(config.udp_proxy_tunnels[i], loop_, stack_,
                                          mesh_names_, pref_);
        if (!fwd) return fwd.error();
        place(proxy_tunnels_, std::move(*fwd));
        return {};
    }
    auto fwd = UdpServerTunnel::create(config.udp_server_tunnels[i], loop_, stack_, host_names_,
                                       pref_);
    if (!fwd) return fwd.error();
    place(server_tunnels_, std::move(*fwd));
    return {};
}

std::size_t UdpServices::position(const cfg::ListenerDelta& d) const {
    if (d.id.kind == cfg::ListenerKind::kUdpProxyTunnel) {
        return position_of(proxy_tunnels_, d.id, d.rank, [](const UdpProxyTunnel& t) {
            return cfg::ListenerId{cfg::ListenerKind::kUdpProxyTunnel, t.bind(), 0};
        });
    }
    return position_of(server_tunnels_, d.id, d.rank, [](const UdpServerTunnel& t) {
        return cfg::ListenerId{cfg::ListenerKind::kUdpServerTunnel, Endpoint{}, t.listen_port()};
    });
}

void UdpServices::close(cfg::ListenerKind kind, std::size_t pos) {
    auto drop = [pos](auto& items) {
        log::info("{}: closed ({} flows dropped)", items[pos]->describe(),
                  items[pos]->stats().flows.active);
        items[pos].reset();  // compacted after the whole reload
    };
    if (kind == cfg::ListenerKind::kUdpProxyTunnel) {
        drop(proxy_tunnels_);
    } else {
        drop(server_tunnels_);
    }
}

ListenerReloadFailures UdpServices::apply_reload(const cfg::ListenerDiff& diff,
                                                 const cfg::Config& next) {
    const std::vector<std::size_t> pos =
        locate_running(diff, true, [this](const cfg::ListenerDelta& d) { return position(d); });
    ListenerReloadFailures failures;
    for (std::size_t k = 0; k < diff.deltas.size(); ++k) {
        const auto& d = diff.deltas[k];
        if (!cfg::is_udp(d.id.kind)) {
            continue;
        }
        if (pos[k] != kNoPosition) {
            close(d.id.kind, pos[k]);  // removed, or changed: reopened below on the same address
        }
        if (d.change == cfg::ListenerChange::kRemoved) {
            continue;
        }
        if (auto st = open(d.id.kind, next, d.next_index, pos[k]); !st) {
            failures.push_back({d, st.error(), false});
        }
    }
    compact(proxy_tunnels_);
    compact(server_tunnels_);
    return failures;
}

UdpServices::~UdpServices() = default;

Instant UdpServices::next_deadline() const {
    Instant next = kNever;
    for (const auto& t : proxy_tunnels_) next = std::min(next, t->next_deadline());
    for (const auto& t : server_tunnels_) next = std::min(next, t->next_deadline());
    return next;
}

void UdpServices::on_timer(Instant now) {
    for (auto& t : proxy_tunnels_) t->on_timer(now);
    for (auto& t : server_tunnels_) t->on_timer(now);
}

std::vector<std::string> UdpServices::status_lines() const {
    std::vector<std::string> lines;
    for (const auto& t : proxy_tunnels_) lines.push_back(forward_line(t->describe(), t->stats()));
    for (const auto& t : server_tunnels_) lines.push_back(forward_line(t->describe(), t->stats()));
    const auto& r = relay_->stats();
    lines.push_back(fmt::format(
        "socks5 udp: associations active={} total={} refused={}; to_mesh {} datagrams/{} B; "
        "from_mesh {} datagrams/{} B; drops foreign={} bad_header={} fragmented={} unresolved={} "
        "send_failed={}",
        r.associations_active, r.associations_total, r.refused_limit, r.to_mesh_datagrams,
        r.to_mesh_bytes, r.from_mesh_datagrams, r.from_mesh_bytes, r.drop_foreign_source,
        r.drop_bad_header, r.drop_fragmented, r.drop_unresolved, r.drop_send_failed));
    return lines;
}

void UdpServices::counters(CounterPairs& out) const {
    for (std::size_t i = 0; i < proxy_tunnels_.size(); ++i) {
        forward_pairs("udp_proxy." + std::to_string(i) + ".", proxy_tunnels_[i]->stats(), out);
    }
    for (std::size_t i = 0; i < server_tunnels_.size(); ++i) {
        forward_pairs("udp_server." + std::to_string(i) + ".", server_tunnels_[i]->stats(), out);
    }
    const auto& r = relay_->stats();
    out.emplace_back("socks5_udp.associations_active", std::to_string(r.associations_active));
    out.emplace_back("socks5_udp.associations_total", std::to_string(r.associations_total));
    out.emplace_back("socks5_udp.to_mesh_datagrams", std::to_string(r.to_mesh_datagrams));
    out.emplace_back("socks5_udp.from_mesh_datagrams", std::to_string(r.from_mesh_datagrams));
}

}  // namespace tunless::proxy
