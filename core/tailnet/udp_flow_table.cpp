#include "core/tailnet/udp_flow_table.hpp"

#include <algorithm>

namespace tunless::tailnet {
namespace {

// FNV-1a over the key's fields. Inserts come only from our own outbound traffic, and the table
// is small and at most half full, so probe lengths stay bounded whatever the peers send.
std::uint64_t fnv(std::uint64_t h, std::uint8_t b) { return (h ^ b) * 0x100000001b3ULL; }

std::uint64_t hash_key(const FlowKey& k) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, k.proto);
    h = fnv(h, k.version);
    h = fnv(h, static_cast<std::uint8_t>(k.src_port >> 8));
    h = fnv(h, static_cast<std::uint8_t>(k.src_port));
    h = fnv(h, static_cast<std::uint8_t>(k.dst_port >> 8));
    h = fnv(h, static_cast<std::uint8_t>(k.dst_port));
    for (std::uint8_t b : k.src) h = fnv(h, b);
    for (std::uint8_t b : k.dst) h = fnv(h, b);
    return h ^ (h >> 29);
}

}  // namespace

UdpFlowTable::UdpFlowTable(std::size_t capacity, Duration idle_timeout)
    : entries_(std::clamp<std::size_t>(capacity, 1, 1U << 20)), idle_timeout_(idle_timeout) {
    std::size_t slots = 2;
    while (slots < 2 * entries_.size()) slots *= 2;
    slots_.assign(slots, kNone);
    mask_ = slots - 1;
    clear();
}

void UdpFlowTable::clear() {
    std::fill(slots_.begin(), slots_.end(), kNone);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        entries_[i].slot = kNone;
        entries_[i].prev = kNone;
        entries_[i].next = i + 1 < entries_.size() ? static_cast<std::uint32_t>(i + 1) : kNone;
    }
    free_ = 0;
    head_ = tail_ = kNone;
    size_ = 0;
}

std::size_t UdpFlowTable::home_slot(const FlowKey& key) const {
    return static_cast<std::size_t>(hash_key(key)) & mask_;
}

std::uint32_t UdpFlowTable::find(const FlowKey& key) const {
    for (std::size_t s = home_slot(key);; s = (s + 1) & mask_) {
        const std::uint32_t e = slots_[s];
        if (e == kNone) return kNone;
        if (entries_[e].key == key) return e;
    }
}

void UdpFlowTable::unlink(std::uint32_t e) {
    Entry& x = entries_[e];
    if (x.prev != kNone) entries_[x.prev].next = x.next; else head_ = x.next;
    if (x.next != kNone) entries_[x.next].prev = x.prev; else tail_ = x.prev;
    x.prev = x.next = kNone;
}

void UdpFlowTable::push_front(std::uint32_t e) {
    Entry& x = entries_[e];
    x.prev = kNone;
    x.next = head_;
    if (head_ != kNone) entries_[head_].prev = e;
    head_ = e;
    if (tail_ == kNone) tail_ = e;
}

// Unlinks `e` from the LRU list and its slot, closing the probe gap by shifting later entries of
// the cluster back (linear-probing deletion without tombstones).
void UdpFlowTable::remove(std::uint32_t e) {
    unlink(e);
    std::size_t hole = entries_[e].slot;
    entries_[e].slot = kNone;
    for (std::size_t s = (hole + 1) & mask_;; s = (s + 1) & mask_) {
        const std::uint32_t moved = slots_[s];
        if (moved == kNone) break;
        const std::size_t home = home_slot(entries_[moved].key);
        // `moved` may fill the hole unless its home lies cyclically in (hole, s].
        const bool home_between = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
        if (home_between) continue;
        slots_[hole] = moved;
        entries_[moved].slot = static_cast<std::uint32_t>(hole);
        hole = s;
    }
    slots_[hole] = kNone;
    entries_[e].next = free_;
    free_ = e;
    --size_;
}

void UdpFlowTable::record(Instant now, const FlowKey& key) {
    std::uint32_t e = find(key);
    if (e != kNone) {
        entries_[e].last_used = now;
        unlink(e);
        push_front(e);
        return;
    }
    if (free_ == kNone) {
        remove(tail_);
        ++evictions_;
    }
    e = free_;
    free_ = entries_[e].next;
    entries_[e].key = key;
    entries_[e].last_used = now;
    std::size_t s = home_slot(key);
    while (slots_[s] != kNone) s = (s + 1) & mask_;
    slots_[s] = e;
    entries_[e].slot = static_cast<std::uint32_t>(s);
    push_front(e);
    ++size_;
}

bool UdpFlowTable::lookup(Instant now, const FlowKey& key) {
    const std::uint32_t e = find(key);
    if (e == kNone) return false;
    if (now - entries_[e].last_used > idle_timeout_) {
        remove(e);
        ++expirations_;
        return false;
    }
    entries_[e].last_used = now;
    unlink(e);
    push_front(e);
    return true;
}

}  // namespace tunless::tailnet
