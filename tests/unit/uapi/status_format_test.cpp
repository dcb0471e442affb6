// `tunless status` formatting (pure): the text summary and the JSON document.
#include <doctest/doctest.h>

#include <string>

#include "tools/tunless/status_command.hpp"

using namespace tunless;
using namespace tunless::uapi;

namespace {

struct Sample {
    DeviceInfo info;
    KeyValues kv;
};

Sample sample() {
    Sample s;
    PeerInfo p;
    p.public_key.bytes.fill(0x22);
    p.endpoint = *Endpoint::parse_numeric("192.168.1.2:51820");
    p.last_handshake = WallTime{1000, 0};
    p.rx_bytes = 2048;
    p.tx_bytes = 10;
    p.persistent_keepalive_s = 25;
    p.allowed_ips = {*IpPrefix::parse("10.0.0.2/32")};
    s.info.peers.push_back(p);
    s.info.listen_port = 51820;
    s.kv = {{"interface", "wg0"},
            {"address", "10.0.0.1/24"},
            {"drop.too_short", "4"},
            {"drop.bad_mac", "0"},
            {"peer." + std::string(64, '2') + ".session", "up"},
            {"socks5.connections_active", "2"},
            {"label", "quote\"and\\"}};
    return s;
}

}  // namespace

TEST_CASE("text: interface, non-zero drops, service counters, peer with handshake age") {
    const Sample s = sample();
    const std::string t = cli::format_status_text("wg0", s.info, s.kv, 1075);
    CHECK(t.find("interface: wg0\n") != std::string::npos);
    CHECK(t.find("listening port: 51820") != std::string::npos);
    CHECK(t.find("addresses: 10.0.0.1/24") != std::string::npos);
    CHECK(t.find("drops: too_short=4\n") != std::string::npos);
    CHECK(t.find("bad_mac") == std::string::npos);
    CHECK(t.find("socks5.connections_active: 2") != std::string::npos);
    CHECK(t.find("latest handshake: 1 minute, 15 seconds ago") != std::string::npos);
    CHECK(t.find("transfer: 2.00 KiB received, 10 B sent") != std::string::npos);
    CHECK(t.find("persistent keepalive: every 25 seconds") != std::string::npos);
    CHECK(t.find("session: up") != std::string::npos);
    CHECK(t.find("endpoint: 192.168.1.2:51820") != std::string::npos);
}

TEST_CASE("json: numbers stay numbers, strings are escaped") {
    const Sample s = sample();
    const std::string j = cli::format_status_json("wg0", s.info, s.kv, 1075);
    CHECK(j.find("\"interface\": \"wg0\"") != std::string::npos);
    CHECK(j.find("\"public_key\": null") != std::string::npos);
    CHECK(j.find("\"latest_handshake_seconds_ago\": 75") != std::string::npos);
    CHECK(j.find("\"drop.too_short\": 4") != std::string::npos);
    CHECK(j.find("\"label\": \"quote\\\"and\\\\\"") != std::string::npos);
    CHECK(j.find("\"session\": \"up\"") != std::string::npos);
}

TEST_CASE("tailnet: the tailnet.* lines become a block of text and a \"tailnet\" JSON object") {
    Sample s = sample();
    s.kv.insert(s.kv.end(), {{"tailnet.state", "running"},
                             {"tailnet.control_url", "https://ctl.test"},
                             {"tailnet.node_name", "n1.tail.test."},
                             {"tailnet.node_key", "nodekey:" + std::string(64, 'a')},
                             {"tailnet.addresses", "100.64.0.1,fd7a:115c:a1e0::1"},
                             {"tailnet.home_derp", "999"},
                             {"tailnet.peer.7.name", "n2.tail.test."},
                             {"tailnet.peer.7.node_key", "nodekey:" + std::string(64, 'b')},
                             {"tailnet.peer.7.addresses", "100.64.0.2/32,fd7a:115c:a1e0::2/128"},
                             {"tailnet.peer.7.online", "true"},
                             {"tailnet.peer.7.path", "derp:999"},
                             {"tailnet.derp.999.connected", "true"},
                             {"tailnet.derp.999.packets_in", "5"},
                             {"tailnet.derp.999.packets_out", "6"},
                             {"tailnet.derp.999.drops", "0"}});
    const std::string t = cli::format_status_text("wg0", s.info, s.kv, 1075);
    CHECK(t.find("tailnet: running\n") != std::string::npos);
    CHECK(t.find("addresses: 100.64.0.1, fd7a:115c:a1e0::1") != std::string::npos);
    CHECK(t.find("DERP 999: connected (packets in 5, out 6, drops 0)") != std::string::npos);
    CHECK(t.find("peer n2.tail.test.: 100.64.0.2/32,fd7a:115c:a1e0::2/128 online via derp:999") !=
          std::string::npos);
    CHECK(t.find("tailnet.state") == std::string::npos);  // not repeated as a service counter

    const std::string j = cli::format_status_json("wg0", s.info, s.kv, 1075);
    CHECK(j.find("\"tailnet\": {") != std::string::npos);
    CHECK(j.find("\"state\": \"running\"") != std::string::npos);
    CHECK(j.find("\"addresses\": [\"100.64.0.1\", \"fd7a:115c:a1e0::1\"]") != std::string::npos);
    CHECK(j.find("\"home_derp\": 999") != std::string::npos);
    CHECK(j.find("{\"id\": 7, \"name\": \"n2.tail.test.\", \"node_key\": \"nodekey:bbbb") !=
          std::string::npos);
    CHECK(j.find("\"addresses\": [\"100.64.0.2/32\", \"fd7a:115c:a1e0::2/128\"], \"online\": "
                 "true, \"path\": \"derp:999\"}") != std::string::npos);
    CHECK(j.find("\"derp\": [{\"region\": 999, \"connected\": true}]") != std::string::npos);
}

TEST_CASE("tailnet: a plain WireGuard node has no tailnet object") {
    const Sample s = sample();
    CHECK(cli::format_status_json("wg0", s.info, s.kv, 1075).find("\"tailnet\"") ==
          std::string::npos);
    CHECK(cli::format_status_text("wg0", s.info, s.kv, 1075).find("tailnet:") ==
          std::string::npos);
}
