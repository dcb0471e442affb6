#include "proxy/host_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "proxy/limits.hpp"
#include "tools/log/log.hpp"
#include "transports/socket_address.hpp"

namespace tunless::proxy {
namespace {

Unexpected errno_failure(const char* what, int err) {
    const Errc code = err == ECONNREFUSED                        ? Errc::kRefused
                      : (err == ENETUNREACH || err == EHOSTUNREACH) ? Errc::kUnreachable
                      : err == ETIMEDOUT                           ? Errc::kTimedOut
                                                                   : Errc::kIo;
    return fail(code, std::string(what) + ": " + std::strerror(err));
}

void set_nodelay(int fd) {
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::optional<io::SocketAddress> address_for(const IpAddress& ip, std::uint16_t port) {
    return io::to_socket_address(Endpoint::udp(ip, port), ip.is_v4() ? AF_INET : AF_INET6);
}

}  // namespace

Result<std::unique_ptr<HostListener>> HostListener::open(io::EventLoop& loop, const Endpoint& bind,
                                                         AcceptFn on_accept) {
    auto addr = address_for(bind.ip, bind.port);
    if (!addr) {
        return fail(Errc::kInvalidArgument, "listen: bad address " + bind.to_string());
    }
    io::UniqueFd fd(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return errno_failure("listen: socket", errno);
    }
    int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr->family() == AF_INET6) {
        (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (::bind(fd.get(), addr->get(), addr->length) != 0) {
        return errno_failure(("listen: bind " + bind.to_string()).c_str(), errno);
    }
    if (::listen(fd.get(), kListenBacklog) != 0) {
        return errno_failure("listen", errno);
    }
    auto local = local_endpoint_of(fd.get());
    if (!local) {
        return fail(Errc::kIo, "listen: getsockname failed");
    }
    std::unique_ptr<HostListener> l(
        new HostListener(loop, std::move(fd), *local, std::move(on_accept)));
    if (auto st = loop.add_fd(l->fd_.get(), io::kRead, *l); !st) {
        return st.error();
    }
    return l;
}

HostListener::HostListener(io::EventLoop& loop, io::UniqueFd fd, const Endpoint& local,
                           AcceptFn on_accept)
    : loop_(loop), fd_(std::move(fd)), local_(local), on_accept_(std::move(on_accept)) {}

HostListener::~HostListener() {
    if (resume_timer_ != io::kNoTimer) {
        loop_.cancel_timer(resume_timer_);
    }
    loop_.remove_fd(fd_.get());
}

void HostListener::on_fd_ready(int fd, std::uint32_t events) {
    (void)events;
    for (std::size_t i = 0; i < kMaxAcceptsPerEvent; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len,
                                SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            const int err = errno;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO) {
                continue;
            }
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                log::warn("listener {}: accept failed ({}), pausing {} ms", local_.to_string(),
                          std::strerror(err),
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              kAcceptPauseOnExhaustion)
                              .count());
                pause_accepting();
            }
            return;  // EAGAIN: drained
        }
        io::UniqueFd client(c);
        set_nodelay(c);
        auto peer = io::from_socket_address(reinterpret_cast<const sockaddr*>(&ss), len);
        on_accept_(std::move(client), peer.value_or(Endpoint{}));
    }
}

void HostListener::pause_accepting() {
    (void)loop_.modify_fd(fd_.get(), 0);
    resume_timer_ = loop_.add_timer(kAcceptPauseOnExhaustion, [this] {
        resume_timer_ = io::kNoTimer;
        (void)loop_.modify_fd(fd_.get(), io::kRead);
    });
}

Result<io::UniqueFd> start_connect(const IpAddress& ip, std::uint16_t port) {
    auto addr = address_for(ip, port);
    if (!addr) {
        return fail(Errc::kInvalidArgument, "connect: bad address");
    }
    io::UniqueFd fd(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return errno_failure("connect: socket", errno);
    }
    set_nodelay(fd.get());
    if (::connect(fd.get(), addr->get(), addr->length) != 0 && errno != EINPROGRESS) {
        return errno_failure("connect", errno);
    }
    return fd;
}

Status connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno_failure("connect: SO_ERROR", errno);
    }
    if (err != 0) {
        return errno_failure("connect", err);
    }
    return {};
}

void close_with_reset(io::UniqueFd fd) {
    if (!fd) {
        return;
    }
    linger lg{1, 0};
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

bool send_all_small(int fd, ByteView data) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == static_cast<ssize_t>(data.size());
}

std::optional<Endpoint> local_endpoint_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return std::nullopt;
    }
    return io::from_socket_address(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace tunless::proxy
