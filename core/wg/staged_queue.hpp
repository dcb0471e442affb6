// Per-peer queue of IP packets waiting for a usable keypair (kernel staged_packet_queue).
// Bounded at kMaxStagedPackets; when full the oldest packet is dropped (kStagedOverflow).
// Packets are copied in; buffers are kept for reuse until purge() releases them.
#pragma once

#include <cstddef>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/wg/limits.hpp"
#include "core/wg/packet_buffer.hpp"

namespace tunless::wg {

class StagedQueue {
public:
    // Copies `packet` (empty = keepalive). Returns false when the oldest packet had to be
    // dropped to make room.
    bool push(ByteView packet);
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    ByteView front() const { return ring_[head_].view(); }
    void pop_front();
    // Drops everything and frees the buffers; returns how many packets were dropped.
    std::size_t purge();

private:
    std::vector<PacketBuffer> ring_;  // sized to kMaxStagedPackets on first push
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace tunless::wg
