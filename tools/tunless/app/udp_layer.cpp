#include "tools/tunless/app/udp_layer.hpp"

#include "tools/log/log.hpp"

namespace tunless::app {

Result<std::unique_ptr<UdpLayer>> UdpLayer::start(Node& node, proxy::Services& tcp,
                                                  proxy::LocalNameResolver::Lookup local_names) {
    const cfg::Config& config = node.config();
    std::unique_ptr<UdpLayer> p(new UdpLayer(node, tcp));
    p->resolver_ = std::make_unique<proxy::DnsResolver>(
        proxy::dns_resolver_config(config), &node.stack(), node.rng(),
        [&loop = node.loop()] { return loop.now(); }, &node.loop());
    node.loop().add_deadline_provider(*p->resolver_);
    p->host_resolver_ =
        std::make_unique<proxy::DnsResolver>(proxy::DnsResolverConfig{}, nullptr, node.rng(),
                                             [&loop = node.loop()] { return loop.now(); },
                                             &node.loop());
    node.loop().add_deadline_provider(*p->host_resolver_);
    if (!config.iface.dns.empty()) {
        log::info("dns: resolving proxy names over the mesh via {} DNS= server(s)",
                  config.iface.dns.size());
    }
    p->names_ =
        std::make_unique<proxy::DnsNameResolver>(*p->resolver_, proxy::family_preference(config));
    if (local_names) {
        p->local_names_ = std::make_unique<proxy::LocalNameResolver>(node.loop(), *p->names_,
                                                                     std::move(local_names));
        tcp.set_resolver(p->local_names_.get());
    } else {
        tcp.set_resolver(p->names_.get());
    }

    auto udp = proxy::UdpServices::create(config, node.loop(), node.stack(), *p->resolver_,
                                          *p->host_resolver_);
    if (!udp) return udp.error();
    p->udp_ = std::move(*udp);
    node.loop().add_deadline_provider(*p->udp_);
    tcp.set_udp_associate_handler(&p->udp_->socks5_handler());
    // The control socket (`get=tunless`) is created after this layer and destroyed before it.
    node.hooks().add_counters([raw = p.get()](uapi::KeyValues& out) {
        proxy::dns_counters(*raw->resolver_, out);
        raw->udp_->counters(out);
    });
    return p;
}

UdpLayer::~UdpLayer() {
    tcp_.set_udp_associate_handler(nullptr);
    tcp_.set_resolver(nullptr);
    if (udp_) node_.loop().remove_deadline_provider(*udp_);
    udp_.reset();
    local_names_.reset();
    names_.reset();
    if (resolver_) node_.loop().remove_deadline_provider(*resolver_);
    if (host_resolver_) node_.loop().remove_deadline_provider(*host_resolver_);
}

std::vector<std::string> UdpLayer::status_lines() const {
    std::vector<std::string> lines;
    if (udp_) lines = udp_->status_lines();
    lines.push_back(proxy::dns_status_line(*resolver_));
    return lines;
}

}  // namespace tunless::app
