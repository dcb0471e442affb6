// DatagramTransport: how WireGuard datagrams leave and enter the process, independent of the
// path (UDP socket today; a relay later). The role of wireguard-go's conn.Bind: the wiring
// (app::Daemon) feeds received datagrams to wg::Device::on_datagram and hands the Device's
// SendDatagram outputs to send()/send_batch(). It is not a reliable channel: WireGuard
// tolerates loss, so any datagram that cannot be sent right now is dropped and counted.
// Implementations: UdpTransport (udp_transport.hpp), testing::MemoryTransport (tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"

namespace tunless::io {

// Largest datagram a transport delivers or accepts (the UDP payload limit).
inline constexpr std::size_t kMaxDatagramSize = 65535;

// Receives datagrams. All calls happen on the loop thread.
class DatagramReceiver {
public:
    virtual ~DatagramReceiver() = default;
    // One datagram from `from`. `data` is borrowed: valid only during the call (the
    // transport reuses its buffers), so copy anything kept. May call send() re-entrantly.
    virtual void on_datagram(const Endpoint& from, ByteView data) = 0;
    // After the last on_datagram of one readiness batch: a hook to flush work batched across
    // datagrams (e.g. send the Device's outbox with one send_batch).
    virtual void on_receive_batch_end() {}
};

// One datagram to send; `data` is borrowed for the duration of the call.
struct OutDatagram {
    Endpoint to;
    ByteView data;
};

enum class SendResult : std::uint8_t {
    kSent,     // handed to the kernel (or the fake network)
    kDropped,  // counted in TransportStats; never fatal
};

// Counters, monotonically increasing. Drops have one counter per reason.
struct TransportStats {
    std::uint64_t rx_datagrams = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_datagrams = 0;
    std::uint64_t tx_bytes = 0;
    std::uint64_t rx_drop_truncated = 0;    // larger than the receive buffer
    std::uint64_t rx_errors = 0;            // recv errors other than EAGAIN
    std::uint64_t tx_drop_would_block = 0;  // EAGAIN/ENOBUFS: socket buffer full
    std::uint64_t tx_drop_unreachable = 0;  // ENETUNREACH/EHOSTUNREACH/EADDRNOTAVAIL
    std::uint64_t tx_drop_refused = 0;      // EPERM/EACCES (firewall), ECONNREFUSED
    std::uint64_t tx_drop_no_path = 0;      // endpoint unset, relay kind, or family unavailable
    std::uint64_t tx_drop_too_big = 0;      // EMSGSIZE or > kMaxDatagramSize
    std::uint64_t tx_drop_other = 0;        // any other errno
    // Segmentation offload (UdpTransport). rx/tx_datagrams above count every datagram; these
    // say how many travelled several to one kernel pass.
    std::uint64_t tx_gso_sends = 0;     // sends that carried several datagrams (UDP_SEGMENT)
    std::uint64_t tx_gso_segments = 0;  // datagrams sent in those
    std::uint64_t tx_gso_failed = 0;    // GSO turned off: the kernel refused a segmented send
    std::uint64_t rx_gro_batches = 0;   // receive buffers that held several datagrams (UDP_GRO)
    std::uint64_t rx_gro_segments = 0;  // datagrams received in those
    int last_tx_errno = 0;                  // for the log line that reports a change
};

class DatagramTransport {
public:
    virtual ~DatagramTransport() = default;

    // Where received datagrams go; nullptr stops delivery (datagrams are then read and
    // discarded). The receiver must outlive the transport or be reset first.
    virtual void set_receiver(DatagramReceiver* receiver) = 0;

    // Sends one datagram. Never blocks, never fails fatally: a datagram that cannot be sent
    // is dropped and counted (reason in stats()).
    virtual SendResult send(const Endpoint& to, ByteView data) = 0;
    // Sends several datagrams (sendmmsg where available); returns how many were sent. Each
    // failure is a counted drop, the rest are still attempted.
    virtual std::size_t send_batch(std::span<const OutDatagram> batch) = 0;

    // The port datagrams are received on (the actual one when configured with 0).
    virtual std::uint16_t local_port() const = 0;
    virtual const TransportStats& stats() const = 0;
};

}  // namespace tunless::io
