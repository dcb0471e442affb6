#include "core/wg/staged_queue.hpp"

#include <cstring>

namespace tunless::wg {

bool StagedQueue::push(ByteView packet) {
    if (ring_.empty()) ring_.resize(kMaxStagedPackets);
    bool kept_all = true;
    if (size_ == kMaxStagedPackets) {
        pop_front();
        kept_all = false;
    }
    PacketBuffer& slot = ring_[(head_ + size_) % kMaxStagedPackets];
    MutByteView dst = slot.prepare(packet.size());
    if (!packet.empty()) std::memcpy(dst.data(), packet.data(), packet.size());
    ++size_;
    return kept_all;
}

void StagedQueue::pop_front() {
    if (size_ == 0) return;
    head_ = (head_ + 1) % kMaxStagedPackets;
    --size_;
}

std::size_t StagedQueue::purge() {
    const std::size_t dropped = size_;
    ring_.clear();
    ring_.shrink_to_fit();
    head_ = 0;
    size_ = 0;
    return dropped;
}

}  // namespace tunless::wg
