// UdpTransport::rebind (`wg set listen-port`, reload): moves to the new port, frees the old
// one, keeps the old port when the new one is taken, and is a no-op for the same port.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transports/udp_transport.hpp"

using namespace tunless;
using namespace tunless::io;

namespace {

// Binds a UDP socket to an ephemeral port (dual-stack like the transport) and returns it.
int bound_socket(std::uint16_t& port) {
    const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin6_port);
    return fd;
}

struct Counter final : DatagramReceiver {
    int received = 0;
    void on_datagram(const Endpoint&, ByteView) override { ++received; }
};

void send_to_port(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == 1);
    ::close(fd);
}

}  // namespace

TEST_CASE("rebind moves the transport and frees the old port") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    auto udp = UdpTransport::open(**loop, UdpTransport::Options{});
    REQUIRE(udp);
    const std::uint16_t first = (*udp)->local_port();
    REQUIRE((*udp)->rebind(0));
    const std::uint16_t second = (*udp)->local_port();
    CHECK(second != 0);
    CHECK(second != first);
    CHECK(UdpTransport::port_available(first));
    CHECK_FALSE(UdpTransport::port_available(second));
    REQUIRE((*udp)->rebind(second));  // same port: nothing to do
    CHECK((*udp)->local_port() == second);
    // Datagrams to the new port reach the receiver through the loop.
    Counter counter;
    (*udp)->set_receiver(&counter);
    send_to_port(second);
    for (int i = 0; i < 10 && counter.received == 0; ++i) {
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(20)));
    }
    CHECK(counter.received == 1);
    (*udp)->set_receiver(nullptr);
}

TEST_CASE("rebind to a taken port fails and keeps the old port") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    auto udp = UdpTransport::open(**loop, UdpTransport::Options{});
    REQUIRE(udp);
    const std::uint16_t before = (*udp)->local_port();
    std::uint16_t taken = 0;
    const int fd = bound_socket(taken);
    Status st = (*udp)->rebind(taken);
    ::close(fd);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kAlreadyExists);
    CHECK((*udp)->local_port() == before);
    CHECK_FALSE(UdpTransport::port_available(before));
}
