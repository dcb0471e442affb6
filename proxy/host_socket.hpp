// Non-blocking host TCP sockets on the EventLoop: a listener for local clients (SOCKS5, HTTP
// proxy, outbound forwards) and the connect step of inbound forwards (mesh -> local target).
// Only loopback/LAN sockets of this host live here; mesh connections are net::TcpConnection.
// Used by the proxy servers and forwards; not a general socket library.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::proxy {

// Listens on a host address and hands every accepted (non-blocking, TCP_NODELAY) socket to
// `on_accept` with the client's address. Pinned: it is the loop's FdHandler.
class HostListener final : public io::FdHandler {
public:
    using AcceptFn = std::function<void(io::UniqueFd fd, const Endpoint& client)>;

    // `bind` is an IP and port (kind ignored); port 0 picks a free port (see local()).
    // `loop` must outlive the listener. Errors: kIo with the errno text (address in use...).
    static Result<std::unique_ptr<HostListener>> open(io::EventLoop& loop, const Endpoint& bind,
                                                      AcceptFn on_accept);
    ~HostListener() override;
    HostListener(const HostListener&) = delete;
    HostListener& operator=(const HostListener&) = delete;

    const Endpoint& local() const { return local_; }
    void on_fd_ready(int fd, std::uint32_t events) override;

private:
    HostListener(io::EventLoop& loop, io::UniqueFd fd, const Endpoint& local, AcceptFn on_accept);
    void pause_accepting();

    io::EventLoop& loop_;
    io::UniqueFd fd_;
    Endpoint local_;
    AcceptFn on_accept_;
    io::TimerId resume_timer_ = io::kNoTimer;
};

// Starts a non-blocking connect to ip:port. The socket is returned while the connect is in
// progress: wait for io::kWrite, then call connect_result(). Errors: kRefused/kUnreachable/kIo.
Result<io::UniqueFd> start_connect(const IpAddress& ip, std::uint16_t port);
// SO_ERROR of a socket whose non-blocking connect finished (after io::kWrite/kError).
Status connect_result(int fd);
// Closes with RST (SO_LINGER 0): tells a local client its connection failed or was reset.
void close_with_reset(io::UniqueFd fd);
// Sends all of `data` on a fresh socket or fails: used for short protocol replies, which always
// fit an empty socket buffer. MSG_NOSIGNAL.
bool send_all_small(int fd, ByteView data);
std::optional<Endpoint> local_endpoint_of(int fd);

}  // namespace tunless::proxy
