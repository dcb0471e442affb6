// Receiver-index table (paper §5.4.1 "I_i"/"I_r"): maps the random 32-bit indices we hand to
// peers onto the peer and what the index currently names (a pending handshake or a keypair).
// Open addressing with backward-shift deletion; grows only when handshakes allocate, never
// per packet; bounded by kMaxPeers * kIndicesPerPeer. Used by wg::Device only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/rng.hpp"
#include "core/wg/peer_id.hpp"

namespace tunless::wg {

enum class IndexKind : std::uint8_t { kHandshake, kKeypair };

struct IndexEntry {
    std::uint32_t index = 0;  // 0 marks an empty slot; never handed out
    PeerId peer{};
    IndexKind kind = IndexKind::kHandshake;
};

class IndexTable {
public:
    IndexTable();

    // A fresh random nonzero index not in use (collisions are retried, up to
    // kIndexAllocationAttempts). nullopt when the table is at its bound.
    std::optional<std::uint32_t> allocate(Rng& rng, PeerId peer, IndexKind kind);
    const IndexEntry* find(std::uint32_t index) const;
    // Handshake index becomes the keypair's index (wireguard-go SwapIndexForKeypair).
    void set_kind(std::uint32_t index, IndexKind kind);
    void release(std::uint32_t index);  // no-op for 0 or unknown indices
    std::size_t size() const { return used_; }

private:
    std::size_t home(std::uint32_t index) const;
    std::size_t find_slot(std::uint32_t index) const;  // slots_.size() when absent
    void grow();

    std::vector<IndexEntry> slots_;  // power-of-two size, load factor <= 1/2
    std::size_t used_ = 0;
};

}  // namespace tunless::wg
