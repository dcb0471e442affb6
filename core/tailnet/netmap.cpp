#include "core/tailnet/netmap.hpp"

#include <set>
#include <utility>

namespace tunless::tailnet {

namespace {

// Records the first "before" image of every peer a message touches, so the delta compares whole
// nodes once instead of guessing from which lists an ID appeared in.
class TouchLog {
public:
    explicit TouchLog(const std::map<NodeId, Node>& peers) : peers_(peers) {}
    void touch(NodeId id) {
        if (before_.count(id) != 0) return;
        const auto it = peers_.find(id);
        before_.emplace(id, it == peers_.end() ? std::nullopt : std::optional<Node>(it->second));
    }
    void diff(NetMapDelta& delta) const {
        for (const auto& [id, old] : before_) {
            const auto it = peers_.find(id);
            if (!old && it != peers_.end()) {
                delta.added.push_back(id);
            } else if (old && it == peers_.end()) {
                delta.removed.push_back(id);
            } else if (old && *old != it->second) {
                delta.changed.push_back(id);
            }
        }
    }

private:
    const std::map<NodeId, Node>& peers_;
    std::map<NodeId, std::optional<Node>> before_;
};

std::optional<Timestamp> unless_go_zero(const Timestamp& t) {
    if (t.unix_seconds == kGoZeroTimeUnix && t.nanos == 0) return std::nullopt;
    return t;
}

void apply_patch(const PeerChange& pc, Node& n) {
    if (pc.derp_region != 0) n.home_derp = pc.derp_region;
    if (pc.cap != 0) n.cap = pc.cap;
    if (pc.endpoints) n.endpoints = *pc.endpoints;
    if (pc.key) n.key = *pc.key;
    if (pc.disco_key) n.disco_key = *pc.disco_key;
    if (pc.online) n.online = *pc.online;
    if (pc.last_seen) n.last_seen = unless_go_zero(*pc.last_seen);
    if (pc.key_expiry) n.key_expiry = unless_go_zero(*pc.key_expiry);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lowercase, without one trailing dot.
std::string dns_name(std::string_view s) {
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

}  // namespace

const Node* NetMap::peer(NodeId id) const {
    const auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

const Node* NetMap::peer_by_node_key(const crypto::PublicKey& key) const {
    if (key.is_zero()) return nullptr;
    const auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : peer(it->second);
}

Status NetMap::apply(const MapResponse& resp, NetMapDelta& delta,
                     std::optional<Timestamp> wall_now) {
    delta.clear();
    if (resp.keep_alive) return {};  // Go ignores all but PingRequest/ControlTime on these

    // Check the peer bound first so a rejected message leaves the map untouched.
    std::size_t new_size = 0;
    if (!resp.peers.empty()) {
        std::set<NodeId> ids;
        for (const Node& n : resp.peers) ids.insert(n.id);
        new_size = ids.size();
    } else {
        std::set<NodeId> gone;
        std::set<NodeId> fresh;
        for (NodeId id : resp.peers_removed) {
            if (peers_.count(id) != 0) gone.insert(id);
        }
        for (const Node& n : resp.peers_changed) {
            if (peers_.count(n.id) == 0 || gone.count(n.id) != 0) fresh.insert(n.id);
        }
        new_size = peers_.size() - gone.size() + fresh.size();
    }
    if (new_size > max_peers_) {
        return fail(Errc::kLimitReached, "netmap: more than " + std::to_string(max_peers_) +
                                             " peers");
    }

    const std::optional<Timestamp> seen_stamp = wall_now ? wall_now : resp.control_time;
    apply_peers(resp, delta, seen_stamp);
    if (!delta.added.empty() || !delta.changed.empty() || !delta.removed.empty()) {
        by_key_.clear();
        for (const auto& [id, n] : peers_) {
            if (!n.key.is_zero()) by_key_.emplace(n.key, id);
        }
    }

    if (resp.node) {
        delta.self_changed = !self_ || *self_ != *resp.node;
        self_ = *resp.node;
    }
    if (resp.derp_map) {
        DERPMap next = *resp.derp_map;
        // Zero-valued DERPMap fields mean "keep the previous value" (map.go).
        if (!next.has_regions && derp_map_) {
            next.has_regions = derp_map_->has_regions;
            next.regions = derp_map_->regions;
            next.omit_default_regions = derp_map_->omit_default_regions;
        }
        delta.derp_changed = !derp_map_ || *derp_map_ != next;
        derp_map_ = std::move(next);
    }
    apply_filters(resp, delta);
    if (resp.dns_config) {
        delta.dns_changed = !dns_ || *dns_ != *resp.dns_config;
        dns_ = *resp.dns_config;
    }
    if (!resp.domain.empty() && resp.domain != domain_) {
        delta.domain_changed = true;
        domain_ = resp.domain;
    }
    return {};
}

void NetMap::apply_peers(const MapResponse& resp, NetMapDelta& delta,
                         std::optional<Timestamp> seen_stamp) {
    if (!resp.peers.empty()) {
        // Not delta encoded: the list is the whole set and precludes every other peer delta.
        delta.full_peers = true;
        std::map<NodeId, Node> old = std::move(peers_);
        peers_.clear();
        for (const Node& n : resp.peers) peers_[n.id] = n;
        for (const auto& [id, n] : peers_) {
            const auto it = old.find(id);
            if (it == old.end()) {
                delta.added.push_back(id);
            } else if (it->second != n) {
                delta.changed.push_back(id);
            }
        }
        for (const auto& [id, n] : old) {
            if (peers_.count(id) == 0) delta.removed.push_back(id);
        }
        return;
    }

    TouchLog log(peers_);
    for (NodeId id : resp.peers_removed) {
        if (peers_.count(id) == 0) continue;
        log.touch(id);
        peers_.erase(id);
    }
    for (const Node& n : resp.peers_changed) {
        log.touch(n.id);
        peers_[n.id] = n;
    }
    for (const auto& [id, seen] : resp.peer_seen_change) {
        const auto it = peers_.find(id);
        if (it == peers_.end()) continue;
        log.touch(id);
        if (!seen) {
            it->second.last_seen.reset();
        } else if (seen_stamp) {
            it->second.last_seen = *seen_stamp;
        }
    }
    for (const auto& [id, online] : resp.online_change) {
        const auto it = peers_.find(id);
        if (it == peers_.end()) continue;
        log.touch(id);
        it->second.online = online;
    }
    for (const PeerChange& pc : resp.peers_changed_patch) {
        const auto it = peers_.find(pc.node_id);
        if (it == peers_.end()) continue;  // patches for unknown peers are ignored
        log.touch(pc.node_id);
        apply_patch(pc, it->second);
    }
    log.diff(delta);
}

void NetMap::apply_filters(const MapResponse& resp, NetMapDelta& delta) {
    bool touched = false;
    // Legacy single list first, then the named chunks (whose "*" clear also drops "base").
    if (resp.packet_filter) {
        touched = true;
        named_filters_["base"] = *resp.packet_filter;
    }
    if (resp.packet_filters) {
        touched = true;
        const auto star = resp.packet_filters->find("*");
        if (star != resp.packet_filters->end() && !star->second) named_filters_.clear();
        for (const auto& [name, rules] : *resp.packet_filters) {
            if (name == "*") continue;
            if (rules) {
                named_filters_[name] = *rules;
            } else {
                named_filters_.erase(name);
            }
        }
    }
    if (!touched) return;
    bool rejected = false;
    std::vector<FilterRule> concat;
    for (const auto& [name, set] : named_filters_) {  // std::map: sorted by name, as Go sorts
        rejected = rejected || set.uses_legacy_bits;
        concat.insert(concat.end(), set.rules.begin(), set.rules.end());
    }
    if (rejected) concat.clear();
    delta.filter_changed = !filter_ || *filter_ != concat || filter_rejected_ != rejected;
    filter_ = std::move(concat);
    filter_rejected_ = rejected;
}

std::vector<IpAddress> NetMap::resolve_name(std::string_view name) const {
    const std::string q = dns_name(name);
    std::vector<IpAddress> out;
    if (q.empty()) return out;
    std::vector<std::string> domains;
    if (!domain_.empty()) domains.push_back(dns_name(domain_));
    if (dns_) {
        for (const auto& d : dns_->domains) domains.push_back(dns_name(d));
    }
    auto matches = [&](const Node& n) {
        const std::string fqdn = dns_name(n.name);
        if (fqdn.empty()) return false;
        const std::string host = fqdn.substr(0, fqdn.find('.'));
        if (q == fqdn || q == host) return true;
        for (const auto& d : domains) {
            if (!d.empty() && q == host + "." + d) return true;
        }
        return false;
    };
    // The first matching node wins (self, then peers by ID): mixing two hosts' addresses would
    // be worse than an arbitrary but stable choice.
    const Node* hit = self_ && matches(*self_) ? &*self_ : nullptr;
    for (auto it = peers_.begin(); hit == nullptr && it != peers_.end(); ++it) {
        if (matches(it->second)) hit = &it->second;
    }
    if (hit != nullptr) {
        for (const IpPrefix& p : hit->addresses) out.push_back(p.address());
        return out;
    }
    if (!dns_) return out;
    for (const DNSRecord& r : dns_->extra_records) {
        if (dns_name(r.name) != q) continue;
        const auto ip = IpAddress::parse(r.value);
        if (!ip) continue;
        const bool type_ok = r.type.empty() || (r.type == "A" && ip->is_v4()) ||
                             (r.type == "AAAA" && ip->is_v6());
        if (type_ok) out.push_back(*ip);
    }
    return out;
}

}  // namespace tunless::tailnet
