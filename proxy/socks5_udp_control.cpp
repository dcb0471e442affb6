#include "proxy/socks5_udp_control.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>

#include "proxy/socks5_codec.hpp"
#include "transports/socket_address.hpp"

namespace tunless::proxy {
namespace {

// The reply is at most 22 bytes for an IP BND: a fresh connection's send buffer always takes
// it whole, so a short write means the client is gone.
bool send_reply(int fd, ByteView reply) {
    const ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == static_cast<ssize_t>(reply.size());
}

}  // namespace

Socks5UdpControl::~Socks5UdpControl() { shutdown(); }

void Socks5UdpControl::on_udp_associate(UdpAssociateRequest request) {
    const int fd = request.control.get();
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    std::optional<Endpoint> local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        local = io::from_socket_address(reinterpret_cast<sockaddr*>(&ss), len);
    }
    if (!local) {
        (void)send_reply(fd, socks5::build_failure_reply(socks5::Reply::kGeneralFailure).view());
        return;  // `request.control` closes the connection
    }
    auto assoc = relay_.associate(request.client, *local, request.requested);
    if (!assoc) {
        (void)send_reply(
            fd, socks5::build_failure_reply(reply_for_associate_error(assoc.error())).view());
        return;
    }
    const Endpoint bound = (*assoc)->bound();
    if (!send_reply(fd, socks5::build_reply(socks5::Reply::kSucceeded,
                                            Target::from_ip(bound.ip, bound.port))
                            .view())) {
        return;
    }
    if (!loop_.add_fd(fd, io::kRead, *this)) return;
    sessions_.emplace(fd, Session{std::move(request.control), std::move(*assoc)});
}

void Socks5UdpControl::on_fd_ready(int fd, std::uint32_t events) {
    auto it = sessions_.find(fd);
    if (it == sessions_.end()) return;
    bool closed = (events & (io::kError | io::kHangup)) != 0;
    if (!closed && (events & io::kRead)) {
        std::array<std::uint8_t, 512> sink;
        const ssize_t n = ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT);
        closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    if (!closed) return;
    loop_.remove_fd(fd);
    sessions_.erase(it);  // ends the association (RFC 1928 §7), then closes the connection
}

void Socks5UdpControl::shutdown() {
    for (auto& [fd, s] : sessions_) loop_.remove_fd(fd);
    sessions_.clear();
}

}  // namespace tunless::proxy
