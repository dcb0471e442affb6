// HostUdpSocket: one non-blocking UDP socket on the host network, registered with the event
// loop for reading. Used by the UDP forwards (the local side) and the SOCKS5 UDP relay. Not
// the WireGuard transport (transports/udp_transport) and not a flow table. A full kernel send
// buffer drops the datagram (UDP semantics); the caller counts it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::proxy {

class HostUdpSocket final : public io::FdHandler {
public:
    // Called for every datagram read. Must not destroy the socket it was called for.
    using Receive = std::function<void(const Endpoint& from, ByteView payload)>;
    static constexpr int kMaxReadsPerWakeup = 32;  // fairness with the other fds

    // Binds `local` (an IPv4 or IPv6 address; port 0 lets the kernel pick). `loop` must outlive
    // the socket. Errors: kIo (socket/bind failed, message has strerror).
    static Result<std::unique_ptr<HostUdpSocket>> open(io::EventLoop& loop, const Endpoint& local,
                                                       Receive on_receive);
    ~HostUdpSocket() override;
    HostUdpSocket(const HostUdpSocket&) = delete;
    HostUdpSocket& operator=(const HostUdpSocket&) = delete;

    // Errors: kInvalidArgument (family mismatch), kLimitReached (EAGAIN/ENOBUFS), kIo.
    Status send_to(const Endpoint& dst, ByteView payload);
    // The bound address with the port the kernel chose.
    const Endpoint& local() const { return local_; }

    void on_fd_ready(int fd, std::uint32_t events) override;

private:
    HostUdpSocket(io::EventLoop& loop, io::UniqueFd fd, Endpoint local, Receive on_receive);

    io::EventLoop& loop_;
    io::UniqueFd fd_;
    int family_;
    Endpoint local_;
    Receive on_receive_;
};

}  // namespace tunless::proxy
