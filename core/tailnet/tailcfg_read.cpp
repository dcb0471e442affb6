// Parsers for the control server's responses: /machine/register, /key and the /machine/map
// messages (tailscale tailcfg/tailcfg.go). Node-level readers live in tailcfg_read_node.cpp.
// Unknown fields are ignored, absent/null fields keep their defaults, wrong types and malformed
// keys/prefixes fail the whole message as Go's json.Unmarshal does.
#include <charconv>
#include <string>

#include "core/tailnet/tailcfg_json.hpp"

namespace tunless::tailnet {

namespace {

using json::Value;

// Register and key responses are small; anything bigger is not a control server talking.
constexpr std::size_t kSmallJsonMax = 1u << 20;
constexpr std::size_t kSmallJsonDepth = 32;

Error in(Error e, std::string_view what) { return json::with_context(std::move(e), what); }

std::string indexed(std::string_view name, std::size_t i) {
    return std::string(name) + "[" + std::to_string(i) + "]";
}

Status read_nodes(const Value& obj, std::string_view name, const MapLimits& limits,
                  std::vector<Node>& out) {
    auto arr = json::get_array(obj, name, limits.max_peers);
    if (!arr) return arr.error();
    if (*arr == nullptr) return {};
    out.reserve((*arr)->Size());
    std::size_t i = 0;
    for (const Value& e : (*arr)->GetArray()) {
        if (!e.IsNull()) {  // nil *Node entries carry nothing
            auto n = json::read_node(e, limits);
            if (!n) return in(n.error(), indexed(name, i));
            out.push_back(std::move(*n));
        }
        ++i;
    }
    return {};
}

// map[NodeID]bool: decimal string keys.
Status read_id_bool_map(const Value& obj, std::string_view name, const MapLimits& limits,
                        std::vector<std::pair<NodeId, bool>>& out) {
    auto m = json::get_object(obj, name);
    if (!m) return m.error();
    if (*m == nullptr) return {};
    if ((*m)->MemberCount() > limits.max_peers) {
        return make_error(Errc::kLimitReached, std::string(name) + ": too many entries");
    }
    for (auto it = (*m)->MemberBegin(); it != (*m)->MemberEnd(); ++it) {
        const std::string_view k = json::as_view(it->name);
        NodeId id = 0;
        const auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
        if (ec != std::errc() || end != k.data() + k.size()) {
            return make_error(Errc::kProtocol, std::string(name) + ": key is not a node ID");
        }
        if (!it->value.IsBool()) return json::type_error(name, "boolean values");
        out.emplace_back(id, it->value.GetBool());
    }
    return {};
}

Result<DNSConfig> read_dns_config(const Value& v, const MapLimits& limits) {
    DNSConfig c;
    Status s = json::FieldReader(v)
                   .strings("Domains", limits.max_items, c.domains)
                   .boolean("Proxied", c.proxied)
                   .status();
    if (!s) return s.error();
    auto resolvers = json::get_array(v, "Resolvers", limits.max_items);
    if (!resolvers) return resolvers.error();
    if (*resolvers != nullptr) {
        for (const Value& r : (*resolvers)->GetArray()) {
            if (r.IsNull()) continue;
            if (!r.IsObject()) return json::type_error("Resolvers", "objects");
            std::string addr;
            if (s = json::get_string(r, "Addr", addr); !s) return in(s.error(), "Resolvers");
            c.resolvers.push_back(std::move(addr));
        }
    }
    auto records = json::get_array(v, "ExtraRecords", limits.max_peers);
    if (!records) return records.error();
    if (*records != nullptr) {
        for (const Value& r : (*records)->GetArray()) {
            if (!r.IsObject()) return json::type_error("ExtraRecords", "objects");
            DNSRecord rec;
            s = json::FieldReader(r)
                    .str("Name", rec.name)
                    .str("Type", rec.type)
                    .str("Value", rec.value)
                    .status();
            if (!s) return in(s.error(), "ExtraRecords");
            c.extra_records.push_back(std::move(rec));
        }
    }
    return c;
}

Result<PingRequest> read_ping_request(const Value& v) {
    PingRequest p;
    std::string ip;
    const Status s = json::FieldReader(v)
                         .str("URL", p.url)
                         .boolean("URLIsNoise", p.url_is_noise)
                         .boolean("Log", p.log)
                         .str("Types", p.types)
                         .str("IP", ip)
                         .status();
    if (!s) return s.error();
    if (!ip.empty()) {
        p.ip = IpAddress::parse(ip);
        if (!p.ip) return make_error(Errc::kProtocol, "IP: not an address");
    }
    return p;
}

Status read_packet_filters(const Value& obj, const MapLimits& limits, MapResponse& r) {
    if (const Value* pf = json::member(obj, "PacketFilter"); pf != nullptr) {
        auto set = json::read_filter_rules(*pf, limits);
        if (!set) return in(set.error(), "PacketFilter");
        r.packet_filter = std::move(*set);
    }
    auto named = json::get_object(obj, "PacketFilters");
    if (!named) return named.error();
    if (*named == nullptr) return {};
    if ((*named)->MemberCount() > limits.max_items) {
        return make_error(Errc::kLimitReached, "PacketFilters: too many named lists");
    }
    auto& out = r.packet_filters.emplace();
    for (auto it = (*named)->MemberBegin(); it != (*named)->MemberEnd(); ++it) {
        std::string name(json::as_view(it->name));
        if (it->value.IsNull()) {
            out[name] = std::nullopt;
            continue;
        }
        auto set = json::read_filter_rules(it->value, limits);
        if (!set) return in(set.error(), "PacketFilters[" + name + "]");
        out[name] = std::move(*set);
    }
    return {};
}

Status read_map_deltas(const Value& doc, const MapLimits& limits, MapResponse& r) {
    if (auto s = read_nodes(doc, "Peers", limits, r.peers); !s) return s;
    if (auto s = read_nodes(doc, "PeersChanged", limits, r.peers_changed); !s) return s;
    auto removed = json::get_array(doc, "PeersRemoved", limits.max_peers);
    if (!removed) return removed.error();
    if (*removed != nullptr) {
        for (const Value& e : (*removed)->GetArray()) {
            if (!e.IsInt64()) return json::type_error("PeersRemoved", "node IDs");
            r.peers_removed.push_back(e.GetInt64());
        }
    }
    auto patches = json::get_array(doc, "PeersChangedPatch", limits.max_peers);
    if (!patches) return patches.error();
    if (*patches != nullptr) {
        std::size_t i = 0;
        for (const Value& e : (*patches)->GetArray()) {
            if (!e.IsNull()) {
                auto pc = json::read_peer_change(e, limits);
                if (!pc) return in(pc.error(), indexed("PeersChangedPatch", i));
                r.peers_changed_patch.push_back(std::move(*pc));
            }
            ++i;
        }
    }
    if (auto s = read_id_bool_map(doc, "PeerSeenChange", limits, r.peer_seen_change); !s) {
        return s;
    }
    return read_id_bool_map(doc, "OnlineChange", limits, r.online_change);
}

}  // namespace

Result<RegisterResponse> parse_register_response(std::string_view text) {
    rapidjson::Document doc;
    if (auto s = json::parse_document(text, kSmallJsonMax, kSmallJsonDepth, doc); !s) {
        return in(s.error(), "RegisterResponse");
    }
    RegisterResponse r;
    Status s = json::FieldReader(doc)
                   .boolean("NodeKeyExpired", r.node_key_expired)
                   .boolean("MachineAuthorized", r.machine_authorized)
                   .str("AuthURL", r.auth_url)
                   .str("Error", r.error)
                   .status();
    if (!s) return in(s.error(), "RegisterResponse");
    auto user = json::get_object(doc, "User");
    auto login = json::get_object(doc, "Login");
    if (!user) return in(user.error(), "RegisterResponse");
    if (!login) return in(login.error(), "RegisterResponse");
    if (*login != nullptr) {
        s = json::FieldReader(**login)
                .str("LoginName", r.login_name)
                .str("DisplayName", r.display_name)
                .status();
        if (!s) return in(s.error(), "RegisterResponse.Login");
    }
    if (*user != nullptr) {
        std::string login_name;
        std::string display_name;
        s = json::FieldReader(**user)
                .i64("ID", r.user_id)
                .str("LoginName", login_name)
                .str("DisplayName", display_name)
                .status();
        if (!s) return in(s.error(), "RegisterResponse.User");
        if (r.login_name.empty()) r.login_name = std::move(login_name);
        if (!display_name.empty()) r.display_name = std::move(display_name);
    }
    return r;
}

Result<crypto::PublicKey> parse_key_response(std::string_view text) {
    rapidjson::Document doc;
    if (auto s = json::parse_document(text, kSmallJsonMax, kSmallJsonDepth, doc); !s) {
        return in(s.error(), "key response");
    }
    std::optional<crypto::PublicKey> key;
    if (auto s = json::get_key(doc, "publicKey", KeyKind::kMachinePublic, key); !s) {
        return in(s.error(), "key response");
    }
    if (!key || key->is_zero()) {
        return fail(Errc::kProtocol, "key response: no publicKey (server too old for ts2021?)");
    }
    return *key;
}

Result<MapResponse> parse_map_response(std::string_view text, const MapLimits& limits) {
    rapidjson::Document doc;
    if (auto s = json::parse_document(text, limits.max_json_bytes, limits.max_depth, doc); !s) {
        return in(s.error(), "MapResponse");
    }
    MapResponse r;
    Status s = json::FieldReader(doc)
                   .boolean("KeepAlive", r.keep_alive)
                   .time("ControlTime", r.control_time)
                   .str("Domain", r.domain)
                   .status();
    if (!s) return in(s.error(), "MapResponse");
    if (const Value* p = json::member(doc, "PingRequest"); p != nullptr) {
        if (!p->IsObject()) return fail(Errc::kProtocol, "MapResponse.PingRequest: not an object");
        auto ping = read_ping_request(*p);
        if (!ping) return in(ping.error(), "MapResponse.PingRequest");
        r.ping_request = std::move(*ping);
    }
    if (const Value* n = json::member(doc, "Node"); n != nullptr) {
        auto node = json::read_node(*n, limits);
        if (!node) return in(node.error(), "MapResponse.Node");
        r.node = std::move(*node);
    }
    if (const Value* d = json::member(doc, "DERPMap"); d != nullptr) {
        auto dm = json::read_derp_map(*d, limits);
        if (!dm) return in(dm.error(), "MapResponse.DERPMap");
        r.derp_map = std::move(*dm);
    }
    if (const Value* d = json::member(doc, "DNSConfig"); d != nullptr) {
        if (!d->IsObject()) return fail(Errc::kProtocol, "MapResponse.DNSConfig: not an object");
        auto dns = read_dns_config(*d, limits);
        if (!dns) return in(dns.error(), "MapResponse.DNSConfig");
        r.dns_config = std::move(*dns);
    }
    if (s = read_map_deltas(doc, limits, r); !s) return in(s.error(), "MapResponse");
    if (s = read_packet_filters(doc, limits, r); !s) return in(s.error(), "MapResponse");
    return r;
}

}  // namespace tunless::tailnet
