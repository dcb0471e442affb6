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

private:
    // Sends the outbox's datagrams (one send_batch), hands its packets to lwIP, reports events,
    // then clears it.
    void drain(wg::Outbox& out);
    void flush_tx();
    void schedule_tx_flush();

    io::EventLoop& loop_;
    wg::Device& device_;
    io::DatagramTransport& transport_;
    net::Stack* stack_ = nullptr;
    std::function<void(const wg::Event&)> on_event_;
    wg::Outbox rx_out_;  // results of on_datagram / on_timer / initiate
    wg::Outbox tx_out_;  // results of on_egress (lwIP output), flushed once per loop round
    std::vector<io::OutDatagram> batch_;
    bool tx_flush_posted_ = false;
    std::uint64_t inject_failures_ = 0;
};

}  // namespace tunless::app
