#include "proxy/udp_forward.hpp"

#include <chrono>

#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

std::size_t flow_cap(std::uint32_t max_connections) {
    return max_connections == 0 ? kDefaultMaxUdpFlows : max_connections;
}

Duration idle(std::uint32_t seconds) { return std::chrono::seconds(seconds); }

}  // namespace

// --- ForwardTarget ----------------------------------------------------------------------------

ForwardTarget::ForwardTarget(cfg::NamedEndpoint target, DnsResolver& resolver,
                             FamilyPreference pref)
    : target_(std::move(target)), resolver_(resolver), pref_(pref), ip_(target_.ip) {}

std::optional<IpAddress> ForwardTarget::get() {
    if (ip_ || pending_.active()) return ip_;
    pending_ = resolver_.resolve(target_.host, pref_, [this](Result<IpAddress> r) {
        pending_ = DnsResolver::Handle();  // the lookup is over; nothing left to cancel
        if (r) {
            ip_ = *r;
            log::info("forward target {} resolved to {}", target_.host, ip_->to_string());
        } else {
            log::warn("forward target {}: {}", target_.host, r.error().message);
        }
    });
    return std::nullopt;
}

// --- UdpProxyTunnel: local source -> mesh target -------------------------------------------------

struct UdpProxyTunnel::Flow final : net::UdpHandler {
    Flow(UdpProxyTunnel& t, FlowKey k, IpAddress target) : tunnel(t), key(k), target_ip(target) {}
    void on_datagram(net::UdpSocket&, const net::UdpDatagramInfo& info, ByteView payload) override {
        auto& st = tunnel.stats_;
        if (info.src_ip != target_ip || info.src_port != tunnel.target_.port()) {
            ++st.drop_foreign;
            return;
        }
        tunnel.flows_.find(key, tunnel.loop_.now());
        if (!tunnel.socket_->send_to(Endpoint::udp(key.ip, key.port), payload)) {
            ++st.drop_send_failed;
            return;
        }
        ++st.from_mesh_datagrams;
        st.from_mesh_bytes += payload.size();
    }

    UdpProxyTunnel& tunnel;
    FlowKey key;
    IpAddress target_ip;
    std::unique_ptr<net::UdpSocket> socket;
};

Result<std::unique_ptr<UdpProxyTunnel>> UdpProxyTunnel::create(const cfg::UdpProxyTunnel& config,
                                                               io::EventLoop& loop,
                                                               net::Stack& stack,
                                                               DnsResolver& resolver,
                                                               FamilyPreference pref) {
    std::unique_ptr<UdpProxyTunnel> t(new UdpProxyTunnel(config, loop, stack, resolver, pref));
    auto sock = HostUdpSocket::open(
        loop, config.bind,
        [raw = t.get()](const Endpoint& from, ByteView p) { raw->on_local(from, p); });
    if (!sock)
        return fail(sock.error().code,
                    "UDPProxyTunnel " + config.bind.to_string() + ": " + sock.error().message);
    t->socket_ = std::move(*sock);
    t->target_.get();  // start resolving a named target now, not on the first datagram
    return t;
}

UdpProxyTunnel::UdpProxyTunnel(const cfg::UdpProxyTunnel& config, io::EventLoop& loop,
                               net::Stack& stack, DnsResolver& resolver, FamilyPreference pref)
    : loop_(loop),
      stack_(stack),
      target_(config.target, resolver, pref),
      bind_(config.bind),
      flows_(flow_cap(config.max_connections), idle(config.inactivity_timeout_s)) {}

UdpProxyTunnel::~UdpProxyTunnel() = default;

void UdpProxyTunnel::on_local(const Endpoint& from, ByteView payload) {
    const Instant now = loop_.now();
    const FlowKey key{from.ip, from.port};
    Flow* flow = flows_.find(key, now);
    if (flow == nullptr) {
        auto ip = target_.get();
        if (!ip) {
            ++stats_.drop_unresolved;
            return;
        }
        auto f = std::make_unique<Flow>(*this, key, *ip);
        auto sock = net::UdpSocket::bind(stack_, 0, *f);
        if (!sock) {
            ++stats_.drop_no_socket;
            return;
        }
        f->socket = std::move(*sock);
        flow = &flows_.insert(key, std::move(f), now);
    }
    if (!flow->socket->send_to(flow->target_ip, target_.port(), payload)) {
        ++stats_.drop_send_failed;
        return;
    }
    ++stats_.to_mesh_datagrams;
    stats_.to_mesh_bytes += payload.size();
}

Instant UdpProxyTunnel::next_deadline() const { return flows_.next_expiry(); }

void UdpProxyTunnel::on_timer(Instant now) { flows_.expire(now); }

UdpForwardStats UdpProxyTunnel::stats() const {
    UdpForwardStats s = stats_;
    s.flows = flows_.stats();
    return s;
}

std::string UdpProxyTunnel::describe() const {
    return "UDPProxyTunnel " + bind_.to_string() + " -> " + target_.named().to_string();
}

// --- UdpServerTunnel: mesh source -> local target ----------------------------------------------

struct UdpServerTunnel::Flow {
    UdpServerTunnel* tunnel = nullptr;
    FlowKey key;
    IpAddress our_ip;  // the node address the mesh peer wrote to: replies come from it
    IpAddress target_ip;
    std::unique_ptr<HostUdpSocket> socket;

    void on_local(const Endpoint& from, ByteView payload) {
        auto& st = tunnel->stats_;
        if (from.ip != target_ip || from.port != tunnel->target_.port()) {
            ++st.drop_foreign;
            return;
        }
        tunnel->flows_.find(key, tunnel->loop_.now());
        if (!tunnel->socket_->send_to(key.ip, key.port, payload, our_ip)) {
            ++st.drop_send_failed;
            return;
        }
        ++st.to_mesh_datagrams;  // the reply travels local -> mesh
        st.to_mesh_bytes += payload.size();
    }
};

Result<std::unique_ptr<UdpServerTunnel>> UdpServerTunnel::create(const cfg::UdpServerTunnel& config,
                                                                 io::EventLoop& loop,
                                                                 net::Stack& stack,
                                                                 DnsResolver& resolver,
                                                                 FamilyPreference pref) {
    std::unique_ptr<UdpServerTunnel> t(new UdpServerTunnel(config, loop, resolver, pref));
    auto sock = net::UdpSocket::bind(stack, config.listen_port, *t);
    if (!sock) {
        return fail(sock.error().code, "UDPServerTunnel mesh port " +
                                           std::to_string(config.listen_port) + ": " +
                                           sock.error().message);
    }
    t->socket_ = std::move(*sock);
    t->target_.get();
    return t;
}

UdpServerTunnel::UdpServerTunnel(const cfg::UdpServerTunnel& config, io::EventLoop& loop,
                                 DnsResolver& resolver, FamilyPreference pref)
    : loop_(loop),
      target_(config.target, resolver, pref),
      listen_port_(config.listen_port),
      flows_(flow_cap(config.max_connections), idle(config.inactivity_timeout_s)) {}

UdpServerTunnel::~UdpServerTunnel() = default;

void UdpServerTunnel::on_datagram(net::UdpSocket&, const net::UdpDatagramInfo& info,
                                  ByteView payload) {
    const Instant now = loop_.now();
    const FlowKey key{info.src_ip, info.src_port};
    Flow* flow = flows_.find(key, now);
    if (flow == nullptr) {
        auto ip = target_.get();
        if (!ip) {
            ++stats_.drop_unresolved;
            return;
        }
        auto f = std::make_unique<Flow>();
        f->tunnel = this;
        f->key = key;
        f->our_ip = info.dst_ip;
        f->target_ip = *ip;
        const Endpoint any = Endpoint::udp(ip->is_v4() ? IpAddress() : *IpAddress::parse("::"), 0);
        auto sock = HostUdpSocket::open(
            loop_, any,
            [raw = f.get()](const Endpoint& from, ByteView p) { raw->on_local(from, p); });
        if (!sock) {
            ++stats_.drop_no_socket;
            return;
        }
        f->socket = std::move(*sock);
        flow = &flows_.insert(key, std::move(f), now);
    }
    if (!flow->socket->send_to(Endpoint::udp(flow->target_ip, target_.port()), payload)) {
        ++stats_.drop_send_failed;
        return;
    }
    ++stats_.from_mesh_datagrams;
    stats_.from_mesh_bytes += payload.size();
}

Instant UdpServerTunnel::next_deadline() const { return flows_.next_expiry(); }

void UdpServerTunnel::on_timer(Instant now) { flows_.expire(now); }

UdpForwardStats UdpServerTunnel::stats() const {
    UdpForwardStats s = stats_;
    s.flows = flows_.stats();
    return s;
}

std::string UdpServerTunnel::describe() const {
    return "UDPServerTunnel mesh:" + std::to_string(listen_port_) + " -> " +
           target_.named().to_string();
}

}  // namespace tunless::proxy
