// TcpConnection::connect: the SYN at the egress, completion, refusal, timeout, early FIN.
#include <doctest/doctest.h>

#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using net::TcpConnection;

ip::Parsed expect_syn(NetEnv& env, const IpAddress& src, const IpAddress& dst,
                      std::uint16_t dport) {
    auto syns = env.take([&](const ip::Parsed& p) {
        return p.proto == ipproto::kTcp && p.dst == dst && p.tcp.dport == dport &&
               (p.tcp.flags & ip::kSyn) != 0;
    });
    REQUIRE(syns.size() == 1);
    CHECK(syns[0].src == src);
    CHECK(syns[0].tcp.flags == ip::kSyn);
    CHECK(syns[0].transport_checksum_ok);
    return syns[0];
}

}  // namespace

TEST_CASE("tcp connect: IPv4 SYN to the destination, then established and data flows") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    auto c = TcpConnection::connect(*env.stack, env.peer4, 443, handler);
    REQUIRE(c.has_value());
    auto& conn = *c.value();
    CHECK(conn.state() == TcpConnection::State::kConnecting);
    const auto syn = expect_syn(env, env.addr4, env.peer4, 443);
    CHECK(syn.tcp.mss == 1360);
    CHECK(syn.tcp.wscale == 3);
    CHECK(syn.tcp.sack_permitted);
    CHECK(conn.endpoints().local_ip == env.addr4);
    CHECK(conn.endpoints().local_port == syn.tcp.sport);
    CHECK(conn.endpoints().remote_port == 443);

    ScriptedPeer peer(env.peer4, 443, env.addr4, syn.tcp.sport);
    peer.accept_syn(syn);
    CHECK(handler.connected == 1);
    CHECK(conn.state() == TcpConnection::State::kEstablished);
    const auto acks = peer.take();
    REQUIRE(!acks.empty());
    CHECK(acks[0].tcp.ack == peer.seq());

    CHECK(conn.write(text("GET / HTTP/1.0\r\n\r\n")) == 18);
    peer.take();
    CHECK(peer.received() == text("GET / HTTP/1.0\r\n\r\n"));
    peer.ack_all();
    peer.send(ip::kAck | ip::kPsh, text("200"));
    Bytes got(conn.readable_bytes());
    conn.read(got);
    CHECK(got == text("200"));
}

TEST_CASE("tcp connect: IPv6 destination outside our prefix uses our IPv6 address") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    const IpAddress far = *IpAddress::parse("2001:db8::5");
    auto c = TcpConnection::connect(*env.stack, far, 80, handler);
    REQUIRE(c.has_value());
    expect_syn(env, env.addr6, far, 80);
    c.value()->abort();
    auto after = env.take([&](const ip::Parsed& p) { return p.dst == far; });
    for (const auto& p : after) {
        CHECK(p.tcp.flags == (ip::kRst | ip::kAck));  // lwIP resets even from SYN_SENT
    }
}

TEST_CASE("tcp connect: IPv4-mapped destinations are connected over IPv4") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    auto c = TcpConnection::connect(*env.stack, *IpAddress::parse("::ffff:10.7.0.2"), 81, handler);
    REQUIRE(c.has_value());
    expect_syn(env, env.addr4, env.peer4, 81);
}

TEST_CASE("tcp connect: a RST after the handshake is reported (kRefused)") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    auto c = TcpConnection::connect(*env.stack, env.peer6, 444, handler);
    REQUIRE(c.has_value());
    const auto syn = expect_syn(env, env.addr6, env.peer6, 444);
    ScriptedPeer peer(env.peer6, 444, env.addr6, syn.tcp.sport, 0);
    peer.accept_syn(syn);
    CHECK(handler.connected == 1);
    peer.take();
    peer.send(ip::kRst | ip::kAck);
    CHECK(handler.errors == 1);
    CHECK(handler.last_error->code == Errc::kRefused);
    CHECK(c.value()->state() == TcpConnection::State::kClosed);
}

TEST_CASE("tcp connect: a refused SYN (RST|ACK in SYN_SENT) fails the connect") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    auto c = TcpConnection::connect(*env.stack, env.peer4, 445, handler);
    REQUIRE(c.has_value());
    const auto syn = expect_syn(env, env.addr4, env.peer4, 445);
    ip::TcpSegment rst;
    rst.sport = 445;
    rst.dport = syn.tcp.sport;
    rst.ack = syn.tcp.seq + 1;
    rst.flags = ip::kRst | ip::kAck;
    REQUIRE(env.inject(ip::tcp_packet(env.peer4, env.addr4, rst)).has_value());
    CHECK(handler.connected == 0);
    CHECK(handler.errors == 1);
    CHECK(handler.last_error->code == Errc::kRefused);
    CHECK(c.value()->state() == TcpConnection::State::kClosed);
}

TEST_CASE("tcp connect: no answer times out after the SYN retries") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    const IpAddress silent = *IpAddress::parse("10.7.0.77");
    auto c = TcpConnection::connect(*env.stack, silent, 446, handler);
    REQUIRE(c.has_value());
    // In TCP_TMR_INTERVAL steps, as the loop would (lwIP skips, not repeats, late timers).
    const auto tick = std::chrono::milliseconds(50);
    env.advance(std::chrono::seconds(10), tick);
    CHECK(handler.errors == 0);  // a lost first WireGuard handshake costs 5 s
    env.advance(std::chrono::seconds(10), tick);
    const auto syns = env.take([&](const ip::Parsed& p) { return p.dst == silent; });
    CHECK(syns.size() == 13);  // first SYN + TCP_SYNMAXRTX (12) retransmissions, 1 s apart
    CHECK(handler.errors == 1);
    CHECK(handler.last_error->code == Errc::kTimedOut);
}

TEST_CASE("tcp connect: shutdown_write while connecting sends FIN after the handshake") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    auto c = TcpConnection::connect(*env.stack, env.peer4, 447, handler);
    REQUIRE(c.has_value());
    auto& conn = *c.value();
    CHECK(conn.write(text("req")) == 3);  // queued behind the SYN
    REQUIRE(conn.shutdown_write().has_value());
    const auto syn = expect_syn(env, env.addr4, env.peer4, 447);
    ScriptedPeer peer(env.peer4, 447, env.addr4, syn.tcp.sport);
    peer.accept_syn(syn);
    peer.take();
    CHECK(peer.received() == text("req"));
    CHECK(peer.got_fin());
    CHECK(conn.write_shut());
}

TEST_CASE("tcp connect: max_tcp_connections is enforced") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    std::vector<std::unique_ptr<TcpConnection>> conns;
    const auto limit = env.stack->config().max_tcp_connections;
    const auto refused_before = env.stack->stats().tcp_refused_limit;
    while (env.stack->stats().tcp_connections < limit) {
        auto c = TcpConnection::connect(*env.stack, env.peer4, 448, handler);
        REQUIRE(c.has_value());
        conns.push_back(std::move(c.value()));
    }
    auto over = TcpConnection::connect(*env.stack, env.peer4, 448, handler);
    REQUIRE_FALSE(over.has_value());
    CHECK(over.error().code == Errc::kLimitReached);
    CHECK(env.stack->stats().tcp_refused_limit == refused_before + 1);
    conns.clear();
    env.sink.packets.clear();
}

}  // namespace tunless::test
