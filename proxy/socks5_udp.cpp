#include "proxy/socks5_udp.hpp"

#include <array>
#include <cstring>
#include <deque>
#include <optional>

#include "netstack/udp.hpp"
#include "proxy/udp_host_socket.hpp"

namespace tunless::proxy {
namespace {

// Header + largest mesh payload; one buffer for all associations (single-threaded, used and
// released within one callback).
std::array<std::uint8_t, socks5::kMaxUdpHeaderSize + net::UdpSocket::kMaxPayload> g_reply;

}  // namespace

socks5::Reply reply_for_associate_error(const Error&) { return socks5::Reply::kGeneralFailure; }

class Socks5UdpRelay::Association final : public UdpAssociation, public net::UdpHandler {
public:
    Association(Socks5UdpRelay& relay, const Endpoint& client, const Target& requested)
        : relay_(relay), client_ip_(client.ip.unmap_v4()) {
        // RFC 1928 §4: DST.ADDR/DST.PORT name the client's source when it knows it.
        if (requested.is_ip() && !requested.ip.is_unspecified() && requested.port != 0) {
            client_port_ = requested.port;
        }
        ++relay_.stats_.associations_total;
        ++relay_.stats_.associations_active;
    }
    ~Association() override { --relay_.stats_.associations_active; }

    Status open(const Endpoint& local) {
        auto host =
            HostUdpSocket::open(relay_.loop_, Endpoint::udp(local.ip.unmap_v4(), 0),
                                [this](const Endpoint& from, ByteView d) { on_client(from, d); });
        if (!host) return host.error();
        host_ = std::move(*host);
        auto mesh = net::UdpSocket::bind(relay_.stack_, 0, *this);
        if (!mesh) return mesh.error();
        mesh_ = std::move(*mesh);
        return {};
    }

    Endpoint bound() const override { return host_->local(); }

    // Mesh -> client: prepend the §7 header with the replying address.
    void on_datagram(net::UdpSocket&, const net::UdpDatagramInfo& info, ByteView payload) override {
        auto& st = relay_.stats_;
        if (client_port_ == 0) {
            ++st.drop_send_failed;  // the client has not sent anything yet: nowhere to deliver
            return;
        }
        const auto header =
            socks5::build_udp_header(Target::from_ip(info.src_ip.unmap_v4(), info.src_port));
        std::memcpy(g_reply.data(), header.data(), header.size());
        std::memcpy(g_reply.data() + header.size(), payload.data(), payload.size());
        const ByteView out(g_reply.data(), header.size() + payload.size());
        if (!host_->send_to(Endpoint::udp(client_ip_, client_port_), out)) {
            ++st.drop_send_failed;
            return;
        }
        ++st.from_mesh_datagrams;
        st.from_mesh_bytes += payload.size();
    }

private:
    struct Pending {
        std::string name;
        std::uint16_t port;
        Bytes data;
    };

    void on_client(const Endpoint& from, ByteView datagram) {
        auto& st = relay_.stats_;
        // §7: datagrams from any address other than the client's are dropped.
        if (from.ip.unmap_v4() != client_ip_ || (client_port_ != 0 && from.port != client_port_)) {
            ++st.drop_foreign_source;
            return;
        }
        client_port_ = from.port;
        auto parsed = socks5::parse_udp_datagram(datagram);
        if (!parsed.done()) {
            ++st.drop_bad_header;
            if (parsed.fault == socks5::Fault::kFragmented) ++st.drop_fragmented;
            return;
        }
        const Target& t = parsed.value.target;
        if (t.is_ip()) {
            send_to_mesh(t.ip.unmap_v4(), t.port, parsed.value.payload);
            return;
        }
        const std::string name(t.domain.view());
        if (auto it = names_.find(name); it != names_.end()) {
            send_to_mesh(it->second, t.port, parsed.value.payload);
            return;
        }
        if (pending_.size() >= relay_.config_.max_pending_per_association) {
            ++st.drop_unresolved;
            return;
        }
        const ByteView data = parsed.value.payload;
        pending_.push_back(Pending{name, t.port, Bytes(data.begin(), data.end())});
        if (lookups_.count(name) == 0) {
            lookups_.emplace(name, relay_.resolver_.resolve(name, relay_.pref_,
                                                            [this, name](Result<IpAddress> r) {
                                                                on_resolved(name, std::move(r));
                                                            }));
        }
    }

    void on_resolved(const std::string& name, Result<IpAddress> r) {
        if (r) {
            if (names_.size() >= relay_.config_.max_names_per_association) names_.clear();
            names_[name] = *r;
        }
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->name != name) {
                ++it;
                continue;
            }
            if (r) {
                send_to_mesh(*r, it->port, it->data);
            } else {
                ++relay_.stats_.drop_unresolved;
            }
            it = pending_.erase(it);
        }
        lookups_.erase(name);  // finished: its Handle has nothing left to cancel
    }

    void send_to_mesh(const IpAddress& ip, std::uint16_t port, ByteView data) {
        auto& st = relay_.stats_;
        if (port == 0 || !mesh_->send_to(ip, port, data)) {
            ++st.drop_send_failed;
            return;
        }
        ++st.to_mesh_datagrams;
        st.to_mesh_bytes += data.size();
    }

    Socks5UdpRelay& relay_;
    IpAddress client_ip_;
    std::uint16_t client_port_ = 0;  // 0: fixed by the first datagram from client_ip_
    std::map<std::string, IpAddress> names_;
    std::deque<Pending> pending_;
    std::map<std::string, DnsResolver::Handle> lookups_;
    std::unique_ptr<HostUdpSocket> host_;
    std::unique_ptr<net::UdpSocket> mesh_;
};

Socks5UdpRelay::Socks5UdpRelay(io::EventLoop& loop, net::Stack& stack, DnsResolver& resolver,
                               FamilyPreference pref, Socks5UdpConfig config)
    : loop_(loop), stack_(stack), resolver_(resolver), pref_(pref), config_(config) {}

Socks5UdpRelay::~Socks5UdpRelay() = default;

Result<std::unique_ptr<UdpAssociation>> Socks5UdpRelay::associate(const Endpoint& client,
                                                                  const Endpoint& local,
                                                                  const Target& requested) {
    if (stats_.associations_active >= config_.max_associations) {
        ++stats_.refused_limit;
        return fail(Errc::kLimitReached, "too many UDP associations");
    }
    auto a = std::make_unique<Association>(*this, client, requested);
    if (auto st = a->open(local); !st) return st.error();
    return std::unique_ptr<UdpAssociation>(std::move(a));
}

}  // namespace tunless::proxy
