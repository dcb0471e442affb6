#include "tools/tunless/app/data_path.hpp"

#include <algorithm>

namespace tunless::app {
namespace {

// Flush lwIP's output early when this many datagrams are waiting: keeps sendmmsg batches
// large enough to amortise the syscall, and stays well under the Outbox cap.
constexpr std::size_t kTxFlushThreshold = 32;

}  // namespace

DataPath::DataPath(io::EventLoop& loop, wg::Device& device, io::DatagramTransport& transport)
    : loop_(loop), device_(device), transport_(transport) {
    batch_.reserve(wg::kOutboxMaxDatagrams);
}

DataPath::~DataPath() = default;

void DataPath::initiate(wg::PeerId peer) {
    (void)device_.initiate(loop_.now(), peer, rx_out_);
    drain(rx_out_);
}

void DataPath::on_datagram(const Endpoint& from, ByteView data) {
    device_.on_datagram(loop_.now(), from, data, rx_out_);
    drain(rx_out_);
}

void DataPath::on_receive_batch_end() {
    close_ack_batch();
    flush_tx();
}

void DataPath::on_egress(ByteView ip_packet) {
    if (gate_ != nullptr) gate_->note_outbound(loop_.now(), ip_packet);
    device_.on_ip_packet(loop_.now(), ip_packet, tx_out_);
    if (tx_out_.datagrams().size() >= kTxFlushThreshold) {
        flush_tx();
    } else if (!tx_out_.empty()) {
        schedule_tx_flush();
    }
}

Instant DataPath::next_deadline() const {
    Instant d = device_.next_deadline();
    if (stack_ != nullptr) d = std::min(d, stack_->next_deadline());
    return d;
}

void DataPath::on_timer(Instant now) {
    if (device_.next_deadline() <= now) {
        device_.on_timer(now, rx_out_);
        drain(rx_out_);
    }
    if (stack_ != nullptr && stack_->next_deadline() <= now) stack_->on_timer(now);
    flush_tx();
}

void DataPath::drain(wg::Outbox& out) {
    batch_.clear();
    for (const auto& d : out.datagrams()) {
        if (d.to.kind != Endpoint::Kind::kRelay) {
            batch_.push_back(io::OutDatagram{d.to, d.bytes});
        } else if (relay_ != nullptr && d.peer != wg::kNoPeer) {
            relay_->send_relay(d.peer, d.to, d.bytes);
        } else {
            ++relay_drops_;
        }
    }
    if (!batch_.empty()) transport_.send_batch(batch_);
    if (stack_ != nullptr && !out.packets().empty()) {
        // lwIP may answer synchronously through on_egress, which uses tx_out_, never `out`.
        stack_->set_now(loop_.now());
        open_ack_batch();
        for (const auto& p : out.packets()) {
            if (gate_ != nullptr && !gate_->admit_inbound(loop_.now(), p.packet, p.from)) {
                ++gate_drops_;
                continue;
            }
            if (!stack_->inject(p.packet)) ++inject_failures_;
        }
    }
    if (on_event_) {
        for (const auto& e : out.events()) on_event_(e);
    }
    out.clear();
}

void DataPath::flush_tx() {
    if (tx_out_.empty()) return;
    drain(tx_out_);
}

void DataPath::open_ack_batch() {
    if (ack_batch_open_) return;
    ack_batch_open_ = true;
    stack_->begin_ack_batch();
    loop_.post([this] {
        close_ack_batch();
        flush_tx();
    });
}

void DataPath::close_ack_batch() {
    if (!ack_batch_open_) return;
    ack_batch_open_ = false;
    stack_->flush_acks();
}

void DataPath::schedule_tx_flush() {
    if (tx_flush_posted_) return;
    tx_flush_posted_ = true;
    loop_.post([this] {
        tx_flush_posted_ = false;
        flush_tx();
    });
}

}  // namespace tunless::app
