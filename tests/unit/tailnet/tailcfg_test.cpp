// tailcfg JSON: requests we emit (parsed back with RapidJSON and checked field by field against
// Go's names), responses we read (register, /key, map), malformed/oversized/deep input.
#include "core/tailnet/tailcfg.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <string>

#include "core/tailnet/keys.hpp"

using namespace tunless;
using namespace tunless::tailnet;

namespace {

crypto::PublicKey key_of(std::uint8_t fill) {
    crypto::PublicKey k;
    k.bytes.fill(fill);
    return k;
}

rapidjson::Document parse_back(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.IsObject());
    return d;
}

std::string s(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

const std::string kNodeKey1 = node_key_text(key_of(0x11));
const std::string kDisco2 = disco_key_text(key_of(0x22));

}  // namespace

TEST_CASE("tailcfg: RFC 3339 times parse and format like Go") {
    auto t = parse_rfc3339("1970-01-01T00:02:03Z");
    REQUIRE(t);
    CHECK(t->unix_seconds == 123);
    t = parse_rfc3339("2026-08-22T11:48:56.25-04:00");
    REQUIRE(t);
    CHECK(t->unix_seconds == 1787413736);
    CHECK(t->nanos == 250000000u);
    CHECK(format_rfc3339(*t) == "2026-08-22T15:48:56.25Z");
    t = parse_rfc3339("0001-01-01T00:00:00Z");
    REQUIRE(t);
    CHECK(t->unix_seconds == kGoZeroTimeUnix);
    CHECK(format_rfc3339(*t) == "0001-01-01T00:00:00Z");
    CHECK(format_rfc3339(Timestamp{-1, 0}) == "1969-12-31T23:59:59Z");
    for (const char* bad : {"", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01 00:00:00Z",
                            "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+0100",
                            "2026-01-01T00:00:00Zjunk"}) {
        CHECK_FALSE(parse_rfc3339(bad));
    }
}

TEST_CASE("tailcfg: RegisterRequest JSON carries Go's names and omits empty keys") {
    RegisterRequest req;
    req.version = 130;
    req.node_key = key_of(0x11);
    req.auth_key = "tskey-abc";
    req.hostinfo.hostname = "dev1";
    req.hostinfo.ipn_version = "tunless-0.9";
    req.hostinfo.userspace = true;
    req.hostinfo.request_tags = {"tag:x"};
    req.ephemeral = true;
    auto d = parse_back(to_json(req));
    CHECK(d["Version"].GetInt() == 130);
    CHECK(s(d["NodeKey"]) == kNodeKey1);
    CHECK_FALSE(d.HasMember("OldNodeKey"));
    CHECK_FALSE(d.HasMember("NLKey"));
    CHECK_FALSE(d.HasMember("Expiry"));
    CHECK_FALSE(d.HasMember("Followup"));
    CHECK(s(d["Auth"]["AuthKey"]) == "tskey-abc");
    CHECK(d["Ephemeral"].GetBool());
    CHECK(s(d["Hostinfo"]["Hostname"]) == "dev1");
    CHECK(s(d["Hostinfo"]["OS"]) == "linux");
    CHECK(s(d["Hostinfo"]["IPNVersion"]) == "tunless-0.9");
    CHECK(d["Hostinfo"]["Userspace"].GetBool());
    CHECK(s(d["Hostinfo"]["RequestTags"][0]) == "tag:x");
    CHECK_FALSE(d["Hostinfo"].HasMember("App"));

    // Logout with rotation fields: Expiry in the past, no Auth; a zero key is omitted, not "".
    RegisterRequest logout;
    logout.version = 130;
    logout.old_node_key = key_of(0x33);
    logout.followup = "https://hs/register/abc";
    logout.expiry = Timestamp{123, 0};
    d = parse_back(to_json(logout));
    CHECK_FALSE(d.HasMember("NodeKey"));
    CHECK(s(d["OldNodeKey"]) == node_key_text(key_of(0x33)));
    CHECK(s(d["Expiry"]) == "1970-01-01T00:02:03Z");
    CHECK(s(d["Followup"]) == "https://hs/register/abc");
    CHECK_FALSE(d.HasMember("Auth"));
    CHECK_FALSE(d.HasMember("Ephemeral"));
}

TEST_CASE("tailcfg: MapRequest JSON: keys, flags, endpoints in Go's AddrPort form") {
    MapRequest req;
    req.version = 130;
    req.node_key = key_of(0x11);
    req.disco_key = key_of(0x22);
    req.stream = true;
    req.keep_alive = true;
    req.hostinfo.hostname = "dev1";
    req.hostinfo.net_info = NetInfo{7, {{"7-v4", 0.025}}};
    req.endpoints = {Endpoint::udp(*IpAddress::parse("192.0.2.1"), 41641),
                     Endpoint::relay(3),
                     Endpoint::udp(*IpAddress::parse("2001:db8::1"), 41641)};
    req.endpoint_types = {2, 0, 1};
    auto d = parse_back(to_json(req));
    CHECK(d["Version"].GetInt() == 130);
    CHECK(s(d["NodeKey"]) == kNodeKey1);
    CHECK(s(d["DiscoKey"]) == kDisco2);
    CHECK(d["Stream"].GetBool());
    CHECK(d["KeepAlive"].GetBool());
    CHECK_FALSE(d.HasMember("OmitPeers"));
    // Compress "" is Go's zero value: omitted, exactly what Go's own client sends.
    CHECK_FALSE(d.HasMember("Compress"));
    REQUIRE(d["Endpoints"].Size() == 2);
    CHECK(s(d["Endpoints"][0]) == "192.0.2.1:41641");
    CHECK(s(d["Endpoints"][1]) == "[2001:db8::1]:41641");
    REQUIRE(d["EndpointTypes"].Size() == 2);
    CHECK(d["EndpointTypes"][0].GetInt() == 2);
    CHECK(d["EndpointTypes"][1].GetInt() == 1);
    CHECK(d["Hostinfo"]["NetInfo"]["PreferredDERP"].GetInt() == 7);
    CHECK(d["Hostinfo"]["NetInfo"]["DERPLatency"]["7-v4"].GetDouble() == doctest::Approx(0.025));

    MapRequest lite;
    lite.version = 130;
    lite.omit_peers = true;
    d = parse_back(to_json(lite));
    CHECK(d["OmitPeers"].GetBool());
    CHECK_FALSE(d.HasMember("NodeKey"));
    CHECK_FALSE(d.HasMember("DiscoKey"));
    CHECK_FALSE(d.HasMember("Endpoints"));
    CHECK_FALSE(d.HasMember("Stream"));
}

TEST_CASE("tailcfg: RegisterResponse: pre-auth success, interactive, error, junk") {
    auto r = parse_register_response(
        R"({"User":{"ID":7,"DisplayName":"Alice","ProfilePicURL":""},)"
        R"("Login":{"ID":0,"LoginName":"alice@example.com","DisplayName":"A"},)"
        R"("NodeKeyExpired":false,"MachineAuthorized":true,"AuthURL":"","Unknown":{"x":[1]}})");
    REQUIRE(r);
    CHECK(r->user_id == 7);
    CHECK(r->login_name == "alice@example.com");
    CHECK(r->display_name == "Alice");
    CHECK(r->machine_authorized);
    CHECK(r->error.empty());

    r = parse_register_response(R"({"AuthURL":"https://hs/register/xyz","User":{},"Login":{}})");
    REQUIRE(r);
    CHECK(r->auth_url == "https://hs/register/xyz");
    CHECK_FALSE(r->machine_authorized);

    r = parse_register_response(R"({"Error":"invalid authkey","NodeKeyExpired":true})");
    REQUIRE(r);
    CHECK(r->error == "invalid authkey");
    CHECK(r->node_key_expired);

    // Go's decoder matches field names case-insensitively.
    r = parse_register_response(R"({"machineauthorized":true})");
    REQUIRE(r);
    CHECK(r->machine_authorized);

    CHECK_FALSE(parse_register_response(R"({"MachineAuthorized":"yes"})"));
    CHECK_FALSE(parse_register_response("[]"));
    CHECK_FALSE(parse_register_response(R"({"User":)"));
    CHECK_FALSE(parse_register_response(""));
}

TEST_CASE("tailcfg: /key response yields the Noise key; zero or malformed keys are refused") {
    const std::string k = machine_key_text(key_of(0x5a));
    auto key = parse_key_response(R"({"legacyPublicKey":"mkey:)" + std::string(64, '0') +
                                  R"(","publicKey":")" + k + R"("})");
    REQUIRE(key);
    CHECK(*key == key_of(0x5a));
    CHECK_FALSE(parse_key_response(R"({"publicKey":"mkey:)" + std::string(64, '0') + R"("})"));
    CHECK_FALSE(parse_key_response(R"({"publicKey":"nodekey:)" + std::string(64, '1') + R"("})"));
    CHECK_FALSE(parse_key_response(R"({"publicKey":"mkey:12"})"));
    CHECK_FALSE(parse_key_response(R"({"publicKey":5})"));
    CHECK_FALSE(parse_key_response(R"({})"));
}

TEST_CASE("tailcfg: a headscale-like full MapResponse parses") {
    const std::string json = R"({
      "KeepAlive": false,
      "Node": {"ID": 1, "StableID": "s1", "Name": "me.tail.example.", "User": 1,
               "Key": ")" + kNodeKey1 + R"(", "KeyExpiry": "0001-01-01T00:00:00Z",
               "Machine": "mkey:)" + std::string(64, 'a') + R"(",
               "DiscoKey": ")" + kDisco2 + R"(",
               "Addresses": ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
               "AllowedIPs": null, "Endpoints": ["192.0.2.1:41641", "example.com:1", "bad"],
               "HomeDERP": 999, "Hostinfo": {"Hostname": "me", "OS": "linux"},
               "Created": "2026-01-01T00:00:00Z", "MachineAuthorized": true,
               "CapMap": {"admin": null}},
      "DERPMap": {"Regions": {"999": {"RegionID": 999, "RegionCode": "headscale",
                  "RegionName": "Headscale Embedded DERP", "Latitude": 1.5,
                  "Nodes": [{"Name": "999", "RegionID": 999, "HostName": "hs.example",
                             "IPv4": "192.0.2.9", "STUNPort": 3478, "DERPPort": 443,
                             "CanPort80": true}]},
                  "998": null},
                  "omitDefaultRegions": true, "HomeParams": {"RegionScore": {"999": 0.5}}},
      "Peers": [
        {"ID": 2, "Name": "peer.tail.example.", "Key": "nodekey:)" + std::string(64, '2') + R"(",
         "DiscoKey": "discokey:)" + std::string(64, '3') + R"(",
         "Addresses": ["100.64.0.2/32"], "AllowedIPs": ["100.64.0.2/32", "10.0.0.0/8"],
         "DERP": "127.3.3.40:5", "Online": true, "LastSeen": "2026-01-02T03:04:05Z",
         "KeyExpiry": "2027-01-01T00:00:00Z", "Cap": 130, "Expired": false}
      ],
      "DNSConfig": {"Resolvers": [{"Addr": "1.1.1.1"}], "Domains": ["tail.example"],
                    "Proxied": true, "ExtraRecords": [{"Name": "db.tail.example.", "Value": "100.64.0.9"}]},
      "Domain": "tail.example",
      "CollectServices": "false",
      "PacketFilters": {"base": [{"SrcIPs": ["100.64.0.0/10"],
          "DstPorts": [{"IP": "*", "Ports": {"First": 0, "Last": 65535}}], "IPProto": [6, 17]},
          {"SrcIPs": ["*"], "CapGrant": [{"Dsts": ["100.64.0.1/32"], "Caps": ["x"]}]}]},
      "UserProfiles": [{"ID": 1, "LoginName": "alice"}],
      "SSHPolicy": {"rules": []},
      "ControlTime": "2026-08-22T00:00:00Z"
    })";
    auto r = parse_map_response(json);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    REQUIRE(r->node);
    const Node& self = *r->node;
    CHECK(self.id == 1);
    CHECK(self.name == "me.tail.example.");
    CHECK(self.key == key_of(0x11));
    CHECK_FALSE(self.key_expiry);  // Go zero time: never expires
    REQUIRE(self.disco_key);
    CHECK(*self.disco_key == key_of(0x22));
    REQUIRE(self.addresses.size() == 2);
    CHECK(self.addresses[1].to_string() == "fd7a:115c:a1e0::1/128");
    CHECK(self.allowed_ips == self.addresses);  // nil AllowedIPs: same as Addresses
    REQUIRE(self.endpoints.size() == 1);        // non-numeric entries skipped
    CHECK(self.endpoints[0].to_string() == "192.0.2.1:41641");
    CHECK(self.home_derp == 999);
    CHECK(self.hostname == "me");
    CHECK(self.machine_authorized);

    REQUIRE(r->peers.size() == 1);
    const Node& p = r->peers[0];
    CHECK(p.home_derp == 5);  // legacy DERP string
    CHECK(p.allowed_ips.size() == 2);
    CHECK(p.online == std::optional<bool>(true));
    REQUIRE(p.last_seen);
    CHECK(format_rfc3339(*p.last_seen) == "2026-01-02T03:04:05Z");
    REQUIRE(p.key_expiry);
    CHECK(p.cap == 130);

    REQUIRE(r->derp_map);
    CHECK(r->derp_map->has_regions);
    CHECK(r->derp_map->omit_default_regions);
    REQUIRE(r->derp_map->regions.size() == 1);  // null region dropped
    const DERPRegion& reg = r->derp_map->regions.at(999);
    CHECK(reg.region_code == "headscale");
    REQUIRE(reg.nodes.size() == 1);
    CHECK(reg.nodes[0].host_name == "hs.example");
    CHECK(reg.nodes[0].stun_port == 3478);
    CHECK(reg.nodes[0].can_port80);

    REQUIRE(r->dns_config);
    CHECK(r->dns_config->resolvers == std::vector<std::string>{"1.1.1.1"});
    CHECK(r->dns_config->proxied);
    REQUIRE(r->dns_config->extra_records.size() == 1);
    CHECK(r->domain == "tail.example");
    REQUIRE(r->control_time);

    CHECK_FALSE(r->packet_filter);
    REQUIRE(r->packet_filters);
    const auto& base = r->packet_filters->at("base");
    REQUIRE(base);
    CHECK_FALSE(base->uses_legacy_bits);
    REQUIRE(base->rules.size() == 2);
    CHECK(base->rules[0].src_ips == std::vector<std::string>{"100.64.0.0/10"});
    REQUIRE(base->rules[0].dst_ports.size() == 1);
    CHECK(base->rules[0].dst_ports[0] == NetPortRange{"*", PortRange{0, 65535}});
    CHECK(base->rules[0].ip_proto == std::vector<int>{6, 17});
    CHECK_FALSE(base->rules[0].has_cap_grant);
    CHECK(base->rules[1].has_cap_grant);
}

TEST_CASE("tailcfg: MapResponse deltas, patches, null vs empty filters") {
    auto r = parse_map_response(R"({
      "PeersChanged": [{"ID": 3, "Name": "x."}, null],
      "PeersRemoved": [4, 5],
      "PeersChangedPatch": [{"NodeID": 2, "DERPRegion": 4, "Endpoints": [],
                             "KeyExpiry": "0001-01-01T00:00:00Z", "Online": false}],
      "OnlineChange": {"2": true, "9": false},
      "PeerSeenChange": {"3": true},
      "PacketFilter": [],
      "PacketFilters": {"*": null, "a": null, "b": []},
      "PingRequest": {"URL": "https://hs/machine/ping-response?id=1", "Types": "c2n", "IP": "100.64.0.2"}
    })");
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK(r->peers.empty());
    REQUIRE(r->peers_changed.size() == 1);
    CHECK(r->peers_removed == std::vector<NodeId>{4, 5});
    REQUIRE(r->peers_changed_patch.size() == 1);
    const PeerChange& pc = r->peers_changed_patch[0];
    CHECK(pc.derp_region == 4);
    REQUIRE(pc.endpoints);  // present-but-empty is a patch to "no endpoints"
    CHECK(pc.endpoints->empty());
    REQUIRE(pc.key_expiry);  // zero time kept for patches: "no longer expires"
    CHECK(pc.key_expiry->unix_seconds == kGoZeroTimeUnix);
    CHECK(pc.online == std::optional<bool>(false));
    CHECK_FALSE(pc.key);
    CHECK(r->online_change.size() == 2);
    CHECK(r->peer_seen_change.size() == 1);
    REQUIRE(r->packet_filter);  // non-nil empty: block everything
    CHECK(r->packet_filter->rules.empty());
    REQUIRE(r->packet_filters);
    CHECK_FALSE(r->packet_filters->at("*"));
    CHECK_FALSE(r->packet_filters->at("a"));
    REQUIRE(r->packet_filters->at("b"));
    REQUIRE(r->ping_request);
    CHECK(r->ping_request->types == "c2n");
    CHECK(r->ping_request->ip == IpAddress::parse("100.64.0.2"));

    r = parse_map_response(R"({"PacketFilter": null, "Peers": []})");
    REQUIRE(r);
    CHECK_FALSE(r->packet_filter);  // null: unchanged
    CHECK(r->peers.empty());

    r = parse_map_response(R"({"KeepAlive": true})");
    REQUIRE(r);
    CHECK(r->keep_alive);
}

TEST_CASE("tailcfg: legacy SrcBits/Bits mark the rule set as rejected") {
    auto r = parse_map_response(
        R"({"PacketFilter": [{"SrcIPs": ["100.64.0.1"], "SrcBits": [32],)"
        R"( "DstPorts": [{"IP": "*", "Ports": {"First": 22, "Last": 22}}]}]})");
    REQUIRE(r);
    REQUIRE(r->packet_filter);
    CHECK(r->packet_filter->uses_legacy_bits);
    r = parse_map_response(
        R"({"PacketFilters": {"x": [{"SrcIPs": ["*"], "DstPorts": [{"IP": "*", "Bits": 0}]}]}})");
    REQUIRE(r);
    CHECK(r->packet_filters->at("x")->uses_legacy_bits);
    r = parse_map_response(R"({"PacketFilter": [{"SrcIPs": ["*"], "SrcBits": []}]})");
    REQUIRE(r);
    CHECK_FALSE(r->packet_filter->uses_legacy_bits);
}

TEST_CASE("tailcfg: malformed MapResponses are rejected with a field path") {
    struct Case {
        const char* json;
        const char* needle;
    };
    const Case cases[] = {
        {R"({"Node": {"Key": "nodekey:zz"}})", "Node.Key"},
        {R"({"Node": {"Key": ""}})", "Node.Key"},
        {R"({"Node": {"Addresses": ["100.64.0.1"]}})", "Addresses"},
        {R"({"Node": {"ID": "1"}})", "ID"},
        {R"({"Node": []})", "Node"},
        {R"({"Peers": [{"ID": 1}, {"ID": 1.5}]})", "Peers[1]"},
        {R"({"PeersRemoved": ["1"]})", "PeersRemoved"},
        {R"({"OnlineChange": {"abc": true}})", "OnlineChange"},
        {R"({"OnlineChange": {"1": 1}})", "OnlineChange"},
        {R"({"DERPMap": {"Regions": {"x": {}}}})", "Regions"},
        {R"({"DERPMap": {"Regions": {"1": {"Nodes": [{"STUNPort": "a"}]}}}})", "Nodes[0]"},
        {R"({"PacketFilter": [{"DstPorts": [{"IP": "*", "Ports": {"First": 70000}}]}]})", "Ports"},
        {R"({"PacketFilter": {}})", "PacketFilter"},
        {R"({"Node": {"KeyExpiry": "yesterday"}})", "KeyExpiry"},
        {R"({"KeepAlive": true,})", "malformed JSON"},
        {R"([1,2])", "not an object"},
        {R"({"a":1} {"b":2})", "malformed JSON"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.json);
        auto r = parse_map_response(c.json);
        REQUIRE_FALSE(r);
        CAPTURE(r.error().message);
        CHECK(r.error().message.find(c.needle) != std::string::npos);
    }
}

TEST_CASE("tailcfg: size, depth and count limits") {
    MapLimits limits;
    limits.max_json_bytes = 64;
    auto r = parse_map_response(R"({"Domain": ")" + std::string(100, 'a') + R"("})", limits);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kLimitReached);

    // Deep nesting in an unknown field: refused before a DOM is built, no stack use.
    const std::string deep = R"({"X":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
    r = parse_map_response(deep);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kLimitReached);
    // Brackets inside strings do not count.
    r = parse_map_response(R"({"Domain": ")" + std::string(1000, '[') + R"("})");
    REQUIRE(r);
    CHECK(r->domain.size() == 1000);
    // With the depth check off, RapidJSON's iterative parser still copes (no recursion).
    MapLimits no_depth;
    no_depth.max_depth = deep.size();
    r = parse_map_response(deep, no_depth);
    CHECK(r);

    MapLimits few;
    few.max_peers = 2;
    r = parse_map_response(R"({"Peers": [{"ID":1},{"ID":2},{"ID":3}]})", few);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kLimitReached);
}
