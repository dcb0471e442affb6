// UdpTransport: the DatagramTransport over non-blocking UDP sockets, registered with the
// EventLoop. One dual-stack AF_INET6 socket (IPV6_V6ONLY=0) when the kernel has IPv6, else an
// AF_INET socket; if dual-stack is refused, separate v6-only and v4 sockets on the same port.
// Receives with recvmmsg and sends with sendmmsg (recvmsg/sendmsg when the kernel lacks them).
// Where the kernel has them (udp(7)), equal-size runs to one endpoint leave as one UDP_SEGMENT
// (GSO) send and UDP_GRO buffers are split back into datagrams: fewer kernel passes per byte.
// Send policy: a full socket buffer (EAGAIN) drops the datagram and counts it; nothing is
// queued in userspace (WireGuard tolerates loss; handshakes and inner TCP retransmit).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/result.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

class UdpTransport final : public DatagramTransport, private FdHandler {
public:
    struct Options {
        std::uint16_t port = 0;                 // 0: the kernel picks; see local_port()
        std::optional<IpAddress> bind_address;  // default: wildcard (all addresses, v4+v6)
        bool allow_ipv6 = true;                 // false: one AF_INET socket only
        // Receive buffers are recv_batch * kMaxDatagramSize bytes (8 -> 512 KiB), allocated
        // once at open. A wakeup reads at most max_batches_per_wakeup batches (fairness with
        // other fds; the socket stays readable and is served next round).
        std::size_t recv_batch = 8;
        std::size_t max_batches_per_wakeup = 4;
        int socket_buffer_bytes = 0;         // SO_RCVBUF/SO_SNDBUF hint; 0 = kernel default
        bool force_single_syscalls = false;  // tests: exercise the recvmsg/sendmsg fallback
        // UDP_SEGMENT (Linux >= 4.18) and UDP_GRO (>= 5.0): probed per socket, off where the
        // kernel refuses them; GSO also turns itself off for good when a send fails with
        // EIO/EINVAL/EMSGSIZE (segment above the route MTU, no checksum offload, IPsec).
        bool udp_gso = true;
        bool udp_gro = true;
    };

    // Opens, binds and registers the socket(s) for kRead with `loop`, which must outlive the
    // transport. Fails (kIo, message with strerror) when no socket can be bound, e.g. the
    // port is in use.
    static Result<std::unique_ptr<UdpTransport>> open(EventLoop& loop, const Options& options);
    ~UdpTransport() override;  // unregisters from the loop and closes

    void set_receiver(DatagramReceiver* receiver) override { receiver_ = receiver; }
    SendResult send(const Endpoint& to, ByteView data) override;
    std::size_t send_batch(std::span<const OutDatagram> batch) override;
    std::uint16_t local_port() const override { return port_; }
    const TransportStats& stats() const override { return stats_; }

    bool has_ipv4() const;
    bool has_ipv6() const;
    // Whether sends / receives currently use segmentation offload (probe result and options).
    bool has_gso() const;
    bool has_gro() const;

    // Moves to another port at runtime (`wg set listen-port`, config reload): binds the new
    // socket(s) first and only then closes the old ones, so a failure (kAlreadyExists when the
    // port is taken) leaves the transport on its old port. Same port as now: no-op; 0: random.
    Status rebind(std::uint16_t port);

    // Whether a wildcard UDP bind to `port` would succeed right now (binds and closes a probe
    // socket; v6 dual-stack when available). Used to pick a default ListenPort.
    static bool port_available(std::uint16_t port);

private:
    struct Socket {
        UniqueFd fd;
        int family = AF_UNSPEC;
        bool v6_only = false;
        bool gso = false;  // UDP_SEGMENT accepted by this socket
        bool gro = false;  // UDP_GRO enabled on this socket
    };
    struct RecvState;  // recvmmsg arrays and buffers (udp_batches.hpp)
    struct TxBatch;    // sendmmsg arrays for one group (udp_batches.hpp)

    UdpTransport(EventLoop& loop, const Options& options);
    Status open_sockets();
    Status open_one(int family, std::uint16_t port, std::optional<bool> v6_only,
                    const std::optional<IpAddress>& bind_address);
    void on_fd_ready(int fd, std::uint32_t events) override;
    void receive_from(int fd);
    std::size_t receive_batch(int fd, std::size_t want);
    void enable_offloads(Socket& s) const;
    void deliver(std::size_t slot, std::size_t length, int flags);
    void deliver_one(const Endpoint& from, ByteView data);
    const Socket* socket_for(const Endpoint& to) const;
    std::size_t send_group(const Socket& s, std::span<const OutDatagram> batch);
    std::size_t transmit(const Socket& s, TxBatch& tx);
    std::size_t retry_unsegmented(const Socket& s, const TxBatch& tx, std::size_t from);
    void count_send_error(int err, std::size_t datagrams);

    EventLoop& loop_;
    Options options_;
    std::vector<Socket> sockets_;
    std::uint16_t port_ = 0;
    DatagramReceiver* receiver_ = nullptr;
    std::unique_ptr<RecvState> rx_;
    bool use_mmsg_ = true;
    bool gso_failed_ = false;  // a GSO send was refused: never segment again
    TransportStats stats_;
};

}  // namespace tunless::io
