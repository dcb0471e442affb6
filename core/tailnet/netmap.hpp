// The tailnet as the map long-poll describes it: self node, peers by ID, DERP map, named packet
// filters and their concatenation, DNS config and domain. apply() folds one MapResponse in with
// Go's delta rules (tailscale control/controlclient/map.go, updateStateFromResponse and
// updatePeersStateFromResponse) and reports what changed in a NetMapDelta, so the daemon can
// reprogram only the touched WireGuard peers. Also answers MagicDNS-style name lookups.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/tailnet/tailcfg.hpp"

namespace tunless::tailnet {

struct NetMapDelta {
    bool full_peers = false;       // the message carried the complete peer set
    std::vector<NodeId> added;     // sorted, disjoint
    std::vector<NodeId> changed;   // sorted; only peers whose stored Node really differs
    std::vector<NodeId> removed;   // sorted
    bool self_changed = false;
    bool derp_changed = false;
    bool filter_changed = false;  // effective filter (rules or deny-all state) differs
    bool dns_changed = false;
    bool domain_changed = false;

    void clear() { *this = NetMapDelta{}; }
    bool empty() const {
        return added.empty() && changed.empty() && removed.empty() && !self_changed &&
               !derp_changed && !filter_changed && !dns_changed && !domain_changed;
    }
};

class NetMap {
public:
    explicit NetMap(std::size_t max_peers = MapLimits{}.max_peers) : max_peers_(max_peers) {}

    // Folds `resp` in; `delta` is cleared first. KeepAlive messages change nothing. Fails
    // without changing anything when the peer set would exceed max_peers. `wall_now` is the
    // LastSeen stamp for PeerSeenChange=true (Go uses its clock; the core has none): without it
    // the message's ControlTime is used, else the peer keeps its previous LastSeen.
    Status apply(const MapResponse& resp, NetMapDelta& delta,
                 std::optional<Timestamp> wall_now = std::nullopt);

    const std::optional<Node>& self() const { return self_; }
    const std::map<NodeId, Node>& peers() const { return peers_; }
    const Node* peer(NodeId id) const;
    // Per-packet lookup on the DERP receive path: indexed. Zero key: nullptr.
    const Node* peer_by_node_key(const crypto::PublicKey& key) const;

    // nullopt until a map carried a DERPMap.
    const std::optional<DERPMap>& derp_map() const { return derp_map_; }

    const std::map<std::string, FilterRuleSet>& packet_filters() const { return named_filters_; }
    // Concatenation of the named lists in name order. nullopt: no filter received yet (callers
    // should block inbound); an empty vector blocks everything. A list using SrcBits/Bits makes
    // it empty with filter_rejected() true, as Go's MatchesFromFilterRules yields no matches.
    const std::optional<std::vector<FilterRule>>& filter() const { return filter_; }
    bool filter_rejected() const { return filter_rejected_; }

    const std::optional<DNSConfig>& dns() const { return dns_; }
    const std::string& domain() const { return domain_; }

    // Addresses of the node named `name` ("host", "host.<domain>", the FQDN, with or without a
    // trailing dot, ASCII case-insensitive) among self and peers, then DNS ExtraRecords (A/AAAA).
    std::vector<IpAddress> resolve_name(std::string_view name) const;

private:
    void apply_peers(const MapResponse& resp, NetMapDelta& delta,
                     std::optional<Timestamp> seen_stamp);
    void apply_filters(const MapResponse& resp, NetMapDelta& delta);

    std::size_t max_peers_;
    std::optional<Node> self_;
    std::map<NodeId, Node> peers_;
    std::map<crypto::PublicKey, NodeId> by_key_;  // rebuilt when peers change; lowest ID wins
    std::optional<DERPMap> derp_map_;
    std::map<std::string, FilterRuleSet> named_filters_;
    std::optional<std::vector<FilterRule>> filter_;
    bool filter_rejected_ = false;
    std::optional<DNSConfig> dns_;
    std::string domain_;
};

}  // namespace tunless::tailnet
