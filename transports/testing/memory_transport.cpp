#include "transports/testing/memory_transport.hpp"

#include <algorithm>

namespace tunless::io::testing {

bool MemoryNetwork::enqueue(Packet p) {
    if (queue_.size() >= capacity_) {
        return false;
    }
    queue_.push_back(std::move(p));
    return true;
}

void MemoryNetwork::attach(MemoryTransport* t) {
    members_.push_back(t);
}

void MemoryNetwork::detach(MemoryTransport* t) {
    members_.erase(std::remove(members_.begin(), members_.end(), t), members_.end());
}

std::size_t MemoryNetwork::deliver_all(std::size_t limit) {
    std::size_t delivered = 0;
    while (!queue_.empty() && delivered < limit) {
        Packet p = std::move(queue_.front());
        queue_.pop_front();
        if (filter_ && !filter_(p)) {
            continue;
        }
        auto it = std::find_if(members_.begin(), members_.end(),
                               [&](const MemoryTransport* t) { return t->self_ == p.to; });
        if (it == members_.end()) {
            ++undeliverable_;
            continue;
        }
        (*it)->inject(p.from, p.data);
        if ((*it)->receiver_ != nullptr) {
            (*it)->receiver_->on_receive_batch_end();
        }
        ++delivered;
    }
    return delivered;
}

MemoryTransport::MemoryTransport(const Endpoint& self, MemoryNetwork* network,
                                 std::size_t sent_log_capacity)
    : self_(self), network_(network), sent_log_capacity_(sent_log_capacity) {
    if (network_ != nullptr) {
        network_->attach(this);
    }
}

MemoryTransport::~MemoryTransport() {
    if (network_ != nullptr) {
        network_->detach(this);
    }
}

SendResult MemoryTransport::send(const Endpoint& to, ByteView data) {
    if (to.kind != Endpoint::Kind::kUdp) {
        ++stats_.tx_drop_no_path;
        return SendResult::kDropped;
    }
    if (data.size() > kMaxDatagramSize) {
        ++stats_.tx_drop_too_big;
        return SendResult::kDropped;
    }
    if (send_blocked_) {
        ++stats_.tx_drop_would_block;
        return SendResult::kDropped;
    }
    Packet p{self_, to, Bytes(data.begin(), data.end())};
    if (network_ != nullptr && !network_->enqueue(p)) {
        ++stats_.tx_drop_would_block;
        return SendResult::kDropped;
    }
    ++stats_.tx_datagrams;
    stats_.tx_bytes += data.size();
    if (sent_log_capacity_ > 0) {
        if (sent_.size() >= sent_log_capacity_) {
            sent_.pop_front();
        }
        sent_.push_back(std::move(p));
    }
    return SendResult::kSent;
}

std::size_t MemoryTransport::send_batch(std::span<const OutDatagram> batch) {
    std::size_t sent = 0;
    for (const OutDatagram& d : batch) {
        sent += send(d.to, d.data) == SendResult::kSent ? 1 : 0;
    }
    return sent;
}

void MemoryTransport::inject(const Endpoint& from, ByteView data) {
    ++stats_.rx_datagrams;
    stats_.rx_bytes += data.size();
    if (receiver_ != nullptr) {
        receiver_->on_datagram(from, data);
    }
}

}  // namespace tunless::io::testing
