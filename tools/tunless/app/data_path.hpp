// app::DataPath: the glue that moves packets between the UDP transport, the WireGuard device and
// the lwIP stack — the only place where the three meet. Inbound datagrams go through
// Device::on_datagram and the decrypted packets into Stack::inject; lwIP's outgoing packets come
// back through on_egress into Device::on_ip_packet; the Device's datagrams leave in batches.
// It is also the loop's deadline provider for the device and the stack.
//
// Re-entrancy: Stack::inject may call on_egress synchronously (ACKs, echo replies). Inbound
// and outbound work therefore use two separate Outboxes, and the device is never re-entered:
// on_egress only runs once the inbound Device call has returned.
#pragma once

#include <cstdint>
#include <functional>

#include "core/wg/device.hpp"
#include "core/wg/outbox.hpp"
#include "netstack/stack.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/event_loop.hpp"

namespace tunless::app {

// Where datagrams for relay endpoints (Endpoint::Kind::kRelay, e.g. a DERP region) go. Relays
// address peers by key, which the device knows by PeerId, so the peer travels with the bytes.
class RelaySender {
public:
    virtual ~RelaySender() = default;
    // `data` is borrowed for the call. Never blocks; a datagram that cannot go is dropped.
    virtual void send_relay(wg::PeerId peer, const Endpoint& to, ByteView data) = 0;
};

// A policy on decrypted traffic (the tailnet packet filter): inbound packets are admitted or
// dropped before lwIP sees them; outbound packets are shown to it (stateful UDP replies).
class PacketGate {
public:
    virtual ~PacketGate() = default;
    virtual bool admit_inbound(Instant now, ByteView ip_packet, wg::PeerId from) = 0;
    virtual void note_outbound(Instant now, ByteView ip_packet) = 0;
};

class DataPath final : public io::DatagramReceiver,
                       public net::EgressSink,
                       public io::DeadlineProvider {
public:
    // All references must outlive the DataPath. Call attach() once the Stack exists.
    DataPath(io::EventLoop& loop, wg::Device& device, io::DatagramTransport& transport);
    ~DataPath() override;
    DataPath(const DataPath&) = delete;
    DataPath& operator=(const DataPath&) = delete;

    void attach(net::Stack& stack) { stack_ = &stack; }
    // Optional; both must outlive the DataPath or be reset to nullptr first.
    void set_relay(RelaySender* relay) { relay_ = relay; }
    void set_gate(PacketGate* gate) { gate_ = gate; }
    // Called for every device event (handshake completed, session expired, ...).
    void set_event_handler(std::function<void(const wg::Event&)> fn) { on_event_ = std::move(fn); }

    // Forces a handshake (start-up with PersistentKeepalive, tests).
    void initiate(wg::PeerId peer);

    // io::DatagramReceiver
    void on_datagram(const Endpoint& from, ByteView data) override;
    void on_receive_batch_end() override;
    // net::EgressSink
    void on_egress(ByteView ip_packet) override;
    // io::DeadlineProvider
    Instant next_deadline() const override;
    void on_timer(Instant now) override;

    std::uint64_t inject_failures() const { return inject_failures_; }
    // Relay datagrams with no relay attached, or without a peer (cookie replies).
    std::uint64_t relay_drops() const { return relay_drops_; }
    std::uint64_t gate_drops() const { return gate_drops_; }

private:
    // Sends the outbox's datagrams (one send_batch), hands its packets to lwIP, reports events,
    // then clears it.
    void drain(wg::Outbox& out);
    void flush_tx();
    void schedule_tx_flush();
    // Packets handed to lwIP between two ends of a batch are ACKed once (Stack::flush_acks):
    // at the end of a UDP receive batch, or on the next loop turn for packets from elsewhere
    // (relays, timers).
    void open_ack_batch();
    void close_ack_batch();

    io::EventLoop& loop_;
    wg::Device& device_;
    io::DatagramTransport& transport_;
    net::Stack* stack_ = nullptr;
    RelaySender* relay_ = nullptr;
    PacketGate* gate_ = nullptr;
    std::function<void(const wg::Event&)> on_event_;
    wg::Outbox rx_out_;  // results of on_datagram / on_timer / initiate
    wg::Outbox tx_out_;  // results of on_egress (lwIP output), flushed once per loop round
    std::vector<io::OutDatagram> batch_;
    bool tx_flush_posted_ = false;
    bool ack_batch_open_ = false;
    std::uint64_t inject_failures_ = 0;
    std::uint64_t relay_drops_ = 0;
    std::uint64_t gate_drops_ = 0;
};

}  // namespace tunless::app
