#include "proxy/services.hpp"

#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

using cfg::ListenerKind;

std::optional<Credentials> credentials_of(const cfg::ProxyListener& p) {
    if (p.username.empty() && p.password.empty()) {
        return std::nullopt;
    }
    auto c = Credentials::create(p.username, p.password);
    if (!c) {
        return std::nullopt;  // the config parser already refused such values
    }
    return *c;
}

Unexpected section_failure(const char* section, int line, const Error& e) {
    return fail(e.code, std::string("[") + section + "] (line " + std::to_string(line) +
                            "): " + e.message);
}

LocalProxy::Options proxy_options(const cfg::ProxyListener& p) {
    return {p.bind, credentials_of(p), p.max_connections};
}
InboundForward::Options inbound_options(const cfg::TcpServerTunnel& t) {
    return {t.listen_port, t.target, t.proxy_protocol, t.max_connections};
}
OutboundForward::Options outbound_options(const cfg::TcpClientTunnel& t) {
    return {t.bind, t.target, t.max_connections};
}

// A running listener's identity: what its config section listens on (not the kernel's port
// for a port-0 bind), so it matches cfg::listener_id of that section.
cfg::ListenerId id_of(const Socks5Server& s) {
    return {ListenerKind::kSocks5, s.options().bind, 0};
}
cfg::ListenerId id_of(const HttpProxyServer& s) {
    return {ListenerKind::kHttp, s.options().bind, 0};
}
cfg::ListenerId id_of(const InboundForward& f) {
    return {ListenerKind::kTcpServerTunnel, Endpoint{}, f.options().mesh_port};
}
cfg::ListenerId id_of(const OutboundForward& f) {
    return {ListenerKind::kTcpClientTunnel, f.options().bind, 0};
}

template <typename T>
std::size_t find(const std::vector<std::unique_ptr<T>>& items, const cfg::ListenerDelta& d) {
    return position_of(items, d.id, d.rank, [](const T& item) { return id_of(item); });
}

template <typename T>
void remove_at(std::vector<std::unique_ptr<T>>& items, std::size_t pos) {
    T& item = *items[pos];
    log::info("{}: removed from the config; closed ({} connections reset)", item.stats().name,
              item.stats().active);
    item.shutdown();
    items[pos].reset();  // compacted after the whole reload, so positions stay valid meanwhile
}

// `what`: the new settings in a few words ("forwarding to 127.0.0.1:80", "no authentication").
template <typename T>
void log_updated(const T& item, const std::string& what) {
    log::info("{}: updated ({}) for new connections; {} live ones keep their settings",
              item.stats().name, what, item.stats().active);
}

std::string auth_text(const cfg::ProxyListener& p) {
    const std::string cap =
        p.max_connections == 0 ? std::string("default") : std::to_string(p.max_connections);
    return (p.username.empty() ? "no authentication" : "authentication required") +
           std::string(", MaxConnections ") + cap;
}

}  // namespace

Result<std::unique_ptr<Services>> Services::create(io::EventLoop& loop, net::Stack& stack,
                                                   const wg::Device& device,
                                                   const cfg::Config& config,
                                                   const ServicesOptions& options) {
    std::unique_ptr<Services> s(new Services(loop, stack, device, options));
    if (auto st = s->add_all(config); !st) {
        s->shutdown();
        return st.error();
    }
    return s;
}

Services::Services(io::EventLoop& loop, net::Stack& stack, const wg::Device& device,
                   const ServicesOptions& options)
    : routes_(device),
      splices_(loop, options.splice),
      system_resolver_(loop),
      active_resolver_(&system_resolver_),
      resolver_(&active_resolver_),
      ctx_{loop, stack, routes_, resolver_, splices_, options.connect_timeout,
           kNegotiationTimeout, &system_resolver_} {}

Services::~Services() {
    // Sessions first (they reference the context), then the shared pieces.
    socks5_.clear();
    http_.clear();
    inbound_.clear();
    outbound_.clear();
}

Status Services::add_all(const cfg::Config& config) {
    for (ListenerKind kind : {ListenerKind::kSocks5, ListenerKind::kHttp,
                              ListenerKind::kTcpServerTunnel, ListenerKind::kTcpClientTunnel}) {
        for (std::size_t i = 0; i < cfg::listener_count(config, kind); ++i) {
            if (auto st = start(kind, config, i); !st) {
                return section_failure(cfg::section_name(kind),
                                       cfg::listener_line(config, kind, i), st.error());
            }
        }
    }
    return {};
}

Status Services::start(ListenerKind kind, const cfg::Config& next, std::size_t i) {
    switch (kind) {
        case ListenerKind::kSocks5: {
            const auto& p = next.socks5[i];
            auto s = Socks5Server::create(ctx_, proxy_options(p));
            if (!s) return s.error();
            (*s)->set_udp_associate_handler(udp_handler_);
            log::info("{}: listening{}", (*s)->stats().name,
                      p.username.empty() ? "" : " (username/password required)");
            socks5_.push_back(std::move(*s));
            return {};
        }
        case ListenerKind::kHttp: {
            const auto& p = next.http[i];
            auto s = HttpProxyServer::create(ctx_, proxy_options(p));
            if (!s) return s.error();
            log::info("{}: listening{}", (*s)->stats().name,
                      p.username.empty() ? "" : " (Basic auth required)");
            http_.push_back(std::move(*s));
            return {};
        }
        case ListenerKind::kTcpServerTunnel: {
            const auto& t = next.tcp_server_tunnels[i];
            auto f = InboundForward::create(ctx_, inbound_options(t));
            if (!f) return f.error();
            log::info("{}: listening on every mesh address, forwarding to {}{}",
                      (*f)->stats().name, t.target.to_string(),
                      t.proxy_protocol ? " with PROXY v2" : "");
            inbound_.push_back(std::move(*f));
            return {};
        }
        case ListenerKind::kTcpClientTunnel: {
            auto f = OutboundForward::create(ctx_, outbound_options(next.tcp_client_tunnels[i]));
            if (!f) return f.error();
            log::info("{}: listening", (*f)->stats().name);
            outbound_.push_back(std::move(*f));
            return {};
        }
        case ListenerKind::kUdpProxyTunnel:
        case ListenerKind::kUdpServerTunnel: break;
    }
    return fail(Errc::kInvalidArgument, "not a TCP listener section");
}

std::size_t Services::position(const cfg::ListenerDelta& d) const {
    switch (d.id.kind) {
        case ListenerKind::kSocks5: return find(socks5_, d);
        case ListenerKind::kHttp: return find(http_, d);
        case ListenerKind::kTcpServerTunnel: return find(inbound_, d);
        case ListenerKind::kTcpClientTunnel: return find(outbound_, d);
        case ListenerKind::kUdpProxyTunnel:
        case ListenerKind::kUdpServerTunnel: break;
    }
    return kNoPosition;
}

void Services::remove(const cfg::ListenerDelta& d, std::size_t pos) {
    switch (d.id.kind) {
        case ListenerKind::kSocks5: return remove_at(socks5_, pos);
        case ListenerKind::kHttp: return remove_at(http_, pos);
        case ListenerKind::kTcpServerTunnel: return remove_at(inbound_, pos);
        case ListenerKind::kTcpClientTunnel: return remove_at(outbound_, pos);
        case ListenerKind::kUdpProxyTunnel:
        case ListenerKind::kUdpServerTunnel: return;
    }
}

Status Services::update(const cfg::ListenerDelta& d, std::size_t pos, const cfg::Config& next) {
    const std::size_t i = d.next_index;
    switch (d.id.kind) {
        case ListenerKind::kSocks5:
            socks5_[pos]->reconfigure(proxy_options(next.socks5[i]));
            log_updated(*socks5_[pos], auth_text(next.socks5[i]));
            return {};
        case ListenerKind::kHttp:
            http_[pos]->reconfigure(proxy_options(next.http[i]));
            log_updated(*http_[pos], auth_text(next.http[i]));
            return {};
        case ListenerKind::kTcpServerTunnel: {
            const auto& t = next.tcp_server_tunnels[i];
            inbound_[pos]->reconfigure(inbound_options(t));
            log_updated(*inbound_[pos], "forwarding to " + t.target.to_string() +
                                            (t.proxy_protocol ? " with PROXY v2" : ""));
            return {};
        }
        case ListenerKind::kTcpClientTunnel: {
            const auto& t = next.tcp_client_tunnels[i];
            if (auto st = outbound_[pos]->reconfigure(outbound_options(t)); !st) {
                return st;
            }
            log_updated(*outbound_[pos], "forwarding to " + t.target.to_string());
            return {};
        }
        case ListenerKind::kUdpProxyTunnel:
        case ListenerKind::kUdpServerTunnel: break;
    }
    return {};
}

ListenerReloadFailures Services::apply_reload(const cfg::ListenerDiff& diff,
                                              const cfg::Config& next) {
    // Removed listeners become null and are compacted at the end.
    const std::vector<std::size_t> pos =
        locate_running(diff, false, [this](const cfg::ListenerDelta& d) { return position(d); });
    ListenerReloadFailures failures;
    for (std::size_t k = 0; k < diff.deltas.size(); ++k) {
        const auto& d = diff.deltas[k];
        if (cfg::is_udp(d.id.kind)) {
            continue;
        }
        // A changed listener that is not running (an earlier reload could not open it) is
        // opened like an added one.
        const bool running = pos[k] != kNoPosition;
        if (d.change == cfg::ListenerChange::kRemoved) {
            if (running) remove(d, pos[k]);
        } else if (d.change == cfg::ListenerChange::kChanged && running) {
            if (auto st = update(d, pos[k], next); !st) {
                failures.push_back({d, st.error(), true});
            }
        } else if (auto st = start(d.id.kind, next, d.next_index); !st) {
            failures.push_back({d, st.error(), false});
        }
    }
    compact(socks5_);
    compact(http_);
    compact(inbound_);
    compact(outbound_);
    return failures;
}

void Services::set_resolver(NameResolver* resolver) {
    active_resolver_ = resolver != nullptr ? resolver : &system_resolver_;
}

void Services::set_udp_associate_handler(Socks5UdpAssociateHandler* handler) {
    udp_handler_ = handler;
    for (auto& s : socks5_) {
        s->set_udp_associate_handler(handler);
    }
}

void Services::shutdown() {
    for (auto& s : socks5_) s->shutdown();
    for (auto& s : http_) s->shutdown();
    for (auto& f : inbound_) f->shutdown();
    for (auto& f : outbound_) f->shutdown();
}

std::vector<std::string> Services::status_lines() const {
    std::vector<std::string> out;
    for (const auto& s : socks5_) out.push_back(s->stats().to_line());
    for (const auto& s : http_) out.push_back(s->stats().to_line());
    for (const auto& f : inbound_) out.push_back(f->stats().to_line());
    for (const auto& f : outbound_) out.push_back(f->stats().to_line());
    return out;
}

std::uint64_t Services::active_connections() const {
    std::uint64_t n = 0;
    for (const auto& s : socks5_) n += s->stats().active;
    for (const auto& s : http_) n += s->stats().active;
    for (const auto& f : inbound_) n += f->stats().active;
    for (const auto& f : outbound_) n += f->stats().active;
    return n;
}

}  // namespace tunless::proxy
