// Cryptokey routing table (WireGuard paper §2): longest-prefix match from an IPv4 or IPv6
// address to the peer that owns the most specific allowed-IPs prefix containing it. Used per
// packet in both directions: outbound to pick the peer for a destination, inbound to check that
// a decrypted packet's source belongs to the peer that sent it. IPv4 and IPv6 are separate
// tables (a v4-mapped v6 address is not looked up as IPv4, as in wg). Owned by wg::Device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/wg/peer_id.hpp"

namespace tunless::wg {

class AllowedIps {
public:
    AllowedIps();
    ~AllowedIps();
    AllowedIps(AllowedIps&&) noexcept;
    AllowedIps& operator=(AllowedIps&&) noexcept;
    AllowedIps(const AllowedIps&) = delete;
    AllowedIps& operator=(const AllowedIps&) = delete;

    // Maps `prefix` (host bits ignored) to `peer`. An identical prefix already present moves to
    // the new peer, like `wg set ... allowed-ips` (a prefix has exactly one owner).
    void insert(const IpPrefix& prefix, PeerId peer);
    // Removes exactly this prefix (not the ones it contains). Returns whether it was present.
    bool remove(const IpPrefix& prefix);
    // Removes every prefix owned by `peer` (peer removal). Returns how many were removed.
    std::size_t remove_by_peer(PeerId peer);
    void clear() noexcept;

    // Longest-prefix match. Never allocates; at most 33 (IPv4) / 129 (IPv6) node visits, in
    // practice the depth of a path-compressed binary trie.
    std::optional<PeerId> lookup(const IpAddress& addr) const noexcept;

    // The prefixes owned by `peer`, IPv4 first, each family in address order (for `status`
    // and the UAPI). Control path: allocates.
    std::vector<IpPrefix> entries_for(PeerId peer) const;
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    struct Node;  // path-compressed binary trie node (allowed_ips.cpp)

private:
    std::unique_ptr<Node> v4_root_;
    std::unique_ptr<Node> v6_root_;
    std::size_t size_ = 0;
};

}  // namespace tunless::wg
