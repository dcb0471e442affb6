// UDP forwards and the SOCKS5 UDP relay end to end inside one process: the host side is real
// loopback sockets on a real EventLoop, the mesh side is the process's lwIP stack (NetEnv) whose
// egress is captured and whose peers are scripted by injecting UDP packets.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "proxy/socks5_codec.hpp"
#include "proxy/socks5_udp.hpp"
#include "proxy/socks5_udp_control.hpp"
#include "proxy/udp_forward.hpp"
#include "tests/unit/netstack/test_env.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::test {
namespace {

using proxy::FamilyPreference;

// A blocking-free loopback UDP socket for the "local application" side.
struct LocalApp {
    io::UniqueFd fd{::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)};
    std::uint16_t port = 0;
    LocalApp() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
    }
    void send(std::uint16_t to, ByteView data) const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(to);
        REQUIRE(::sendto(fd.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
                static_cast<ssize_t>(data.size()));
    }
    // One datagram if any is queued: (payload, source port).
    std::optional<std::pair<Bytes, std::uint16_t>> recv() const {
        Bytes buf(65536);
        sockaddr_in a{};
        socklen_t len = sizeof a;
        const ssize_t n = ::recvfrom(fd.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
        if (n < 0) return std::nullopt;
        buf.resize(static_cast<std::size_t>(n));
        return std::make_pair(buf, ntohs(a.sin_port));
    }
};

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

struct Loop {
    std::unique_ptr<io::EventLoop> loop = std::move(io::EventLoop::create().value());
    // Dispatches whatever is ready now (loopback datagrams are queued synchronously).
    void spin() {
        for (int i = 0; i < 3; ++i) REQUIRE(loop->run_once(std::chrono::milliseconds(0)).has_value());
    }
};

struct Resolver {
    proxy::DnsResolver r{proxy::DnsResolverConfig{}, nullptr, NetEnv::get().rng,
                         [] { return NetEnv::get().clock.now_mono(); }};
};

auto udp_to(const IpAddress& dst, std::uint16_t dport) {
    return [dst, dport](const ip::Parsed& p) {
        return p.proto == ipproto::kUdp && p.dst == dst && p.udp_dport == dport;
    };
}

}  // namespace

TEST_CASE("UDPProxyTunnel: one mesh socket per local source, replies only from the target") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    Loop l;
    Resolver res;
    cfg::UdpProxyTunnel c;
    c.bind = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 0);
    c.target = cfg::NamedEndpoint{"10.7.0.2", 7, env.peer4};
    c.max_connections = 2;
    auto t = proxy::UdpProxyTunnel::create(c, *l.loop, *env.stack, res.r, FamilyPreference::kPreferV4);
    REQUIRE(t.has_value());
    auto& tunnel = **t;
    LocalApp a, b, d;
    a.send(tunnel.local().port, text("from-a"));
    b.send(tunnel.local().port, text("from-b"));
    l.spin();
    auto out = env.take(udp_to(env.peer4, 7));
    REQUIRE(out.size() == 2);
    CHECK(out[0].udp_payload == text("from-a"));
    CHECK(out[0].src == env.addr4);
    CHECK(out[0].udp_sport != out[1].udp_sport);  // a flow (and mesh port) per source

    // The target answers a's flow: a gets it, b does not.
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 7, out[0].udp_sport, text("to-a"))).has_value());
    auto got = a.recv();
    REQUIRE(got.has_value());
    CHECK(got->first == text("to-a"));
    CHECK(got->second == tunnel.local().port);
    CHECK_FALSE(b.recv().has_value());
    // Someone else writing to the flow's mesh port is dropped.
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 8, out[0].udp_sport, text("spoof"))).has_value());
    CHECK_FALSE(a.recv().has_value());

    // A third source evicts the least recently used flow (b: a was refreshed by the reply).
    d.send(tunnel.local().port, text("from-d"));
    l.spin();
    auto s = tunnel.stats();
    CHECK(s.flows.active == 2);
    CHECK(s.flows.total == 3);
    CHECK(s.flows.evicted == 1);
    CHECK(s.drop_foreign == 1);
    CHECK(s.to_mesh_datagrams == 3);
    CHECK(s.from_mesh_datagrams == 1);
    // b's mesh port is closed now: the stack answers port unreachable instead of delivering.
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 7, out[1].udp_sport, text("late"))).has_value());
    CHECK_FALSE(b.recv().has_value());
    env.sink.packets.clear();
}

TEST_CASE("UDPServerTunnel: a host socket per mesh source, replies leave from the address used; idle expiry") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    Loop l;
    Resolver res;
    LocalApp target;
    cfg::UdpServerTunnel c;
    c.listen_port = 6100;
    c.target = cfg::NamedEndpoint{"127.0.0.1", target.port, *IpAddress::parse("127.0.0.1")};
    c.inactivity_timeout_s = 30;
    auto t = proxy::UdpServerTunnel::create(c, *l.loop, *env.stack, res.r, FamilyPreference::kPreferV4);
    REQUIRE(t.has_value());
    auto& tunnel = **t;
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 4444, 6100, text("hello"))).has_value());
    REQUIRE(env.inject(ip::udp_packet(env.peer6, env.addr6, 5555, 6100, text("hello6"))).has_value());
    auto first = target.recv();
    auto second = target.recv();
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(first->first == text("hello"));
    CHECK(first->second != second->second);
    target.send(first->second, text("reply4"));
    target.send(second->second, text("reply6"));
    l.spin();
    auto r4 = env.take(udp_to(env.peer4, 4444));
    auto r6 = env.take(udp_to(env.peer6, 5555));
    REQUIRE(r4.size() == 1);
    REQUIRE(r6.size() == 1);
    CHECK(r4[0].udp_payload == text("reply4"));
    CHECK(r4[0].udp_sport == 6100);
    CHECK(r6[0].src == env.addr6);
    CHECK(r6[0].udp_payload == text("reply6"));
    CHECK(tunnel.stats().flows.active == 2);
    CHECK(tunnel.next_deadline() != kNever);
    tunnel.on_timer(l.loop->now() + std::chrono::seconds(31));
    CHECK(tunnel.stats().flows.active == 0);
    CHECK(tunnel.stats().flows.expired == 2);
    CHECK(tunnel.next_deadline() == kNever);
}

TEST_CASE("SOCKS5 UDP relay: header stripped and added, only the client's address, FRAG dropped") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    Loop l;
    Resolver res;
    proxy::Socks5UdpRelay relay(*l.loop, *env.stack, res.r, FamilyPreference::kPreferV4);
    LocalApp client, intruder;
    const Endpoint client_tcp = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 40000);
    const Endpoint local_tcp = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 1080);
    auto assoc = relay.associate(client_tcp, local_tcp,
                                 proxy::Target::from_ip(*IpAddress::parse("127.0.0.1"), client.port));
    REQUIRE(assoc.has_value());
    const Endpoint bound = (*assoc)->bound();
    CHECK(bound.ip == *IpAddress::parse("127.0.0.1"));

    auto header = proxy::socks5::build_udp_header(proxy::Target::from_ip(env.peer4, 53));
    Bytes dgram(header.view().begin(), header.view().end());
    for (auto b : text("query")) dgram.push_back(b);
    client.send(bound.port, dgram);
    intruder.send(bound.port, dgram);  // same IP, other port than the one announced: dropped
    Bytes frag = dgram;
    frag[2] = 1;
    client.send(bound.port, frag);
    l.spin();
    auto out = env.take(udp_to(env.peer4, 53));
    REQUIRE(out.size() == 1);
    CHECK(out[0].udp_payload == text("query"));

    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 53, out[0].udp_sport, text("answer"))).has_value());
    auto got = client.recv();
    REQUIRE(got.has_value());
    auto parsed = proxy::socks5::parse_udp_datagram(got->first);
    REQUIRE(parsed.done());
    CHECK(parsed.value.target == proxy::Target::from_ip(env.peer4, 53));
    CHECK(Bytes(parsed.value.payload.begin(), parsed.value.payload.end()) == text("answer"));

    const auto& s = relay.stats();
    CHECK(s.associations_active == 1);
    CHECK(s.drop_foreign_source == 1);
    CHECK(s.drop_fragmented == 1);
    CHECK(s.to_mesh_datagrams == 1);
    CHECK(s.from_mesh_datagrams == 1);
    assoc->reset();
    CHECK(relay.stats().associations_active == 0);
}

TEST_CASE("SOCKS5 UDP relay: the association cap refuses more") {
    auto& env = NetEnv::get();
    Loop l;
    Resolver res;
    proxy::Socks5UdpConfig cfg;
    cfg.max_associations = 1;
    proxy::Socks5UdpRelay relay(*l.loop, *env.stack, res.r, FamilyPreference::kPreferV4, cfg);
    const Endpoint lo = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 1);
    auto a = relay.associate(lo, lo, proxy::Target{});
    REQUIRE(a.has_value());
    auto b = relay.associate(lo, lo, proxy::Target{});
    REQUIRE_FALSE(b.has_value());
    CHECK(b.error().code == Errc::kLimitReached);
    CHECK(relay.stats().refused_limit == 1);
}

TEST_CASE("resolver without DNS=: the system resolver answers through getaddrinfo_a, polled by the loop") {
    Loop l;
    proxy::DnsResolver r(proxy::DnsResolverConfig{}, nullptr, NetEnv::get().rng,
                         [&loop = *l.loop] { return loop.now(); }, l.loop.get());
    l.loop->add_deadline_provider(r);
    std::optional<Result<IpAddress>> result;
    auto h = r.resolve("localhost", FamilyPreference::kOnlyV4, [&](Result<IpAddress> x) { result = std::move(x); });
    // Bounded: the loop sleeps until the resolver's next poll, never busy-waits.
    for (int i = 0; i < 2000 && !result; ++i) REQUIRE(l.loop->run_once(std::chrono::milliseconds(10)).has_value());
    l.loop->remove_deadline_provider(r);
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    CHECK(result->value() == *IpAddress::parse("127.0.0.1"));
    CHECK(r.stats().system_lookups == 1);
}

}  // namespace tunless::test

namespace tunless::test {

TEST_CASE("SOCKS5 UDP control: REP 0 with the relay address; closing the control ends it") {
    auto& env = NetEnv::get();
    Loop l;
    Resolver res;
    proxy::Socks5UdpRelay relay(*l.loop, *env.stack, res.r, FamilyPreference::kPreferV4);
    proxy::Socks5UdpControl control(*l.loop, relay);
    // A loopback TCP pair stands in for the accepted SOCKS connection.
    io::UniqueFd listener(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener.get(), 1) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    io::UniqueFd client(::socket(AF_INET, SOCK_STREAM, 0));
    REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    io::UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK));
    REQUIRE(server.valid());

    proxy::UdpAssociateRequest req{std::move(server), Endpoint::udp(*IpAddress::parse("127.0.0.1"), 1),
                                   proxy::Target{}, {}};
    control.on_udp_associate(std::move(req));
    std::uint8_t reply[10] = {};
    REQUIRE(::recv(client.get(), reply, sizeof reply, 0) == 10);
    CHECK(reply[0] == 5);
    CHECK(reply[1] == 0);  // succeeded
    CHECK(reply[3] == 1);  // IPv4 BND
    CHECK(reply[4] == 127);
    CHECK((reply[8] << 8 | reply[9]) != 0);
    CHECK(control.active() == 1);
    CHECK(relay.stats().associations_active == 1);

    client.reset();  // RFC 1928 §7: the association ends with the TCP connection
    for (int i = 0; i < 50 && control.active() != 0; ++i) {
        REQUIRE(l.loop->run_once(std::chrono::milliseconds(10)).has_value());
    }
    CHECK(control.active() == 0);
    CHECK(relay.stats().associations_active == 0);
}

}  // namespace tunless::test
