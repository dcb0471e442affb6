#include "proxy/udp_host_socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "transports/socket_address.hpp"

namespace tunless::proxy {
namespace {

Unexpected errno_fail(const char* what) {
    return fail(Errc::kIo, std::string(what) + ": " + std::strerror(errno));
}

// One receive buffer for all sockets: the loop is single-threaded and a datagram is handed to
// the callback before the next read.
std::array<std::uint8_t, 65536> g_rx_buffer;

}  // namespace

Result<std::unique_ptr<HostUdpSocket>> HostUdpSocket::open(io::EventLoop& loop,
                                                           const Endpoint& local,
                                                           Receive on_receive) {
    const int family = local.ip.is_v4() ? AF_INET : AF_INET6;
    io::UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_fail("socket");
    if (family == AF_INET6) {
        const int on = 1;  // an IPv6 bind address means IPv6 only; IPv4 has its own sockets
        (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    auto addr = io::to_socket_address(Endpoint::udp(local.ip, local.port), family);
    if (!addr) return fail(Errc::kInvalidArgument, "bad bind address " + local.to_string());
    if (::bind(fd.get(), addr->get(), addr->length) != 0) {
        return fail(Errc::kIo, "bind " + local.to_string() + ": " + std::strerror(errno));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return errno_fail("getsockname");
    }
    auto bound = io::from_socket_address(reinterpret_cast<sockaddr*>(&ss), len);
    if (!bound) return fail(Errc::kIo, "getsockname: unexpected family");
    const int raw = fd.get();
    std::unique_ptr<HostUdpSocket> s(
        new HostUdpSocket(loop, std::move(fd), *bound, std::move(on_receive)));
    if (auto st = loop.add_fd(raw, io::kRead, *s); !st) return st.error();
    return s;
}

HostUdpSocket::HostUdpSocket(io::EventLoop& loop, io::UniqueFd fd, Endpoint local,
                             Receive on_receive)
    : loop_(loop),
      fd_(std::move(fd)),
      family_(local.ip.is_v4() ? AF_INET : AF_INET6),
      local_(local),
      on_receive_(std::move(on_receive)) {}

HostUdpSocket::~HostUdpSocket() { loop_.remove_fd(fd_.get()); }

Status HostUdpSocket::send_to(const Endpoint& dst, ByteView payload) {
    auto addr = io::to_socket_address(Endpoint::udp(dst.ip, dst.port), family_);
    if (!addr) return fail(Errc::kInvalidArgument, "address family mismatch");
    const ssize_t n = ::sendto(fd_.get(), payload.data(), payload.size(), MSG_DONTWAIT, addr->get(),
                               addr->length);
    if (n >= 0) return {};
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        return fail(Errc::kLimitReached, "send buffer full");
    }
    return errno_fail("sendto");
}

void HostUdpSocket::on_fd_ready(int, std::uint32_t) {
    for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const ssize_t n = ::recvfrom(fd_.get(), g_rx_buffer.data(), g_rx_buffer.size(),
                                     MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
        if (n < 0) return;  // EAGAIN, or an ICMP error queued for an earlier send: nothing to do
        auto from = io::from_socket_address(reinterpret_cast<sockaddr*>(&ss), len);
        if (!from) continue;
        on_receive_(*from, ByteView(g_rx_buffer.data(), static_cast<std::size_t>(n)));
    }
}

}  // namespace tunless::proxy
