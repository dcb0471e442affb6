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
