// MemoryTransport: a DatagramTransport fake for tests. Several transports attached to one
// MemoryNetwork exchange datagrams through a FIFO that the test drains explicitly with
// deliver_all(), so ordering and timing are deterministic (no sockets, no loop). A transport
// also records what it sent (bounded) and a test can inject() datagrams directly.
// Not for production: linked only by test executables (library tunless_transports_testing).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "transports/datagram_transport.hpp"

namespace tunless::io::testing {

struct Packet {
    Endpoint from;
    Endpoint to;
    Bytes data;
};

class MemoryTransport;

class MemoryNetwork {
public:
    // Bounded like a real path: beyond `capacity` queued packets, sends are dropped.
    explicit MemoryNetwork(std::size_t capacity = 4096) : capacity_(capacity) {}

    // Returns false to drop a packet in flight (loss, filtering); default: deliver all.
    void set_filter(std::function<bool(const Packet&)> filter) { filter_ = std::move(filter); }

    // Delivers queued packets in FIFO order, including packets sent by receivers while
    // delivering, up to `limit`. Returns how many were handed to a receiver.
    std::size_t deliver_all(std::size_t limit = 1'000'000);
    std::size_t queued() const { return queue_.size(); }
    std::size_t undeliverable() const { return undeliverable_; }  // no transport at `to`

private:
    friend class MemoryTransport;
    bool enqueue(Packet p);
    void attach(MemoryTransport* t);
    void detach(MemoryTransport* t);

    std::size_t capacity_;
    std::deque<Packet> queue_;
    std::vector<MemoryTransport*> members_;
    std::function<bool(const Packet&)> filter_;
    std::size_t undeliverable_ = 0;
};

class MemoryTransport final : public DatagramTransport {
public:
    // `self` is this transport's address (used as `from` on sent packets and to route
    // packets to it). `network` may be null (record-only) and must outlive the transport.
    MemoryTransport(const Endpoint& self, MemoryNetwork* network = nullptr,
                    std::size_t sent_log_capacity = 1024);
    ~MemoryTransport() override;
    MemoryTransport(const MemoryTransport&) = delete;
    MemoryTransport& operator=(const MemoryTransport&) = delete;

    void set_receiver(DatagramReceiver* receiver) override { receiver_ = receiver; }
    SendResult send(const Endpoint& to, ByteView data) override;
    std::size_t send_batch(std::span<const OutDatagram> batch) override;
    std::uint16_t local_port() const override { return self_.port; }
    const TransportStats& stats() const override { return stats_; }

    // Hands a datagram to the receiver as if it had arrived from `from`.
    void inject(const Endpoint& from, ByteView data);
    // Sent packets, oldest first; the oldest are discarded beyond the log capacity.
    const std::deque<Packet>& sent() const { return sent_; }
    void clear_sent() { sent_.clear(); }
    // While set, every send is dropped as tx_drop_would_block (a full socket buffer).
    void set_send_blocked(bool blocked) { send_blocked_ = blocked; }
    const Endpoint& self() const { return self_; }

private:
    friend class MemoryNetwork;

    Endpoint self_;
    MemoryNetwork* network_;
    std::size_t sent_log_capacity_;
    DatagramReceiver* receiver_ = nullptr;
    std::deque<Packet> sent_;
    bool send_blocked_ = false;
    TransportStats stats_;
};

}  // namespace tunless::io::testing
