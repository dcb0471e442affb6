// NetMap delta application, transcribed in spirit from tailscale control/controlclient/
// map_test.go (TestUpdatePeersStateFromResponse, TestNetmapForResponse, TestDeltaDERPMap,
// TestUpgradeNode) plus the NetMapDelta the daemon relies on and name resolution.
#include "core/tailnet/netmap.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tunless;
using namespace tunless::tailnet;

namespace {

Node n(NodeId id, std::string name) {
    Node x;
    x.id = id;
    x.name = std::move(name);
    return x;
}

Endpoint ep(const char* text) { return *Endpoint::parse_numeric(text); }

crypto::PublicKey key_of(std::uint8_t fill) {
    crypto::PublicKey k;
    k.bytes.fill(fill);
    return k;
}

NetMap with_peers(std::vector<Node> prev) {
    NetMap nm;
    if (prev.empty()) return nm;
    MapResponse r;
    r.peers = std::move(prev);
    NetMapDelta d;
    REQUIRE(nm.apply(r, d));
    return nm;
}

std::vector<std::string> names(const NetMap& nm) {
    std::vector<std::string> out;
    for (const auto& [id, p] : nm.peers()) out.push_back(std::to_string(id) + ":" + p.name);
    return out;
}

MapResponse parsed(const std::string& json) {
    auto r = parse_map_response(json);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return *r;
}

FilterRule rule_from(const char* src) {
    FilterRule r;
    r.src_ips = {src};
    r.dst_ports = {NetPortRange{"10.2.3.4", PortRange{22, 22}}};
    return r;
}

using Ids = std::vector<NodeId>;

}  // namespace

TEST_CASE("netmap: full peers, ignored deltas, add/update/remove (map_test.go table)") {
    SUBCASE("full_peers") {
        NetMap nm;
        MapResponse r;
        r.peers = {n(1, "foo"), n(2, "bar")};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(names(nm) == std::vector<std::string>{"1:foo", "2:bar"});
        CHECK(d.full_peers);
        CHECK(d.added == Ids{1, 2});
    }
    SUBCASE("full_peers_ignores_deltas") {
        NetMap nm;
        MapResponse r;
        r.peers = {n(1, "foo"), n(2, "bar")};
        r.peers_removed = {2};
        r.online_change = {{1, true}};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(names(nm) == std::vector<std::string>{"1:foo", "2:bar"});
        CHECK_FALSE(nm.peer(1)->online);
    }
    SUBCASE("full_peers_replaces_and_reports") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar"), n(3, "baz")});
        MapResponse r;
        r.peers = {n(2, "bar"), n(3, "baz2"), n(4, "new")};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(d.added == Ids{4});
        CHECK(d.changed == Ids{3});  // 2 is identical: not reported
        CHECK(d.removed == Ids{1});
    }
    SUBCASE("add_and_update") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar")});
        MapResponse r;
        r.peers_changed = {n(0, "zero"), n(2, "bar2"), n(3, "three")};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(names(nm) == std::vector<std::string>{"0:zero", "1:foo", "2:bar2", "3:three"});
        CHECK(d.added == Ids{0, 3});
        CHECK(d.changed == Ids{2});
        CHECK_FALSE(d.full_peers);
    }
    SUBCASE("remove") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar")});
        MapResponse r;
        r.peers_removed = {1, 3, 4};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(names(nm) == std::vector<std::string>{"2:bar"});
        CHECK(d.removed == Ids{1});
    }
    SUBCASE("add_and_remove") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar")});
        MapResponse r;
        r.peers_changed = {n(1, "foo2")};
        r.peers_removed = {2};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(names(nm) == std::vector<std::string>{"1:foo2"});
        CHECK(d.changed == Ids{1});
        CHECK(d.removed == Ids{2});
    }
    SUBCASE("remove_then_readd_in_one_message_is_a_change") {
        NetMap nm = with_peers({n(1, "foo")});
        MapResponse r;
        r.peers_removed = {1};
        r.peers_changed = {n(1, "foo3")};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(d.changed == Ids{1});
        CHECK(d.removed.empty());
        CHECK(d.added.empty());
    }
    SUBCASE("unchanged") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar")});
        NetMapDelta d;
        REQUIRE(nm.apply(MapResponse{}, d));
        CHECK(names(nm) == std::vector<std::string>{"1:foo", "2:bar"});
        CHECK(d.empty());
    }
}

TEST_CASE("netmap: online / seen changes and patches apply to known peers only") {
    SUBCASE("online_change") {
        NetMap nm = with_peers({n(1, "foo"), n(2, "bar")});
        MapResponse r;
        r.online_change = {{1, true}, {404, true}};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(nm.peer(1)->online == std::optional<bool>(true));
        CHECK_FALSE(nm.peer(2)->online);
        CHECK(nm.peer(404) == nullptr);
        CHECK(d.changed == Ids{1});
        CHECK(d.added.empty());
    }
    SUBCASE("peer_seen_at") {
        Node foo = n(1, "foo");
        foo.last_seen = Timestamp{111, 0};
        NetMap nm = with_peers({foo, n(2, "bar")});
        MapResponse r;
        r.peer_seen_change = {{1, false}, {2, true}};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d, Timestamp{123, 0}));
        CHECK_FALSE(nm.peer(1)->last_seen);
        CHECK(nm.peer(2)->last_seen == std::optional<Timestamp>(Timestamp{123, 0}));
        CHECK(d.changed == Ids{1, 2});
    }
    SUBCASE("ep_change_derp / udp / both") {
        Node foo = n(1, "foo");
        foo.home_derp = 3;
        foo.endpoints = {ep("1.2.3.4:111")};
        NetMap nm = with_peers({foo});
        MapResponse r;
        PeerChange pc;
        pc.node_id = 1;
        pc.derp_region = 4;
        r.peers_changed_patch = {pc};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        CHECK(nm.peer(1)->home_derp == 4);
        CHECK(nm.peer(1)->endpoints == std::vector<Endpoint>{ep("1.2.3.4:111")});
        pc.derp_region = 0;
        pc.endpoints = std::vector<Endpoint>{ep("1.2.3.4:56")};
        r.peers_changed_patch = {pc};
        REQUIRE(nm.apply(r, d));
        CHECK(nm.peer(1)->home_derp == 4);
        CHECK(nm.peer(1)->endpoints == std::vector<Endpoint>{ep("1.2.3.4:56")});
        CHECK(d.changed == Ids{1});
        // Re-applying the identical patch changes nothing and reports nothing.
        REQUIRE(nm.apply(r, d));
        CHECK(d.empty());
    }
    SUBCASE("change_key / disco / online / last_seen / key_expiry; unknown id ignored") {
        NetMap nm = with_peers({n(1, "foo")});
        MapResponse r;
        PeerChange pc;
        pc.node_id = 1;
        pc.key = key_of(0x41);
        pc.disco_key = key_of(0x42);
        pc.online = true;
        pc.last_seen = Timestamp{123, 0};
        pc.key_expiry = Timestamp{456, 0};
        PeerChange unknown;
        unknown.node_id = 77;
        unknown.derp_region = 9;
        r.peers_changed_patch = {pc, unknown};
        NetMapDelta d;
        REQUIRE(nm.apply(r, d));
        const Node* p = nm.peer(1);
        CHECK(p->key == key_of(0x41));
        CHECK(p->disco_key == std::optional<crypto::PublicKey>(key_of(0x42)));
        CHECK(p->online == std::optional<bool>(true));
        CHECK(p->last_seen == std::optional<Timestamp>(Timestamp{123, 0}));
        CHECK(p->key_expiry == std::optional<Timestamp>(Timestamp{456, 0}));
        CHECK(nm.peer(77) == nullptr);
        CHECK(nm.peer_by_node_key(key_of(0x41)) == p);
        CHECK(nm.peer_by_node_key(key_of(0x43)) == nullptr);
        CHECK(d.changed == Ids{1});
        // A zero-time KeyExpiry patch means "no longer expires".
        PeerChange never;
        never.node_id = 1;
        never.key_expiry = Timestamp{kGoZeroTimeUnix, 0};
        r.peers_changed_patch = {never};
        REQUIRE(nm.apply(r, d));
        CHECK_FALSE(nm.peer(1)->key_expiry);
    }
}

TEST_CASE("netmap: keep-alive messages change nothing") {
    NetMap nm = with_peers({n(1, "foo")});
    MapResponse r;
    r.keep_alive = true;
    r.peers_removed = {1};
    r.domain = "x";
    NetMapDelta d;
    REQUIRE(nm.apply(r, d));
    CHECK(d.empty());
    CHECK(nm.peer(1) != nullptr);
    CHECK(nm.domain().empty());
}

TEST_CASE("netmap: implicit self node, DNS config and domain stay until replaced") {
    NetMap nm;
    MapResponse r;
    r.node = n(1, "self.ts.net.");
    r.dns_config = DNSConfig{{}, {"foo", "bar"}, {}, false};
    r.domain = "foo.com";
    NetMapDelta d;
    REQUIRE(nm.apply(r, d));
    CHECK(d.self_changed);
    CHECK(d.dns_changed);
    CHECK(d.domain_changed);
    REQUIRE(nm.apply(MapResponse{}, d));
    CHECK(d.empty());
    REQUIRE(nm.self());
    CHECK(nm.self()->name == "self.ts.net.");
    CHECK(nm.dns()->domains == std::vector<std::string>{"foo", "bar"});
    CHECK(nm.domain() == "foo.com");
    REQUIRE(nm.apply(r, d));  // identical content: no change reported
    CHECK(d.empty());
}

TEST_CASE("netmap: packet filters (map_test.go named_packetfilter and implicit_packetfilter)") {
    NetMap nm;
    NetMapDelta d;
    CHECK_FALSE(nm.filter());  // nothing received: distinguishable from "block all"

    const FilterRuleSet pf_a{{rule_from("10.0.0.1")}, false};
    const FilterRuleSet pf_b{{rule_from("10.0.0.2")}, false};

    // Mix of old & new style.
    MapResponse r1;
    r1.packet_filter = pf_a;
    r1.packet_filters.emplace()["pf-b"] = pf_b;
    REQUIRE(nm.apply(r1, d));
    CHECK(d.filter_changed);
    REQUIRE(nm.filter());
    REQUIRE(nm.filter()->size() == 2);
    CHECK((*nm.filter())[0].src_ips[0] == "10.0.0.1");  // "base" sorts before "pf-b"
    CHECK((*nm.filter())[1].src_ips[0] == "10.0.0.2");

    // No-op: remember the old rules.
    REQUIRE(nm.apply(MapResponse{}, d));
    CHECK_FALSE(d.filter_changed);
    CHECK(nm.filter()->size() == 2);

    // New style only, with clear.
    MapResponse r3;
    auto& m3 = r3.packet_filters.emplace();
    m3["*"] = std::nullopt;
    m3["pf-b"] = pf_b;
    REQUIRE(nm.apply(r3, d));
    CHECK(d.filter_changed);
    REQUIRE(nm.filter()->size() == 1);
    CHECK((*nm.filter())[0].src_ips[0] == "10.0.0.2");

    // Adding pf-a back, not as the legacy "base" layer.
    MapResponse r4;
    r4.packet_filters.emplace()["pf-a"] = pf_a;
    REQUIRE(nm.apply(r4, d));
    REQUIRE(nm.filter()->size() == 2);
    CHECK((*nm.filter())[0].src_ips[0] == "10.0.0.1");
    CHECK((*nm.filter())[1].src_ips[0] == "10.0.0.2");

    // A null named list deletes it.
    MapResponse r5;
    r5.packet_filters.emplace()["pf-a"] = std::nullopt;
    REQUIRE(nm.apply(r5, d));
    CHECK(nm.filter()->size() == 1);

    // Clearing everything leaves an empty (block-all) filter, not "none received".
    MapResponse r6;
    r6.packet_filters.emplace()["*"] = std::nullopt;
    REQUIRE(nm.apply(r6, d));
    REQUIRE(nm.filter());
    CHECK(nm.filter()->empty());
    CHECK(nm.packet_filters().empty());
}

TEST_CASE("netmap: a rule set with SrcBits makes the effective filter deny-all") {
    NetMap nm;
    NetMapDelta d;
    REQUIRE(nm.apply(parsed(R"({"PacketFilters": {"base": [{"SrcIPs": ["*"],
        "DstPorts": [{"IP": "*", "Ports": {"First": 0, "Last": 65535}}]}]}})"), d));
    CHECK(nm.filter()->size() == 1);
    CHECK_FALSE(nm.filter_rejected());
    REQUIRE(nm.apply(parsed(R"({"PacketFilters": {"old": [{"SrcIPs": ["10.0.0.0"], "SrcBits": [8]}]}})"),
                     d));
    CHECK(d.filter_changed);
    CHECK(nm.filter_rejected());
    REQUIRE(nm.filter());
    CHECK(nm.filter()->empty());
    REQUIRE(nm.apply(parsed(R"({"PacketFilters": {"old": null}})"), d));
    CHECK_FALSE(nm.filter_rejected());
    CHECK(nm.filter()->size() == 1);
}

TEST_CASE("netmap: DERP map deltas (map_test.go TestDeltaDERPMap)") {
    DERPRegion r1;
    r1.region_id = 1;
    DERPNode node;
    node.name = "derp1a";
    node.region_id = 1;
    node.host_name = "derp1a.invalid";
    node.ipv4 = "169.254.169.254";
    node.ipv6 = "none";
    r1.nodes = {node};
    DERPRegion r2 = r1;
    r2.nodes[0].ipv4 = "127.0.0.1";

    auto map_with = [](std::map<int, DERPRegion> regions) {
        DERPMap m;
        m.has_regions = true;
        m.regions = std::move(regions);
        return m;
    };
    NetMapDelta d;
    SUBCASE("nothing-to-nothing") {
        NetMap nm;
        REQUIRE(nm.apply(MapResponse{}, d));
        REQUIRE(nm.apply(MapResponse{}, d));
        CHECK_FALSE(nm.derp_map());
        CHECK_FALSE(d.derp_changed);
    }
    SUBCASE("regions-sticky") {
        NetMap nm;
        MapResponse a;
        a.derp_map = map_with({{1, r1}});
        a.derp_map->omit_default_regions = true;
        REQUIRE(nm.apply(a, d));
        CHECK(d.derp_changed);
        MapResponse b;
        b.derp_map = DERPMap{};  // no Regions: keep
        REQUIRE(nm.apply(b, d));
        CHECK_FALSE(d.derp_changed);
        REQUIRE(nm.derp_map());
        CHECK(nm.derp_map()->regions.at(1) == r1);
        CHECK(nm.derp_map()->omit_default_regions);
    }
    SUBCASE("regions-change") {
        NetMap nm;
        MapResponse a;
        a.derp_map = map_with({{1, r1}});
        REQUIRE(nm.apply(a, d));
        MapResponse b;
        b.derp_map = map_with({{1, r2}});
        REQUIRE(nm.apply(b, d));
        CHECK(d.derp_changed);
        CHECK(nm.derp_map()->regions.at(1).nodes[0].ipv4 == "127.0.0.1");
    }
    SUBCASE("regions present replace the set; null regions are dropped (JSON)") {
        NetMap nm;
        REQUIRE(nm.apply(parsed(R"({"DERPMap": {"Regions": {"1": {"RegionID": 1}, "2": {"RegionID": 2}}}})"), d));
        CHECK(nm.derp_map()->regions.size() == 2);
        REQUIRE(nm.apply(parsed(R"({"DERPMap": {"Regions": {"2": {"RegionID": 2}, "1": null}}})"), d));
        CHECK(d.derp_changed);
        CHECK(nm.derp_map()->regions.size() == 1);
        CHECK(nm.derp_map()->regions.count(2) == 1);
        REQUIRE(nm.apply(parsed(R"({"DERPMap": {"Regions": null, "HomeParams": {}}})"), d));
        CHECK_FALSE(d.derp_changed);
        CHECK(nm.derp_map()->regions.size() == 1);
    }
}

TEST_CASE("netmap: AllowedIPs and legacy DERP upgrade (map_test.go TestUpgradeNode)") {
    NetMap nm;
    NetMapDelta d;
    REQUIRE(nm.apply(parsed(R"({"Peers": [
        {"ID": 1, "Addresses": ["0.0.0.1/32", "0.0.0.2/32"], "AllowedIPs": ["0.0.0.3/32", "0.0.0.4/32"]},
        {"ID": 2, "Addresses": ["0.0.0.1/32", "0.0.0.2/32"]},
        {"ID": 3, "Addresses": ["0.0.0.1/32", "0.0.0.2/32"], "AllowedIPs": []},
        {"ID": 4, "HomeDERP": 1, "DERP": "127.3.3.40:2"},
        {"ID": 5, "DERP": "127.3.3.40:2"},
        {"ID": 6, "DERP": "10.0.0.1:2"}]})"), d));
    CHECK(nm.peer(1)->allowed_ips.size() == 2);
    CHECK(nm.peer(1)->allowed_ips[0].to_string() == "0.0.0.3/32");
    CHECK(nm.peer(2)->allowed_ips == nm.peer(2)->addresses);
    CHECK(nm.peer(3)->allowed_ips.empty());
    CHECK(nm.peer(4)->home_derp == 1);
    CHECK(nm.peer(5)->home_derp == 2);
    CHECK(nm.peer(6)->home_derp == 0);
}

TEST_CASE("netmap: peer limit refuses the message and leaves the map untouched") {
    NetMap nm(2);
    NetMapDelta d;
    MapResponse r;
    r.peers = {n(1, "a"), n(2, "b")};
    REQUIRE(nm.apply(r, d));
    MapResponse more;
    more.peers_changed = {n(3, "c")};
    more.peers_removed = {9};
    auto s = nm.apply(more, d);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kLimitReached);
    CHECK(names(nm) == std::vector<std::string>{"1:a", "2:b"});
    more.peers_removed = {1};  // one leaves, one joins: fits
    REQUIRE(nm.apply(more, d));
    CHECK(names(nm) == std::vector<std::string>{"2:b", "3:c"});
    CHECK(d.added == Ids{3});
    CHECK(d.removed == Ids{1});
}

TEST_CASE("netmap: resolve_name over self, peers and ExtraRecords") {
    NetMap nm;
    NetMapDelta d;
    REQUIRE(nm.apply(parsed(R"({
      "Node": {"ID": 1, "Name": "me.tail.example.", "Addresses": ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]},
      "Peers": [{"ID": 2, "Name": "Peer-A.tail.example.", "Addresses": ["100.64.0.2/32"]},
                {"ID": 3, "Name": "other.shared.example.", "Addresses": ["100.64.0.3/32"]}],
      "Domain": "tail.example",
      "DNSConfig": {"Domains": ["search.example"],
                    "ExtraRecords": [{"Name": "db.tail.example.", "Value": "100.64.0.9"},
                                     {"Name": "db6.tail.example", "Type": "AAAA", "Value": "fd00::9"},
                                     {"Name": "bad.tail.example", "Type": "A", "Value": "fd00::9"}]}
    })"), d));
    const auto v4 = [](const char* s) { return *IpAddress::parse(s); };
    CHECK(nm.resolve_name("me") == std::vector<IpAddress>{v4("100.64.0.1"), v4("fd7a:115c:a1e0::1")});
    CHECK(nm.resolve_name("peer-a") == std::vector<IpAddress>{v4("100.64.0.2")});
    CHECK(nm.resolve_name("PEER-A.tail.example.") == std::vector<IpAddress>{v4("100.64.0.2")});
    CHECK(nm.resolve_name("peer-a.tail.example") == std::vector<IpAddress>{v4("100.64.0.2")});
    CHECK(nm.resolve_name("peer-a.search.example") == std::vector<IpAddress>{v4("100.64.0.2")});
    CHECK(nm.resolve_name("other.shared.example.") == std::vector<IpAddress>{v4("100.64.0.3")});
    CHECK(nm.resolve_name("other") == std::vector<IpAddress>{v4("100.64.0.3")});
    CHECK(nm.resolve_name("db.tail.example") == std::vector<IpAddress>{v4("100.64.0.9")});
    CHECK(nm.resolve_name("db6.tail.example.") == std::vector<IpAddress>{v4("fd00::9")});
    CHECK(nm.resolve_name("bad.tail.example").empty());
    CHECK(nm.resolve_name("peer-a.elsewhere.example").empty());
    CHECK(nm.resolve_name("nobody").empty());
    CHECK(nm.resolve_name("").empty());
    CHECK(nm.resolve_name(".").empty());
}

TEST_CASE("netmap: node key index follows key patches, removals and duplicates") {
    Node a = n(1, "a");
    a.key = key_of(0x0a);
    Node b = n(2, "b");
    b.key = key_of(0x0a);  // duplicate key: the lowest ID answers
    NetMap nm = with_peers({a, b});
    REQUIRE(nm.peer_by_node_key(key_of(0x0a)) != nullptr);
    CHECK(nm.peer_by_node_key(key_of(0x0a))->id == 1);
    CHECK(nm.peer_by_node_key(crypto::PublicKey{}) == nullptr);
    MapResponse r;
    PeerChange pc;
    pc.node_id = 1;
    pc.key = key_of(0x0c);
    r.peers_changed_patch = {pc};
    NetMapDelta d;
    REQUIRE(nm.apply(r, d));
    CHECK(nm.peer_by_node_key(key_of(0x0c))->id == 1);
    CHECK(nm.peer_by_node_key(key_of(0x0a))->id == 2);
    MapResponse rm;
    rm.peers_removed = {2};
    REQUIRE(nm.apply(rm, d));
    CHECK(nm.peer_by_node_key(key_of(0x0a)) == nullptr);
}
