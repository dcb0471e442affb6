// UdpSocket: receive (plain and reassembled), send (chained by-reference output, fragments),
// closed ports answered with ICMP port unreachable, source selection.
#include <doctest/doctest.h>

#include <map>

#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using net::UdpSocket;

std::unique_ptr<UdpSocket> bind_or_fail(std::uint16_t port, RecordingUdpHandler& handler) {
    auto s = UdpSocket::bind(*NetEnv::get().stack, port, handler);
    REQUIRE(s.has_value());
    return std::move(s.value());
}

auto udp_to(const IpAddress& dst, std::uint16_t dport) {
    return [dst, dport](const ip::Parsed& p) {
        return p.dst == dst && (p.proto == ipproto::kUdp || p.more_fragments || p.frag_offset) &&
               (p.frag_offset != 0 || p.more_fragments || p.udp_dport == dport);
    };
}

}  // namespace

TEST_CASE("udp: datagrams to a bound port arrive with both endpoints") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5301, handler);
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 1111, 5301, text("ping4"))).has_value());
    REQUIRE(env.inject(ip::udp_packet(env.peer6, env.addr6, 2222, 5301, text("ping6"))).has_value());
    REQUIRE(handler.datagrams.size() == 2);
    const auto& d4 = handler.datagrams[0];
    CHECK(d4.info.src_ip == env.peer4);
    CHECK(d4.info.src_port == 1111);
    CHECK(d4.info.dst_ip == env.addr4);
    CHECK(d4.info.dst_port == 5301);
    CHECK(d4.payload == text("ping4"));
    CHECK(handler.datagrams[1].info.dst_ip == env.addr6);
    CHECK(handler.datagrams[1].payload == text("ping6"));
    CHECK(s->datagrams_received() == 2);
    CHECK(env.sink.packets.empty());
}

TEST_CASE("udp: send_to leaves as a chained pbuf, copied out intact at the egress") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5302, handler);
    const auto chained_before = env.stack->stats().egress_chained;
    REQUIRE(s->send_to(env.peer4, 1111, text("pong")).has_value());
    REQUIRE(s->send_to(env.peer6, 2222, text("pong6")).has_value());
    // lwIP prepends its header pbuf to our by-reference payload: a two-pbuf chain.
    CHECK(env.stack->stats().egress_chained == chained_before + 2);
    auto out4 = env.take(udp_to(env.peer4, 1111));
    REQUIRE(out4.size() == 1);
    CHECK(out4[0].src == env.addr4);
    CHECK(out4[0].udp_sport == 5302);
    CHECK(out4[0].udp_payload == text("pong"));
    CHECK(out4[0].transport_checksum_ok);
    CHECK(out4[0].ip_checksum_ok);
    auto out6 = env.take(udp_to(env.peer6, 2222));
    REQUIRE(out6.size() == 1);
    CHECK(out6[0].src == env.addr6);
    CHECK(out6[0].udp_payload == text("pong6"));
    CHECK(out6[0].transport_checksum_ok);
    CHECK(s->datagrams_sent() == 2);
}

TEST_CASE("udp: replies can be sent from inside on_datagram") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5303, handler);
    handler.hook = [](UdpSocket& sock, const net::UdpDatagramInfo& info) {
        CHECK(sock.send_to(info.src_ip, info.src_port, text("echo"), info.dst_ip).has_value());
    };
    REQUIRE(env.inject(ip::udp_packet(env.peer6, env.addr6, 3333, 5303, text("hi"))).has_value());
    auto out = env.take(udp_to(env.peer6, 3333));
    REQUIRE(out.size() == 1);
    CHECK(out[0].src == env.addr6);
    CHECK(out[0].udp_payload == text("echo"));
}

TEST_CASE("udp: datagrams above the MTU are fragmented, each fragment within the MTU") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5304, handler);
    const Bytes big = pattern(4000, 9);
    for (const IpAddress* dst : {&env.peer4, &env.peer6}) {
        REQUIRE(s->send_to(*dst, 4444, big).has_value());
        auto frags = env.take(udp_to(*dst, 4444));
        REQUIRE(frags.size() == 3);
        std::map<std::uint16_t, Bytes> by_offset;
        for (const auto& f : frags) {
            CHECK(f.transport.size() + (f.version == 4 ? 20 : 48) <= 1420);
            by_offset[f.frag_offset] = f.transport;
        }
        Bytes udp;
        for (const auto& [off, bytes] : by_offset) {
            CHECK(off == udp.size());
            udp.insert(udp.end(), bytes.begin(), bytes.end());
        }
        REQUIRE(udp.size() == 8 + big.size());
        CHECK(Bytes(udp.begin() + 8, udp.end()) == big);
    }
}

TEST_CASE("udp: fragmented datagrams from a peer are reassembled before delivery") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5305, handler);
    const Bytes big = pattern(3000, 5);
    const Bytes whole = ip::udp_packet(env.peer4, env.addr4, 5555, 5305, big);
    const auto frags = ip::ipv4_fragments(whole, 1400);
    REQUIRE(frags.size() == 3);
    for (auto it = frags.rbegin(); it != frags.rend(); ++it) {  // out of order on purpose
        REQUIRE(env.inject(*it).has_value());
    }
    REQUIRE(handler.datagrams.size() == 1);
    CHECK(handler.datagrams[0].payload == big);
}

TEST_CASE("udp: a datagram to a closed port gets ICMP port unreachable (IPv4 and IPv6)") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    REQUIRE(env.inject(ip::udp_packet(env.peer4, env.addr4, 6666, 9999, text("?"))).has_value());
    auto icmp4 = env.take([&](const ip::Parsed& p) {
        return p.proto == ipproto::kIcmp4 && p.dst == env.peer4;
    });
    REQUIRE(icmp4.size() == 1);
    CHECK(icmp4[0].icmp_type == 3);  // destination unreachable
    CHECK(icmp4[0].icmp_code == 3);  // port unreachable
    CHECK(icmp4[0].transport_checksum_ok);
    REQUIRE(icmp4[0].icmp_payload.size() == 20 + 8);  // RFC 792: IP header + 8 bytes
    CHECK(icmp4[0].icmp_payload[0] == 0x45);
    REQUIRE(env.inject(ip::udp_packet(env.peer6, env.addr6, 6666, 9999, text("?"))).has_value());
    auto icmp6 = env.take([&](const ip::Parsed& p) {
        return p.proto == ipproto::kIcmp6 && p.dst == env.peer6;
    });
    REQUIRE(icmp6.size() == 1);
    CHECK(icmp6[0].icmp_type == 1);  // destination unreachable
    CHECK(icmp6[0].icmp_code == 4);  // port unreachable
    CHECK(icmp6[0].transport_checksum_ok);
    REQUIRE(icmp6[0].icmp_payload.size() == 40 + 8 + 1);  // RFC 4443 §2.4: the whole packet
    CHECK((icmp6[0].icmp_payload[0] >> 4) == 6);
}

TEST_CASE("udp: bind conflicts, bad sources, oversize and closed sockets are errors") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingUdpHandler handler;
    auto s = bind_or_fail(5306, handler);
    CHECK(UdpSocket::bind(*env.stack, 5306, handler).error().code == Errc::kAlreadyExists);
    CHECK(s->send_to(env.peer4, 1, text("x"), env.peer4).error().code == Errc::kInvalidArgument);
    CHECK(s->send_to(env.peer4, 1, text("x"), env.addr6).error().code == Errc::kInvalidArgument);
    CHECK(s->send_to(env.peer4, 1, Bytes(UdpSocket::kMaxPayload + 1)).error().code ==
          Errc::kInvalidArgument);
    REQUIRE(s->send_to(env.peer4, 1, Bytes{}).has_value());  // empty datagrams are fine
    s->close();
    CHECK(s->send_to(env.peer4, 1, text("x")).error().code == Errc::kClosed);
    auto ephemeral = UdpSocket::bind(*env.stack, 0, handler);
    REQUIRE(ephemeral.has_value());
    CHECK(ephemeral.value()->port() != 0);
    env.sink.packets.clear();
}

}  // namespace tunless::test
