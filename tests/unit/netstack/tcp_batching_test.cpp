// Ways the netstack saves per-packet work in bulk transfers: ACKs batched per receive batch
// (Stack::begin_ack_batch/flush_acks, netstack/patches/lwip-tcp-stretch-acks.patch), pure
// window updates only when they matter (lwip-tcp-window-update.patch), and on_writable held
// back until a quarter of the send buffer is free.
#include <doctest/doctest.h>

#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/tcp_server_fixture.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using net::TcpConnection;

constexpr std::size_t kMss = 1360;
constexpr std::size_t kSendBuffer = 256 * 1024;  // TCP_SND_BUF in lwipopts.h

// A connection accepted from a ScriptedPeer that has completed its handshake.
struct Accepted : TcpServerFixture {
    std::unique_ptr<ScriptedPeer> peer;

    Accepted(std::uint16_t port, std::uint16_t peer_port) : TcpServerFixture(port) {
        peer = std::make_unique<ScriptedPeer>(env.peer4, peer_port, env.addr4, port);
        peer->handshake();
        REQUIRE(acceptor.accepted.size() == 1);
    }

    // lwIP's pure ACKs to the peer since the last call, as acknowledgment numbers.
    std::vector<std::uint32_t> acks() {
        std::vector<std::uint32_t> out;
        for (const auto& p : peer->take()) {
            if (p.tcp.payload.empty() && (p.tcp.flags & ip::kAck) != 0) out.push_back(p.tcp.ack);
        }
        return out;
    }
};

}  // namespace

#if TUNLESS_LWIP_STRETCH_ACKS
TEST_CASE("tcp ack batching: ten segments in one batch get one ACK, at the flush") {
    Accepted a(8601, 46001);
    const Bytes data = pattern(10 * kMss, 21);
    a.env.stack->begin_ack_batch();
    for (std::size_t i = 0; i < 10; ++i) {
        a.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(i * kMss, kMss));
    }
    CHECK(a.acks().empty());  // lwIP would have ACKed every second segment by now
    a.env.stack->flush_acks();
    const auto acks = a.acks();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0] == a.peer->seq());  // everything the batch delivered
    a.env.stack->flush_acks();        // nothing left to send
    CHECK(a.acks().empty());
    Bytes got(a.conn().readable_bytes());
    a.conn().read(got);
    CHECK(got == data);
}

TEST_CASE("tcp ack batching: outside a batch lwIP ACKs every second segment as before") {
    Accepted a(8602, 46002);
    const Bytes data = pattern(10 * kMss, 22);
    for (std::size_t i = 0; i < 10; ++i) {
        a.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(i * kMss, kMss));
    }
    CHECK(a.acks().size() == 5);
}

TEST_CASE("tcp ack batching: one segment keeps its delayed ACK; out-of-order data is ACKed at once") {
    Accepted a(8603, 46003);
    const Bytes data = pattern(3 * kMss, 23);
    a.env.stack->begin_ack_batch();
    a.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(0, kMss));
    a.env.stack->flush_acks();
    CHECK(a.acks().empty());  // a lone segment waits for the delayed-ACK timer or a reply
    a.env.advance(std::chrono::milliseconds(100));
    CHECK(a.acks().size() == 1);

    // A hole: the segment after it must raise a duplicate ACK right away, batch or not.
    a.env.stack->begin_ack_batch();
    const std::uint32_t hole = a.peer->seq();
    a.peer->send_at(hole + kMss, ip::kAck | ip::kPsh, ByteView(data).subspan(2 * kMss, kMss));
    const auto dup = a.acks();
    REQUIRE(dup.size() == 1);
    CHECK(dup[0] == hole);
    a.env.stack->flush_acks();
}

TEST_CASE("tcp ack batching: a batch nobody flushes is still ACKed by lwIP's delayed-ACK timer") {
    Accepted a(8604, 46004);
    const Bytes data = pattern(4 * kMss, 24);
    a.env.stack->begin_ack_batch();
    for (std::size_t i = 0; i < 4; ++i) {
        a.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(i * kMss, kMss));
    }
    CHECK(a.acks().empty());
    a.env.advance(std::chrono::milliseconds(100));
    const auto acks = a.acks();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0] == a.peer->seq());
    a.env.stack->flush_acks();
    CHECK(a.acks().empty());
}
#endif

TEST_CASE("tcp: on_writable waits for a quarter of the send buffer, not for one ACK's worth") {
    Accepted a(8605, 46005);
    auto& c = a.conn();
    const Bytes data = pattern(kSendBuffer + 64 * 1024, 25);
    std::size_t written = c.write(data);
    REQUIRE(written < data.size());
    REQUIRE(c.write_capacity() == 0);
    // ACK each flight as it arrives: the first ones free a few KB each (slow start).
    std::size_t freed = 0;
    bool fired = false;
    for (int guard = 0; guard < 1000 && !fired; ++guard) {
        a.peer->take();
        a.peer->ack_all();
        freed = c.write_capacity();
        fired = a.handler.writable > 0;
        if (!fired) CHECK(freed < kSendBuffer / 4);
    }
    REQUIRE(fired);
    CHECK(freed >= kSendBuffer / 4);
    written += c.write(ByteView(data).subspan(written));
    CHECK(written == data.size());
}

#if TUNLESS_LWIP_STRETCH_ACKS  // with netstack/patches, which include the window-update one
TEST_CASE("tcp: consuming part of a wide-open window sends no pure window update until 64 KiB") {
    // lwip-tcp-window-update.patch: the data ACKs carry the window; a separate update only
    // pays when it moves a lot (or when the peer is nearly out of window: tcp_inbound_test).
    Accepted a(8606, 46006);
    const Bytes data = pattern(100 * kMss, 26);
    a.env.stack->begin_ack_batch();
    for (std::size_t i = 0; i < 100; ++i) {
        a.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(i * kMss, kMss));
    }
    a.env.stack->flush_acks();
    REQUIRE(a.acks().size() == 1);
    auto& c = a.conn();
    CHECK(c.consume(20 * 1024) == 20 * 1024);
    CHECK(a.acks().empty());  // lwIP's default threshold (4 segments) sent one here
    CHECK(c.consume(50 * 1024) == 50 * 1024);
    const auto update = a.acks();
    REQUIRE(update.size() == 1);
    CHECK(update[0] == a.peer->seq());
    CHECK(a.peer->lwip_window() >= 256 * 1024 - 100 * kMss + 70 * 1024 - 8);  // window scale 3
}
#endif

}  // namespace tunless::test
