#include "core/wg/index_table.hpp"

#include "core/wg/limits.hpp"

namespace tunless::wg {

namespace {
constexpr std::size_t kInitialSlots = 64;
constexpr std::size_t kMaxEntries = kMaxPeers * kIndicesPerPeer;
}  // namespace

IndexTable::IndexTable() : slots_(kInitialSlots) {}

std::size_t IndexTable::home(std::uint32_t index) const {
    // Fibonacci hashing: indices are random already, this only spreads a weak Rng.
    const std::uint64_t h = std::uint64_t{index} * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(h >> 32) & (slots_.size() - 1);
}

std::size_t IndexTable::find_slot(std::uint32_t index) const {
    if (index == 0) return slots_.size();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(index);; i = (i + 1) & mask) {
        if (slots_[i].index == index) return i;
        if (slots_[i].index == 0) return slots_.size();
    }
}

void IndexTable::grow() {
    std::vector<IndexEntry> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const IndexEntry& e : old) {
        if (e.index == 0) continue;
        std::size_t i = home(e.index);
        while (slots_[i].index != 0) i = (i + 1) & mask;
        slots_[i] = e;
    }
}

std::optional<std::uint32_t> IndexTable::allocate(Rng& rng, PeerId peer, IndexKind kind) {
    if (used_ >= kMaxEntries) return std::nullopt;
    if (2 * (used_ + 1) > slots_.size()) grow();
    for (int attempt = 0; attempt < kIndexAllocationAttempts; ++attempt) {
        const std::uint32_t index = rng.next_u32();
        if (index == 0 || find_slot(index) != slots_.size()) continue;
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = home(index);
        while (slots_[i].index != 0) i = (i + 1) & mask;
        slots_[i] = IndexEntry{index, peer, kind};
        ++used_;
        return index;
    }
    return std::nullopt;
}

const IndexEntry* IndexTable::find(std::uint32_t index) const {
    const std::size_t i = find_slot(index);
    return i == slots_.size() ? nullptr : &slots_[i];
}

void IndexTable::set_kind(std::uint32_t index, IndexKind kind) {
    const std::size_t i = find_slot(index);
    if (i != slots_.size()) slots_[i].kind = kind;
}

void IndexTable::release(std::uint32_t index) {
    std::size_t hole = find_slot(index);
    if (hole == slots_.size()) return;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    const std::size_t mask = slots_.size() - 1;
    slots_[hole] = IndexEntry{};
    --used_;
    for (std::size_t j = (hole + 1) & mask; slots_[j].index != 0; j = (j + 1) & mask) {
        const std::size_t h = home(slots_[j].index);
        // Move j into the hole if its home is not cyclically within (hole, j].
        const bool stays = (hole <= j) ? (hole < h && h <= j) : (hole < h || h <= j);
        if (stays) continue;
        slots_[hole] = slots_[j];
        slots_[j] = IndexEntry{};
        hole = j;
    }
}

}  // namespace tunless::wg
