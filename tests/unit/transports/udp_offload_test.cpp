// UdpTransport's segmentation offload over loopback: UDP_SEGMENT runs checked against a plain
// receiving socket (the kernel splits them; the datagrams must come out as sent, in order),
// UDP_GRO buffers split back into datagrams, the option switches, and the fallback when the
// kernel refuses a segmented send. Loopback only.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "tests/unit/transports/transport_test_support.hpp"
#include "transports/event_loop.hpp"
#include "transports/socket_address.hpp"
#include "transports/udp_transport.hpp"

using namespace tunless;
using namespace tunless::io;
using namespace tunless::io::test;

namespace {

struct Collector final : DatagramReceiver {
    void on_datagram(const Endpoint& from, ByteView data) override {
        froms.push_back(from);
        got.emplace_back(data.begin(), data.end());
    }
    std::vector<Endpoint> froms;
    std::vector<Bytes> got;
};

UdpTransport::Options options_at(const char* addr) {
    UdpTransport::Options o;
    o.bind_address = IpAddress::parse(addr);
    o.socket_buffer_bytes = 1 << 20;  // whole bursts queue up before the loop reads them
    return o;
}

std::unique_ptr<UdpTransport> open_with(EventLoop& loop, const UdpTransport::Options& o) {
    auto t = UdpTransport::open(loop, o);
    REQUIRE(t);
    return std::move(*t);
}

// A plain (no GRO) receiving socket: the kernel hands it one datagram per read.
struct PlainSocket {
    UniqueFd fd;
    std::uint16_t port = 0;
};

PlainSocket plain_socket(const char* addr) {
    const Endpoint ep = at(addr, 0);
    const int family = ep.ip.is_v4() ? AF_INET : AF_INET6;
    PlainSocket p{UniqueFd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)), 0};
    REQUIRE(p.fd);
    const int size = 1 << 20;
    if (::setsockopt(p.fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
        ::setsockopt(p.fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    auto sa = to_socket_address(ep, family);
    REQUIRE(sa);
    REQUIRE(::bind(p.fd.get(), sa->get(), sa->length) == 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    REQUIRE(::getsockname(p.fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    p.port = from_socket_address(reinterpret_cast<sockaddr*>(&bound), len)->port;
    return p;
}

// Reads until `n` datagrams arrived or nothing came for a second.
std::vector<Bytes> read_plain(const PlainSocket& p, std::size_t n) {
    std::vector<Bytes> out;
    std::vector<std::uint8_t> buf(kMaxDatagramSize);
    while (out.size() < n) {
        pollfd pfd{p.fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 1000) <= 0) {
            break;
        }
        const ssize_t r = ::recv(p.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (r >= 0) {
            out.emplace_back(buf.begin(), buf.begin() + r);
        }
    }
    return out;
}

void run_until_count(EventLoop& loop, const Collector& c, std::size_t n) {
    for (int i = 0; i < 50 && c.got.size() < n; ++i) {
        REQUIRE(loop.run_once(std::chrono::seconds(1)));
    }
}

// `sizes` datagrams to `to`, each with its own content.
struct Burst {
    std::vector<Bytes> payloads;
    std::vector<OutDatagram> out;
};

Burst burst(const Endpoint& to, const std::vector<std::size_t>& sizes, std::uint8_t seed = 0) {
    Burst b;
    b.payloads.reserve(sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        b.payloads.push_back(pattern(sizes[i], static_cast<std::uint8_t>(seed + i)));
    }
    for (const Bytes& p : b.payloads) {
        b.out.push_back({to, p});
    }
    return b;
}

std::vector<std::size_t> sizes(std::size_t count, std::size_t size, std::size_t last = 0) {
    std::vector<std::size_t> v(count, size);
    if (last != 0) {
        v.push_back(last);
    }
    return v;
}

// The fd of the UDP socket bound to `port` (the transport does not expose its sockets).
int find_udp_fd(std::uint16_t port) {
    for (int fd = 0; fd < 1024; ++fd) {
        int type = 0;
        socklen_t tlen = sizeof type;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_DGRAM &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
            auto ep = from_socket_address(reinterpret_cast<sockaddr*>(&ss), len);
            if (ep && ep->port == port) {
                return fd;
            }
        }
    }
    return -1;
}

}  // namespace

TEST_CASE("GSO: a run of equal-size datagrams reaches a plain socket as the same datagrams") {
    auto loop = make_loop();
    auto a = open_with(*loop, options_at("127.0.0.1"));
    const PlainSocket p = plain_socket("127.0.0.1");
    REQUIRE(a->has_gso());  // Linux >= 4.18
    const Burst b = burst(at("127.0.0.1", p.port), sizes(40, 1200, 300));
    CHECK(a->send_batch(b.out) == 41);
    CHECK(a->stats().tx_gso_sends == 1);
    CHECK(a->stats().tx_gso_segments == 41);
    CHECK(a->stats().tx_datagrams == 41);
    CHECK(a->stats().tx_bytes == 40 * 1200 + 300);
    CHECK(a->stats().tx_gso_failed == 0);
    CHECK(read_plain(p, 41) == b.payloads);
}

TEST_CASE("GSO: one send holds at most 64 segments and 65507 bytes") {
    auto loop = make_loop();
    auto a = open_with(*loop, options_at("127.0.0.1"));
    const PlainSocket p = plain_socket("127.0.0.1");
    SUBCASE("64 segments of 1000 bytes: one send") {
        const Burst b = burst(at("127.0.0.1", p.port), sizes(64, 1000));
        CHECK(a->send_batch(b.out) == 64);
        CHECK(a->stats().tx_gso_sends == 1);
        CHECK(a->stats().tx_gso_segments == 64);
        CHECK(read_plain(p, 64) == b.payloads);
    }
    SUBCASE("46 x 1452 bytes: 45 fit in 65507 bytes, the 46th goes alone") {
        const Burst b = burst(at("127.0.0.1", p.port), sizes(46, 1452));
        CHECK(a->send_batch(b.out) == 46);
        CHECK(a->stats().tx_gso_sends == 1);
        CHECK(a->stats().tx_gso_segments == 45);
        CHECK(a->stats().tx_drop_too_big == 0);
        CHECK(read_plain(p, 46) == b.payloads);
    }
    SUBCASE("100 small datagrams: split at 64") {
        const Burst b = burst(at("127.0.0.1", p.port), sizes(100, 100));
        CHECK(a->send_batch(b.out) == 100);
        CHECK(a->stats().tx_gso_sends == 2);
        CHECK(a->stats().tx_gso_segments == 100);
        CHECK(read_plain(p, 100) == b.payloads);
    }
}

TEST_CASE("GSO: mixed sizes and endpoints coalesce only equal-size runs to one endpoint") {
    auto loop = make_loop();
    auto a = open_with(*loop, options_at("127.0.0.1"));
    const PlainSocket p = plain_socket("127.0.0.1");
    const PlainSocket q = plain_socket("127.0.0.1");
    const Endpoint to_p = at("127.0.0.1", p.port);
    const Endpoint to_q = at("127.0.0.1", q.port);
    // (endpoint, size) in send order. Expected sends: [p100 x3] [q100 x2] [p100 p50] (a
    // shorter datagram ends a run) [p100] [p200] (larger than the run's size) [q10].
    const std::vector<std::pair<const Endpoint*, std::size_t>> plan = {
        {&to_p, 100}, {&to_p, 100}, {&to_p, 100}, {&to_q, 100}, {&to_q, 100}, {&to_p, 100},
        {&to_p, 50},  {&to_p, 100}, {&to_p, 200}, {&to_q, 10}};
    std::vector<Bytes> payloads;
    std::vector<OutDatagram> out;
    std::vector<Bytes> want_p, want_q;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        payloads.push_back(pattern(plan[i].second, static_cast<std::uint8_t>(i * 13)));
    }
    for (std::size_t i = 0; i < plan.size(); ++i) {
        out.push_back({*plan[i].first, payloads[i]});
        (plan[i].first == &to_p ? want_p : want_q).push_back(payloads[i]);
    }
    CHECK(a->send_batch(out) == plan.size());
    CHECK(a->stats().tx_gso_sends == 3);
    CHECK(a->stats().tx_gso_segments == 7);
    CHECK(a->stats().tx_datagrams == plan.size());
    CHECK(read_plain(p, want_p.size()) == want_p);
    CHECK(read_plain(q, want_q.size()) == want_q);
}

TEST_CASE("GSO through a dual-stack socket: IPv4-mapped and IPv6 destinations") {
    auto loop = make_loop();
    UdpTransport::Options o;
    o.socket_buffer_bytes = 1 << 20;
    auto a = open_with(*loop, o);  // wildcard: dual-stack AF_INET6 where the kernel has IPv6
    REQUIRE(a->has_gso());
    const PlainSocket p4 = plain_socket("127.0.0.1");
    const Burst b4 = burst(at("127.0.0.1", p4.port), sizes(20, 1000, 10), 1);
    CHECK(a->send_batch(b4.out) == 21);
    CHECK(a->stats().tx_gso_failed == 0);
    CHECK(a->stats().tx_gso_segments == 21);
    CHECK(read_plain(p4, 21) == b4.payloads);
    if (!a->has_ipv6()) {
        MESSAGE("no IPv6: the IPv6 half is skipped");
        return;
    }
    const PlainSocket p6 = plain_socket("::1");
    const Burst b6 = burst(at("::1", p6.port), sizes(20, 1000, 999), 2);
    CHECK(a->send_batch(b6.out) == 21);
    CHECK(a->stats().tx_gso_sends == 2);
    CHECK(read_plain(p6, 21) == b6.payloads);
}

TEST_CASE("GRO: a segmented burst arrives in one buffer and is delivered as datagrams") {
    auto loop = make_loop();
    auto sender = open_with(*loop, options_at("127.0.0.1"));
    auto receiver = open_with(*loop, options_at("127.0.0.1"));
    REQUIRE(receiver->has_gro());  // Linux >= 5.0
    Collector c;
    receiver->set_receiver(&c);
    const Burst b = burst(at("127.0.0.1", receiver->local_port()), sizes(30, 1000, 500), 3);
    REQUIRE(sender->send_batch(b.out) == 31);
    REQUIRE(sender->stats().tx_gso_sends == 1);
    run_until_count(*loop, c, 31);
    CHECK(c.got == b.payloads);
    for (const Endpoint& from : c.froms) {
        CHECK(from == at("127.0.0.1", sender->local_port()));
    }
    // Loopback keeps the GSO packet whole for a GRO socket (it is never segmented).
    CHECK(receiver->stats().rx_gro_batches == 1);
    CHECK(receiver->stats().rx_gro_segments == 31);
    CHECK(receiver->stats().rx_datagrams == 31);
    CHECK(receiver->stats().rx_bytes == 30 * 1000 + 500);
    CHECK(receiver->stats().rx_drop_truncated == 0);
    // A lone datagram afterwards is an ordinary receive.
    REQUIRE(sender->send(at("127.0.0.1", receiver->local_port()), pattern(77, 9)) ==
            SendResult::kSent);
    run_until_count(*loop, c, 32);
    REQUIRE(c.got.size() == 32);
    CHECK(c.got[31] == pattern(77, 9));
    CHECK(receiver->stats().rx_gro_batches == 1);
}

TEST_CASE("GRO with recvmsg: a 46-segment send of 65341 bytes fits one receive buffer") {
    auto loop = make_loop();
    auto sender = open_with(*loop, options_at("127.0.0.1"));
    UdpTransport::Options o = options_at("127.0.0.1");
    o.force_single_syscalls = true;
    auto receiver = open_with(*loop, o);
    Collector c;
    receiver->set_receiver(&c);
    const Burst b = burst(at("127.0.0.1", receiver->local_port()), sizes(45, 1452, 1), 4);
    REQUIRE(sender->send_batch(b.out) == 46);
    run_until_count(*loop, c, 46);
    CHECK(c.got == b.payloads);
    CHECK(receiver->stats().rx_gro_segments == 46);
    CHECK(receiver->stats().rx_drop_truncated == 0);
}

void offload_off_roundtrip(bool single_syscalls) {
    auto loop = make_loop();
    UdpTransport::Options o = options_at("127.0.0.1");
    o.udp_gso = false;
    o.udp_gro = false;
    o.force_single_syscalls = single_syscalls;
    auto a = open_with(*loop, o);
    auto b = open_with(*loop, o);
    CHECK_FALSE(a->has_gso());
    CHECK_FALSE(b->has_gro());
    Collector c;
    b->set_receiver(&c);
    const Burst out = burst(at("127.0.0.1", b->local_port()), sizes(30, 1000, 500), 5);
    CHECK(a->send_batch(out.out) == 31);
    run_until_count(*loop, c, 31);
    CHECK(c.got == out.payloads);
    CHECK(a->stats().tx_gso_sends == 0);
    CHECK(a->stats().tx_datagrams == 31);
    CHECK(b->stats().rx_gro_batches == 0);
    CHECK(b->stats().rx_datagrams == 31);
}

TEST_CASE("offload switched off: plain sendmmsg/recvmmsg") {
    offload_off_roundtrip(false);
}
TEST_CASE("offload switched off: plain sendmsg/recvmsg") {
    offload_off_roundtrip(true);
}

TEST_CASE("a GSO sender and a receiver with GRO off: the kernel splits, datagrams arrive whole") {
    auto loop = make_loop();
    auto a = open_with(*loop, options_at("127.0.0.1"));
    UdpTransport::Options o = options_at("127.0.0.1");
    o.udp_gro = false;
    auto b = open_with(*loop, o);
    Collector c;
    b->set_receiver(&c);
    const Burst out = burst(at("127.0.0.1", b->local_port()), sizes(30, 1000, 500), 6);
    CHECK(a->send_batch(out.out) == 31);
    CHECK(a->stats().tx_gso_sends == 1);
    run_until_count(*loop, c, 31);
    CHECK(c.got == out.payloads);
    CHECK(b->stats().rx_gro_batches == 0);
}

void refused_gso(bool single_syscalls) {
    auto loop = make_loop();
    UdpTransport::Options o = options_at("127.0.0.1");
    o.force_single_syscalls = single_syscalls;
    auto a = open_with(*loop, o);
    REQUIRE(a->has_gso());
    // SO_NO_CHECK: the kernel refuses UDP_SEGMENT with EINVAL (it needs the checksum), as it
    // does for a segment above the route MTU; plain sends still work.
    const int fd = find_udp_fd(a->local_port());
    REQUIRE(fd >= 0);
    const int on = 1;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0);
    const PlainSocket p = plain_socket("127.0.0.1");
    const Burst first = burst(at("127.0.0.1", p.port), sizes(10, 500, 20), 7);
    CHECK(a->send_batch(first.out) == 11);
    CHECK(a->stats().tx_gso_failed == 1);
    CHECK(a->stats().last_tx_errno == EINVAL);
    CHECK_FALSE(a->has_gso());
    CHECK(a->stats().tx_gso_sends == 0);
    CHECK(a->stats().tx_datagrams == 11);
    CHECK(a->stats().tx_drop_other == 0);
    CHECK(read_plain(p, 11) == first.payloads);
    // From now on runs go out one datagram per message, without another refusal.
    const Burst second = burst(at("127.0.0.1", p.port), sizes(5, 500), 8);
    CHECK(a->send_batch(second.out) == 5);
    CHECK(a->stats().tx_gso_failed == 1);
    CHECK(a->stats().tx_gso_sends == 0);
    CHECK(read_plain(p, 5) == second.payloads);
}

TEST_CASE("a refused GSO send turns GSO off and still sends the datagrams (sendmmsg)") {
    refused_gso(false);
}
TEST_CASE("a refused GSO send turns GSO off and still sends the datagrams (sendmsg)") {
    refused_gso(true);
}
