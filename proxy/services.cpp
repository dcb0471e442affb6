#include "proxy/services.hpp"

#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

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
    for (const auto& p : config.socks5) {
        auto s = Socks5Server::create(ctx_, {p.bind, credentials_of(p), p.max_connections});
        if (!s) return section_failure("Socks5", p.line, s.error());
        log::info("{}: listening{}", (*s)->stats().name,
                  p.username.empty() ? "" : " (username/password required)");
        socks5_.push_back(std::move(*s));
    }
    for (const auto& p : config.http) {
        auto s = HttpProxyServer::create(ctx_, {p.bind, credentials_of(p), p.max_connections});
        if (!s) return section_failure("http", p.line, s.error());
        log::info("{}: listening{}", (*s)->stats().name,
                  p.username.empty() ? "" : " (Basic auth required)");
        http_.push_back(std::move(*s));
    }
    for (const auto& t : config.tcp_server_tunnels) {
        auto f = InboundForward::create(
            ctx_, {t.listen_port, t.target, t.proxy_protocol, t.max_connections});
        if (!f) return section_failure("TCPServerTunnel", t.line, f.error());
        log::info("{}: listening on every mesh address, forwarding to {}{}", (*f)->stats().name,
                  t.target.to_string(), t.proxy_protocol ? " with PROXY v2" : "");
        inbound_.push_back(std::move(*f));
    }
    for (const auto& t : config.tcp_client_tunnels) {
        auto f = OutboundForward::create(ctx_, {t.bind, t.target, t.max_connections});
        if (!f) return section_failure("TCPClientTunnel", t.line, f.error());
        log::info("{}: listening", (*f)->stats().name);
        outbound_.push_back(std::move(*f));
    }
    return {};
}

void Services::set_resolver(NameResolver* resolver) {
    active_resolver_ = resolver != nullptr ? resolver : &system_resolver_;
}

void Services::set_udp_associate_handler(Socks5UdpAssociateHandler* handler) {
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
