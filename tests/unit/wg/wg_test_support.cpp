#include "tests/unit/wg/wg_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"

namespace tunless::wg::test {

namespace {
// Before any test (and any Node's key generation) runs.
const bool g_crypto_ready = crypto::init();
}  // namespace

void init_crypto() { REQUIRE(g_crypto_ready); }

IpAddress ip(const char* text) {
    auto a = IpAddress::parse(text);
    REQUIRE(a.has_value());
    return *a;
}

IpPrefix prefix(const char* text) {
    auto p = IpPrefix::parse(text);
    REQUIRE(p.has_value());
    return *p;
}

Endpoint endpoint(const char* text) {
    auto e = Endpoint::parse_numeric(text);
    REQUIRE(e.has_value());
    return *e;
}

Bytes ipv4_packet(const char* src, const char* dst, std::size_t payload, std::uint8_t fill) {
    Bytes p(20 + payload, fill);
    p[0] = 0x45;
    p[1] = 0;
    store_be16(p.data() + 2, static_cast<std::uint16_t>(p.size()));
    store_be32(p.data() + 4, 0);
    p[8] = 64;
    p[9] = 17;
    store_be16(p.data() + 10, 0);
    std::memcpy(p.data() + 12, ip(src).data(), 4);
    std::memcpy(p.data() + 16, ip(dst).data(), 4);
    return p;
}

Bytes ipv6_packet(const char* src, const char* dst, std::size_t payload, std::uint8_t fill) {
    Bytes p(40 + payload, fill);
    store_be32(p.data(), 0x60000000u);
    store_be16(p.data() + 4, static_cast<std::uint16_t>(payload));
    p[6] = 17;
    p[7] = 64;
    std::memcpy(p.data() + 8, ip(src).data(), 16);
    std::memcpy(p.data() + 24, ip(dst).data(), 16);
    return p;
}

Node::Node(char n, std::uint64_t seed, FakeClock& clock)
    : name(n), rng(seed), dev(rng, clock), key(crypto::generate_private_key(rng)) {
    dev.set_private_key(key);
}

std::size_t Node::count_events(EventKind k) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [k](const Event& e) { return e.kind == k; }));
}

namespace {
PeerConfig config_for(const Node& other, const char* v4, const char* v6, bool knows_endpoint) {
    PeerConfig c;
    c.public_key = other.dev.public_key();
    c.allowed_ips = {prefix(v4), prefix(v6)};
    if (knows_endpoint) c.endpoint = other.ep;
    return c;
}
}  // namespace

Pair::Pair(std::uint64_t seed, bool a_knows_b_endpoint, bool b_knows_a_endpoint)
    : a('a', seed * 2 + 1, clock), b('b', seed * 2 + 2, clock) {
    init_crypto();
    a.ep = endpoint("10.0.0.1:51820");
    b.ep = endpoint("10.0.0.2:51820");
    auto pa = a.dev.add_peer(config_for(b, "192.168.0.2/32", "fd00::2/128", a_knows_b_endpoint));
    auto pb = b.dev.add_peer(config_for(a, "192.168.0.1/32", "fd00::1/128", b_knows_a_endpoint));
    REQUIRE(pa.has_value());
    REQUIRE(pb.has_value());
    a.peer = *pa;
    b.peer = *pb;
}

void Pair::collect(Node& n) {
    for (const OutDatagram& d : n.out.datagrams()) {
        n.pending.push_back(Sent{now(), n.name, d.bytes.empty() ? std::uint8_t{0} : d.bytes[0],
                                 Bytes(d.bytes.begin(), d.bytes.end()), d.to});
    }
    for (const DeliveredPacket& pk : n.out.packets()) {
        n.delivered.emplace_back(pk.packet.begin(), pk.packet.end());
    }
    for (const Event& e : n.out.events()) n.events.push_back(e);
    n.out.clear();
}

void Pair::deliver_pending(Node& from, Node& to, bool link_up) {
    std::vector<Sent> batch;
    batch.swap(from.pending);
    for (Sent& s : batch) {
        log.push_back(s);
        if (!link_up || (filter && !filter(s))) continue;
        to.dev.on_datagram(now(), from.ep, s.bytes, to.out);
        collect(to);
    }
}

void Pair::pump() {
    for (int round = 0; round < 1000; ++round) {
        collect(a);
        collect(b);
        if (a.pending.empty() && b.pending.empty()) return;
        deliver_pending(a, b, a_to_b_up);
        deliver_pending(b, a, b_to_a_up);
    }
    FAIL("pump did not settle");
}

void Pair::advance(Duration d) {
    const Instant target = now() + d;
    int same_time = 0;
    Instant last = now();
    for (;;) {
        const Instant next = std::min(a.dev.next_deadline(), b.dev.next_deadline());
        if (next > target) break;
        if (next > now()) clock.advance(next - now());
        same_time = now() == last ? same_time + 1 : 0;
        last = now();
        REQUIRE(same_time < 1000);
        a.dev.on_timer(now(), a.out);
        b.dev.on_timer(now(), b.out);
        pump();
    }
    if (target > now()) clock.advance(target - now());
}

void Pair::send_a(const Bytes& packet) {
    a.dev.on_ip_packet(now(), packet, a.out);
    pump();
}

void Pair::send_b(const Bytes& packet) {
    b.dev.on_ip_packet(now(), packet, b.out);
    pump();
}

void Pair::handshake(char from) {
    Node& n = from == 'a' ? a : b;
    REQUIRE(n.dev.initiate(now(), n.peer, n.out));
    pump();
}

std::size_t Pair::sent_count(char from, std::uint8_t type) const {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const Sent& s) {
        return s.from == from && s.type == type;
    }));
}

Bytes Pair::a_to_b_packet(std::size_t payload) const {
    return ipv4_packet("192.168.0.1", "192.168.0.2", payload);
}

Bytes Pair::b_to_a_packet(std::size_t payload) const {
    return ipv4_packet("192.168.0.2", "192.168.0.1", payload);
}

}  // namespace tunless::wg::test
