#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/transports/transport_test_support.hpp"
#include "transports/event_loop.hpp"
#include "transports/udp_transport.hpp"

using namespace tunless;
using namespace tunless::io;
using namespace tunless::io::test;

// Loopback only: every socket here is bound to 127.0.0.1 or ::1, or (for the dual-stack
// case) the wildcard with traffic addressed to loopback.

namespace {

struct Collector final : DatagramReceiver {
    void on_datagram(const Endpoint& from, ByteView data) override {
        got.push_back({from, Bytes(data.begin(), data.end())});
    }
    void on_receive_batch_end() override { ++batch_ends; }
    struct Item {
        Endpoint from;
        Bytes data;
    };
    std::vector<Item> got;
    int batch_ends = 0;
};

std::unique_ptr<UdpTransport> open_at(EventLoop& loop, const char* addr,
                                      UdpTransport::Options o = {}) {
    o.bind_address = IpAddress::parse(addr);
    auto t = UdpTransport::open(loop, o);
    if (!t) {
        return nullptr;
    }
    return std::move(*t);
}

void run_until_count(EventLoop& loop, const Collector& c, std::size_t n) {
    for (int i = 0; i < 50 && c.got.size() < n; ++i) {
        REQUIRE(loop.run_once(std::chrono::seconds(1)));
    }
}

}  // namespace

TEST_CASE("UDP over IPv4 loopback: random port reported, datagram and source delivered") {
    auto loop = make_loop();
    auto a = open_at(*loop, "127.0.0.1");
    auto b = open_at(*loop, "127.0.0.1");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->local_port() != 0);
    CHECK(a->local_port() != b->local_port());
    CHECK(a->has_ipv4());
    CHECK_FALSE(a->has_ipv6());
    Collector cb;
    b->set_receiver(&cb);
    const Bytes msg = pattern(148, 1);
    CHECK(a->send(at("127.0.0.1", b->local_port()), msg) == SendResult::kSent);
    run_until_count(*loop, cb, 1);
    REQUIRE(cb.got.size() == 1);
    CHECK(cb.got[0].from == at("127.0.0.1", a->local_port()));
    CHECK(cb.got[0].data == msg);
    CHECK(cb.batch_ends == 1);
    CHECK(a->stats().tx_datagrams == 1);
    CHECK(a->stats().tx_bytes == 148);
    CHECK(b->stats().rx_datagrams == 1);
}

TEST_CASE("UDP over IPv6 loopback (skipped when the kernel has no IPv6)") {
    auto loop = make_loop();
    auto a = open_at(*loop, "::1");
    auto b = open_at(*loop, "::1");
    if (!a || !b) {
        MESSAGE("IPv6 loopback unavailable: skipped");
        return;
    }
    CHECK(a->has_ipv6());
    Collector cb;
    b->set_receiver(&cb);
    CHECK(a->send(at("::1", b->local_port()), pattern(60, 3)) == SendResult::kSent);
    run_until_count(*loop, cb, 1);
    REQUIRE(cb.got.size() == 1);
    CHECK(cb.got[0].from == at("::1", a->local_port()));
    CHECK(cb.got[0].data == pattern(60, 3));
}

TEST_CASE("dual-stack wildcard socket receives IPv4 and reports the sender as plain IPv4") {
    auto loop = make_loop();
    auto server_r = UdpTransport::open(*loop, {});
    REQUIRE(server_r);
    auto& server = *server_r;
    CHECK(server->has_ipv4());
    auto v4 = open_at(*loop, "127.0.0.1");
    REQUIRE(v4);
    Collector cs, c4;
    server->set_receiver(&cs);
    v4->set_receiver(&c4);
    REQUIRE(v4->send(at("127.0.0.1", server->local_port()), pattern(10, 9)) == SendResult::kSent);
    run_until_count(*loop, cs, 1);
    REQUIRE(cs.got.size() == 1);
    CHECK(cs.got[0].from.ip.is_v4());
    CHECK(cs.got[0].from == at("127.0.0.1", v4->local_port()));
    // Reply to an IPv4 endpoint through the (possibly AF_INET6) socket.
    REQUIRE(server->send(cs.got[0].from, pattern(11, 2)) == SendResult::kSent);
    run_until_count(*loop, c4, 1);
    REQUIRE(c4.got.size() == 1);
    CHECK(c4.got[0].from.port == server->local_port());
    if (server->has_ipv6()) {
        auto v6 = open_at(*loop, "::1");
        REQUIRE(v6);
        REQUIRE(v6->send(at("::1", server->local_port()), pattern(12, 4)) == SendResult::kSent);
        run_until_count(*loop, cs, 2);
        REQUIRE(cs.got.size() == 2);
        CHECK(cs.got[1].from == at("::1", v6->local_port()));
    }
}

TEST_CASE("IPv4-only transport refuses IPv6 destinations as counted drops") {
    auto loop = make_loop();
    UdpTransport::Options o;
    o.allow_ipv6 = false;
    auto t = UdpTransport::open(*loop, o);
    REQUIRE(t);
    CHECK_FALSE((*t)->has_ipv6());
    CHECK((*t)->send(at("::1", 9), pattern(4, 0)) == SendResult::kDropped);
    CHECK((*t)->stats().tx_drop_no_path == 1);
}

void batch_roundtrip(bool single_syscalls) {
    auto loop = make_loop();
    UdpTransport::Options o;
    o.recv_batch = 4;  // smaller than the burst: several recvmmsg calls and wakeups
    o.max_batches_per_wakeup = 2;
    o.force_single_syscalls = single_syscalls;
    auto a = open_at(*loop, "127.0.0.1", o);
    auto b = open_at(*loop, "127.0.0.1", o);
    REQUIRE(a);
    REQUIRE(b);
    Collector cb;
    b->set_receiver(&cb);
    std::vector<Bytes> payloads;
    for (std::size_t i = 0; i < 20; ++i) {
        payloads.push_back(pattern(32 + i * 50, static_cast<std::uint8_t>(i)));
    }
    std::vector<OutDatagram> out;
    for (const Bytes& p : payloads) {
        out.push_back({at("127.0.0.1", b->local_port()), p});
    }
    out.insert(out.begin() + 5, OutDatagram{Endpoint{}, payloads[0]});  // unset: dropped
    CHECK(a->send_batch(out) == 20);
    CHECK(a->stats().tx_drop_no_path == 1);
    run_until_count(*loop, cb, 20);
    REQUIRE(cb.got.size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(cb.got[i].data == payloads[i]);
    }
    CHECK(cb.batch_ends >= 3);  // 20 datagrams at <= 8 per wakeup
}

TEST_CASE("batch send and receive with sendmmsg/recvmmsg") {
    batch_roundtrip(false);
}
TEST_CASE("batch send and receive through the sendmsg/recvmsg fallback") {
    batch_roundtrip(true);
}

TEST_CASE("large datagrams: 65000 bytes arrive whole, oversize sends are counted drops") {
    auto loop = make_loop();
    auto a = open_at(*loop, "127.0.0.1");
    auto b = open_at(*loop, "127.0.0.1");
    REQUIRE(a);
    REQUIRE(b);
    Collector cb;
    b->set_receiver(&cb);
    const Bytes big = pattern(65000, 5);
    REQUIRE(a->send(at("127.0.0.1", b->local_port()), big) == SendResult::kSent);
    run_until_count(*loop, cb, 1);
    REQUIRE(cb.got.size() == 1);
    CHECK(cb.got[0].data == big);
    // 65535 bytes exceed the IPv4 UDP payload limit (65507): EMSGSIZE, counted, not fatal.
    CHECK(a->send(at("127.0.0.1", b->local_port()), pattern(65535, 1)) == SendResult::kDropped);
    CHECK(a->stats().tx_drop_too_big == 1);
    CHECK(a->stats().last_tx_errno == EMSGSIZE);
    CHECK(a->send(at("127.0.0.1", b->local_port()), pattern(70000, 1)) == SendResult::kDropped);
    CHECK(a->stats().tx_drop_too_big == 2);
}

TEST_CASE("binding a port that is in use fails with kAlreadyExists") {
    auto loop = make_loop();
    auto a = open_at(*loop, "127.0.0.1");
    REQUIRE(a);
    UdpTransport::Options o;
    o.bind_address = IpAddress::parse("127.0.0.1");
    o.port = a->local_port();
    auto b = UdpTransport::open(*loop, o);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == Errc::kAlreadyExists);
    CHECK(b.error().message.find("in use") != std::string::npos);
}

TEST_CASE("datagrams are read and discarded while no receiver is set") {
    auto loop = make_loop();
    auto a = open_at(*loop, "127.0.0.1");
    auto b = open_at(*loop, "127.0.0.1");
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->send(at("127.0.0.1", b->local_port()), pattern(8, 1)) == SendResult::kSent);
    for (int i = 0; i < 50 && b->stats().rx_datagrams == 0; ++i) {
        REQUIRE(loop->run_once(std::chrono::seconds(1)));
    }
    CHECK(b->stats().rx_datagrams == 1);
}

TEST_CASE("port_available reflects a bound wildcard port") {
    auto loop = make_loop();
    auto t = UdpTransport::open(*loop, {});
    REQUIRE(t);
    CHECK_FALSE(UdpTransport::port_available((*t)->local_port()));
    const std::uint16_t port = (*t)->local_port();
    t->reset();
    CHECK(UdpTransport::port_available(port));
}
