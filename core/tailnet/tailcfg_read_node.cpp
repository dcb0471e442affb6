// Readers for the larger tailcfg objects inside a MapResponse: Node, PeerChange, DERPMap and
// packet-filter rule lists (tailscale tailcfg/tailcfg.go, tailcfg/derpmap.go). Called by
// parse_map_response (tailcfg_read.cpp) with the already bounded RapidJSON DOM.
#include <charconv>
#include <string>

#include "core/tailnet/tailcfg_json.hpp"

namespace tunless::tailnet::json {

namespace {

// tailcfg.DerpMagicIP: the legacy "DERP" endpoint string is "127.3.3.40:<region id>".
constexpr std::string_view kDerpMagicIp = "127.3.3.40";

std::string indexed(std::string_view name, std::size_t i) {
    return std::string(name) + "[" + std::to_string(i) + "]";
}

int legacy_derp_region(std::string_view text) {
    const auto hp = split_host_port(text);
    if (!hp || hp->host != kDerpMagicIp) return 0;
    return hp->port;
}

Result<DERPNode> read_derp_node(const Value& v) {
    DERPNode n;
    const Status s = FieldReader(v)
                         .str("Name", n.name)
                         .i32("RegionID", n.region_id)
                         .str("HostName", n.host_name)
                         .str("CertName", n.cert_name)
                         .str("IPv4", n.ipv4)
                         .str("IPv6", n.ipv6)
                         .i32("STUNPort", n.stun_port)
                         .boolean("STUNOnly", n.stun_only)
                         .i32("DERPPort", n.derp_port)
                         .boolean("InsecureForTests", n.insecure_for_tests)
                         .boolean("CanPort80", n.can_port80)
                         .status();
    if (!s) return s.error();
    return n;
}

Result<DERPRegion> read_derp_region(const Value& v, const MapLimits& limits) {
    DERPRegion r;
    const Status s = FieldReader(v)
                         .i32("RegionID", r.region_id)
                         .str("RegionCode", r.region_code)
                         .str("RegionName", r.region_name)
                         .boolean("Avoid", r.avoid)
                         .boolean("NoMeasureNoHome", r.no_measure_no_home)
                         .status();
    if (!s) return s.error();
    auto nodes = get_array(v, "Nodes", limits.max_items);
    if (!nodes) return nodes.error();
    if (*nodes != nullptr) {
        std::size_t i = 0;
        for (const Value& e : (*nodes)->GetArray()) {
            if (e.IsNull()) continue;  // nil *DERPNode
            if (!e.IsObject()) return type_error(indexed("Nodes", i), "an object");
            auto n = read_derp_node(e);
            if (!n) return with_context(n.error(), indexed("Nodes", i));
            r.nodes.push_back(std::move(*n));
            ++i;
        }
    }
    return r;
}

Result<NetPortRange> read_net_port_range(const Value& v, bool& legacy_bits) {
    NetPortRange r;
    if (auto s = get_string(v, "IP", r.ip); !s) return s.error();
    if (member(v, "Bits") != nullptr) legacy_bits = true;
    auto ports = get_object(v, "Ports");
    if (!ports) return ports.error();
    if (*ports != nullptr) {
        int first = 0;
        int last = 0;
        const Status s = FieldReader(**ports).i32("First", first).i32("Last", last).status();
        if (!s) return with_context(s.error(), "Ports");
        if (first < 0 || first > 0xffff || last < 0 || last > 0xffff) {
            return make_error(Errc::kProtocol, "Ports: value outside 0..65535");
        }
        r.ports = PortRange{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
    }
    return r;
}

Result<FilterRule> read_filter_rule(const Value& v, const MapLimits& limits, bool& legacy_bits) {
    FilterRule rule;
    if (v.IsNull()) return rule;  // Go: null into a struct leaves the zero rule
    if (!v.IsObject()) return type_error("", "a FilterRule object");
    if (auto s = get_string_list(v, "SrcIPs", limits.max_filter_rules, rule.src_ips); !s) {
        return s.error();
    }
    if (const Value* bits = member(v, "SrcBits"); bits != nullptr) {
        if (!bits->IsArray()) return type_error("SrcBits", "an array");
        if (!bits->Empty()) legacy_bits = true;
    }
    auto dsts = get_array(v, "DstPorts", limits.max_filter_rules);
    if (!dsts) return dsts.error();
    if (*dsts != nullptr) {
        std::size_t i = 0;
        for (const Value& d : (*dsts)->GetArray()) {
            if (!d.IsObject()) return type_error(indexed("DstPorts", i), "an object");
            auto r = read_net_port_range(d, legacy_bits);
            if (!r) return with_context(r.error(), indexed("DstPorts", i));
            rule.dst_ports.push_back(std::move(*r));
            ++i;
        }
    }
    auto protos = get_array(v, "IPProto", limits.max_items);
    if (!protos) return protos.error();
    if (*protos != nullptr) {
        for (const Value& p : (*protos)->GetArray()) {
            if (!p.IsInt()) return type_error("IPProto", "an array of integers");
            rule.ip_proto.push_back(p.GetInt());
        }
    }
    auto grants = get_array(v, "CapGrant", limits.max_filter_rules);
    if (!grants) return grants.error();
    rule.has_cap_grant = *grants != nullptr && !(*grants)->Empty();
    return rule;
}

}  // namespace

Result<Node> read_node(const Value& v, const MapLimits& limits) {
    if (!v.IsObject()) return type_error("Node", "an object");
    Node n;
    std::optional<crypto::PublicKey> key;
    std::string legacy_derp;
    Status s = FieldReader(v)
                   .i64("ID", n.id)
                   .str("StableID", n.stable_id)
                   .str("Name", n.name)
                   .key("Key", KeyKind::kNodePublic, key)
                   .time("KeyExpiry", n.key_expiry)
                   .key("DiscoKey", KeyKind::kDiscoPublic, n.disco_key)
                   .i32("HomeDERP", n.home_derp)
                   .str("DERP", legacy_derp)
                   .opt_bool("Online", n.online)
                   .time("LastSeen", n.last_seen)
                   .boolean("Expired", n.expired)
                   .boolean("MachineAuthorized", n.machine_authorized)
                   .i32("Cap", n.cap)
                   .boolean("IsWireGuardOnly", n.is_wireguard_only)
                   .status();
    if (!s) return s.error();
    if (key) n.key = *key;
    bool present = false;
    if (s = get_prefixes(v, "Addresses", limits.max_items, n.addresses, present); !s) {
        return s.error();
    }
    bool allowed_present = false;
    s = get_prefixes(v, "AllowedIPs", limits.max_items, n.allowed_ips, allowed_present);
    if (!s) return s.error();
    if (!allowed_present) n.allowed_ips = n.addresses;  // nil AllowedIPs: same as Addresses
    if (s = get_endpoints(v, "Endpoints", limits.max_items, n.endpoints, present); !s) {
        return s.error();
    }
    // Go's upgradeNode: the legacy DERP string only counts when HomeDERP is unset.
    if (n.home_derp == 0 && !legacy_derp.empty()) n.home_derp = legacy_derp_region(legacy_derp);
    auto hostinfo = get_object(v, "Hostinfo");
    if (!hostinfo) return hostinfo.error();
    if (*hostinfo != nullptr) {
        if (s = get_string(**hostinfo, "Hostname", n.hostname); !s) {
            return with_context(s.error(), "Hostinfo");
        }
    }
    return n;
}

Result<PeerChange> read_peer_change(const Value& v, const MapLimits& limits) {
    if (!v.IsObject()) return type_error("PeerChange", "an object");
    PeerChange pc;
    Status s = FieldReader(v)
                   .i64("NodeID", pc.node_id)
                   .i32("DERPRegion", pc.derp_region)
                   .i32("Cap", pc.cap)
                   .key("Key", KeyKind::kNodePublic, pc.key)
                   .key("DiscoKey", KeyKind::kDiscoPublic, pc.disco_key)
                   .opt_bool("Online", pc.online)
                   .time("LastSeen", pc.last_seen, true)
                   .time("KeyExpiry", pc.key_expiry, true)
                   .status();
    if (!s) return s.error();
    std::vector<Endpoint> eps;
    bool present = false;
    if (s = get_endpoints(v, "Endpoints", limits.max_items, eps, present); !s) return s.error();
    if (present) pc.endpoints = std::move(eps);
    return pc;
}

Result<DERPMap> read_derp_map(const Value& v, const MapLimits& limits) {
    if (!v.IsObject()) return type_error("DERPMap", "an object");
    DERPMap m;
    if (auto s = get_bool(v, "omitDefaultRegions", m.omit_default_regions); !s) return s.error();
    auto regions = get_object(v, "Regions");
    if (!regions) return regions.error();
    if (*regions == nullptr) return m;
    m.has_regions = true;
    if ((*regions)->MemberCount() > limits.max_items) {
        return make_error(Errc::kLimitReached, "Regions: more than " +
                                                   std::to_string(limits.max_items) + " regions");
    }
    for (auto it = (*regions)->MemberBegin(); it != (*regions)->MemberEnd(); ++it) {
        const std::string_view id_text = as_view(it->name);
        int id = 0;
        const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        if (ec != std::errc() || end != id_text.data() + id_text.size()) {
            return make_error(Errc::kProtocol, "Regions: key is not a region number");
        }
        if (it->value.IsNull()) continue;  // nil region: dropped, as Go does
        if (!it->value.IsObject()) return type_error("Regions", "region objects");
        auto r = read_derp_region(it->value, limits);
        if (!r) return with_context(r.error(), "Regions[" + std::to_string(id) + "]");
        m.regions[id] = std::move(*r);
    }
    return m;
}

Result<FilterRuleSet> read_filter_rules(const Value& v, const MapLimits& limits) {
    if (!v.IsArray()) return type_error("", "an array of FilterRule");
    if (v.Size() > limits.max_filter_rules) {
        return make_error(Errc::kLimitReached, "more than " +
                                                   std::to_string(limits.max_filter_rules) +
                                                   " filter rules");
    }
    FilterRuleSet set;
    std::size_t i = 0;
    for (const Value& e : v.GetArray()) {
        auto rule = read_filter_rule(e, limits, set.uses_legacy_bits);
        if (!rule) return with_context(rule.error(), "[" + std::to_string(i) + "]");
        set.rules.push_back(std::move(*rule));
        ++i;
    }
    return set;
}

}  // namespace tunless::tailnet::json
