// The tailcfg JSON subset tunless speaks with a Tailscale/headscale control server (tailscale
// tailcfg/tailcfg.go, tailcfg/derpmap.go): register and map requests we write, the register,
// /key and map responses we read. Plain values; parsing validates everything that comes from
// the server (malformed keys, prefixes, sizes: error values, never an assert). Callers: the
// control session (requests/responses) and NetMap (netmap.hpp), which applies MapResponses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/filter_rules.hpp"

namespace tunless::tailnet {

using NodeId = std::int64_t;  // tailcfg.NodeID; JSON map keys carry it as a decimal string

// An RFC 3339 instant ("2026-01-02T03:04:05.5Z", offsets allowed), as Unix time.
struct Timestamp {
    std::int64_t unix_seconds = 0;
    std::uint32_t nanos = 0;
    auto operator<=>(const Timestamp&) const = default;
};
// Go's time.Time{} ("0001-01-01T00:00:00Z"): fields that are "zero" mean "not set".
inline constexpr std::int64_t kGoZeroTimeUnix = -62135596800;
std::optional<Timestamp> parse_rfc3339(std::string_view text);
std::string format_rfc3339(const Timestamp& t);  // UTC, "Z", fraction only when non-zero

// ---- requests we send ------------------------------------------------------------------------

struct NetInfo {
    int preferred_derp = 0;                                 // PreferredDERP
    std::vector<std::pair<std::string, double>> derp_latency;  // DERPLatency "<id>-v4" -> seconds
};

struct Hostinfo {
    std::string hostname;     // Hostname (headscale derives the MagicDNS name from it)
    std::string os = "linux";
    std::string os_version;
    std::string ipn_version;  // IPNVersion: our version string
    std::string app;          // App, omitted when empty
    bool userspace = false;   // Userspace (opt.Bool: written only when true)
    std::optional<NetInfo> net_info;
    std::vector<std::string> request_tags;
};

struct RegisterRequest {
    int version = 0;  // capability version
    crypto::PublicKey node_key;
    std::optional<crypto::PublicKey> old_node_key;  // when rotating an expired node key
    std::optional<std::string> auth_key;            // Auth.AuthKey (pre-auth key login)
    std::string followup;                           // AuthURL of an interactive login
    Hostinfo hostinfo;
    bool ephemeral = false;
    std::optional<Timestamp> expiry;  // a time in the past = logout
};

struct MapRequest {
    int version = 0;
    crypto::PublicKey node_key;
    crypto::PublicKey disco_key;  // must be non-zero: peers ignore nodes with a zero disco key
    bool stream = false;
    bool keep_alive = false;
    bool omit_peers = false;
    Hostinfo hostinfo;
    std::vector<Endpoint> endpoints;  // UDP endpoints only, written "ip:port" / "[v6]:port"
    std::vector<int> endpoint_types;  // parallel: 1 local, 2 STUN, 3 port-mapped, ...
};

// Compact JSON with Go's field names. Zero/absent keys are omitted, never written as "".
std::string to_json(const RegisterRequest& req);
std::string to_json(const MapRequest& req);

// ---- responses we read -----------------------------------------------------------------------

struct RegisterResponse {
    std::int64_t user_id = 0;  // User.ID
    std::string login_name;    // Login.LoginName (User.LoginName from older servers)
    std::string display_name;  // User.DisplayName, else Login.DisplayName
    bool node_key_expired = false;
    bool machine_authorized = false;
    std::string auth_url;
    std::string error;  // non-empty: registration failed, the rest is meaningless
};
Result<RegisterResponse> parse_register_response(std::string_view json);

// GET /key?v=N: {"legacyPublicKey":"mkey:..","publicKey":"mkey:.."} -> the Noise static key.
Result<crypto::PublicKey> parse_key_response(std::string_view json);

struct Node {
    NodeId id = 0;
    std::string stable_id;
    std::string name;  // FQDN with trailing dot ("host.tailnet.ts.net.")
    crypto::PublicKey key;  // node key = WireGuard public key; zero when absent
    std::optional<Timestamp> key_expiry;  // nullopt: does not expire
    std::optional<crypto::PublicKey> disco_key;
    std::vector<IpPrefix> addresses;
    // AllowedIPs; JSON null/absent means "same as Addresses" (capver 112) and is resolved while
    // parsing, as Go's upgradeNode does, so this is always the routing set.
    std::vector<IpPrefix> allowed_ips;
    std::vector<Endpoint> endpoints;  // numeric "ip:port" entries; anything else skipped
    int home_derp = 0;                // HomeDERP, or the legacy "DERP":"127.3.3.40:<region>"
    std::optional<bool> online;
    std::optional<Timestamp> last_seen;
    bool expired = false;
    bool machine_authorized = false;
    std::string hostname;  // Hostinfo.Hostname
    int cap = 0;           // peer's capability version
    bool is_wireguard_only = false;
    bool operator==(const Node&) const = default;
};

struct DERPNode {
    std::string name;
    int region_id = 0;
    std::string host_name;
    std::string cert_name;
    std::string ipv4;  // "" = resolve HostName, "none" = disabled, else an address
    std::string ipv6;
    int stun_port = 0;  // 0 = 3478, -1 = disabled
    bool stun_only = false;
    int derp_port = 0;  // 0 = 443
    bool insecure_for_tests = false;
    bool can_port80 = false;
    bool operator==(const DERPNode&) const = default;
};

struct DERPRegion {
    int region_id = 0;
    std::string region_code;
    std::string region_name;
    bool avoid = false;
    bool no_measure_no_home = false;
    std::vector<DERPNode> nodes;
    bool operator==(const DERPRegion&) const = default;
};

// As received: `has_regions` false means the server sent no Regions (keep the previous ones).
// JSON null region values are dropped while parsing (Go guards against headscale sending them
// the same way, control/controlclient/map.go). HomeParams is ignored.
struct DERPMap {
    bool has_regions = false;
    std::map<int, DERPRegion> regions;
    bool omit_default_regions = false;
    bool operator==(const DERPMap&) const = default;
};

struct DNSRecord {
    std::string name;
    std::string type;  // "A", "AAAA" or "" (then inferred from value)
    std::string value;
    bool operator==(const DNSRecord&) const = default;
};

struct DNSConfig {
    std::vector<std::string> resolvers;  // Resolvers[].Addr
    std::vector<std::string> domains;    // search domains
    std::vector<DNSRecord> extra_records;
    bool proxied = false;
    bool operator==(const DNSConfig&) const = default;
};

struct PeerChange {
    NodeId node_id = 0;
    int derp_region = 0;  // 0 = unchanged
    int cap = 0;          // 0 = unchanged
    std::optional<std::vector<Endpoint>> endpoints;
    std::optional<crypto::PublicKey> key;
    std::optional<crypto::PublicKey> disco_key;
    std::optional<bool> online;
    std::optional<Timestamp> last_seen;
    std::optional<Timestamp> key_expiry;
};

struct PingRequest {
    std::string url;
    bool url_is_noise = false;
    bool log = false;
    std::string types;  // "disco", "TSMP", "c2n", ... (comma separated)
    std::optional<IpAddress> ip;
};

// One PacketFilter list. Go refuses a rule set using the deprecated SrcBits/Bits (the whole
// filter then matches nothing: wgengine/filter/tailcfg.go MatchesFromFilterRules), so such a
// list is kept with `uses_legacy_bits` set and NetMap turns the effective filter into deny-all.
struct FilterRuleSet {
    std::vector<FilterRule> rules;
    bool uses_legacy_bits = false;
    bool operator==(const FilterRuleSet&) const = default;
};

struct MapResponse {
    bool keep_alive = false;  // if true, only ping_request/control_time count
    std::optional<PingRequest> ping_request;
    std::optional<Timestamp> control_time;

    std::optional<Node> node;  // self; nullopt = unchanged
    std::optional<DERPMap> derp_map;
    std::vector<Node> peers;  // non-empty: the complete peer set, the Peers* deltas are ignored
    std::vector<Node> peers_changed;
    std::vector<NodeId> peers_removed;
    std::vector<PeerChange> peers_changed_patch;
    std::vector<std::pair<NodeId, bool>> peer_seen_change;
    std::vector<std::pair<NodeId, bool>> online_change;
    std::optional<DNSConfig> dns_config;
    std::string domain;  // "" = unchanged
    // nullopt = unchanged; an empty list = block everything. Same as PacketFilters{"base": ..}.
    std::optional<FilterRuleSet> packet_filter;
    // name -> list; a nullopt value deletes that name, "*" -> nullopt clears all names first.
    std::optional<std::map<std::string, std::optional<FilterRuleSet>>> packet_filters;
};

struct MapLimits {
    std::size_t max_json_bytes = 4u << 20;  // the framing's cap (map_stream.hpp)
    std::size_t max_depth = 64;              // JSON nesting, checked before building the DOM
    std::size_t max_peers = 10000;           // per list (Peers, PeersChanged, ...)
    std::size_t max_items = 1024;            // addresses, endpoints, DERP regions/nodes, ...
    std::size_t max_filter_rules = 10000;    // per rule list
};

Result<MapResponse> parse_map_response(std::string_view json, const MapLimits& limits = {});

}  // namespace tunless::tailnet
