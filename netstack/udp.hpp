// UDP over the mesh: UdpSocket, a pinned RAII wrapper over one lwIP udp_pcb bound on every node
// address (IPv4 and IPv6). Datagrams arrive through UdpHandler on the loop thread; send_to()
// transmits synchronously through the Stack's egress. Not a flow table: proxy/ builds UDP
// forwards (flows, idle timeouts, caps) on top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"

struct udp_pcb;

namespace tunless::net {

class Stack;
class UdpSocket;

struct UdpDatagramInfo {
    IpAddress src_ip;  // the mesh peer
    std::uint16_t src_port = 0;
    IpAddress dst_ip;  // which of our node addresses it was sent to
    std::uint16_t dst_port = 0;
};

class UdpHandler {
public:
    virtual ~UdpHandler() = default;
    // One datagram (reassembled if it came fragmented). `payload` is valid only during the
    // call. Runs inside lwIP on the loop thread: may call send_to()/close() on any socket, must
    // not destroy `socket` (checked) nor call Stack::inject()/on_timer() (checked).
    virtual void on_datagram(UdpSocket& socket, const UdpDatagramInfo& info, ByteView payload) = 0;
};

class UdpSocket {
public:
    // Largest payload send_to() accepts (65535 - IPv6 header - UDP header); above the MTU
    // lwIP fragments.
    static constexpr std::size_t kMaxPayload = 65535 - 40 - 8;

    // Binds `port` (0: lwIP picks a free one, see port()) on all node addresses.
    // Errors: kAlreadyExists (port bound), kLimitReached (memory). `stack` and `handler` must
    // outlive the socket.
    static Result<std::unique_ptr<UdpSocket>> bind(Stack& stack, std::uint16_t port,
                                                    UdpHandler& handler);
    // Never from inside this socket's own on_datagram (checked).
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;  // pinned: its address is the recv argument
    UdpSocket& operator=(const UdpSocket&) = delete;

    // Sends one datagram to dst:port from our node address of dst's family (or from `src`,
    // which must be one of our node addresses of the same family). The payload is handed to
    // lwIP by reference and copied once, at the egress. Errors: kClosed, kInvalidArgument
    // (size, src), kUnreachable (no node address of that family), kLimitReached (memory).
    Status send_to(const IpAddress& dst, std::uint16_t port, ByteView payload);
    Status send_to(const IpAddress& dst, std::uint16_t port, ByteView payload,
                   const IpAddress& src);
    // Stops receiving and frees the pcb; idempotent. send_to() then fails with kClosed.
    void close();

    std::uint16_t port() const { return port_; }
    std::uint64_t datagrams_received() const { return received_; }
    std::uint64_t datagrams_sent() const { return sent_; }

private:
    friend struct UdpCallbacks;
    UdpSocket(Stack& stack, struct udp_pcb* pcb, UdpHandler& handler);
    Status send(const IpAddress& dst, std::uint16_t port, ByteView payload, const IpAddress* src);

    Stack& stack_;
    struct udp_pcb* pcb_;
    UdpHandler& handler_;
    std::uint16_t port_;
    std::uint64_t received_ = 0;
    std::uint64_t sent_ = 0;
    bool in_callback_ = false;
};

}  // namespace tunless::net
