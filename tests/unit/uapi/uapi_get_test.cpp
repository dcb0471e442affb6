// get replies: wireguard-go's layout, and the client parsers reading them back.
#include <doctest/doctest.h>

#include <string>

#include "core/uapi/uapi_protocol.hpp"

using namespace tunless;
using namespace tunless::uapi;

namespace {

DeviceInfo sample() {
    DeviceInfo d;
    std::array<std::uint8_t, 32> k{};
    k.fill(0x11);
    d.private_key = crypto::PrivateKey(ByteView(k.data(), k.size()));
    d.listen_port = 51820;
    PeerInfo p;
    p.public_key.bytes.fill(0x22);
    k.fill(0x33);
    p.preshared_key = crypto::SymmetricKey(ByteView(k.data(), k.size()));
    p.endpoint = *Endpoint::parse_numeric("[fd00::2]:51821");
    p.last_handshake = WallTime{1700000000, 123};
    p.tx_bytes = 100;
    p.rx_bytes = 200;
    p.persistent_keepalive_s = 25;
    p.allowed_ips = {*IpPrefix::parse("10.0.0.2/32"), *IpPrefix::parse("fd00::2/128")};
    d.peers.push_back(p);
    PeerInfo q;
    q.public_key.bytes.fill(0x44);
    d.peers.push_back(q);
    return d;
}

}  // namespace

TEST_CASE("get reply: wireguard-go's keys in its order") {
    const std::string h11(64, '1'), h22 = std::string(64, '2'), h33(64, '3'), h44(64, '4');
    const std::string expected =
        "private_key=" + h11 +
        "\nlisten_port=51820\n"
        "public_key=" +
        h22 + "\npreshared_key=" + h33 +
        "\nprotocol_version=1\n"
        "endpoint=[fd00::2]:51821\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec="
        "123\n"
        "tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\n"
        "allowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n"
        "public_key=" +
        h44 + "\npreshared_key=" + std::string(64, '0') +
        "\nprotocol_version=1\n"
        "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
        "persistent_keepalive_interval=0\n";
    CHECK(serialize_get(sample()) == expected);
}

TEST_CASE("get reply omits a missing private key, port 0 and fwmark 0") {
    DeviceInfo d;
    CHECK(serialize_get(d).empty());
    d.fwmark = 3;
    CHECK(serialize_get(d) == "fwmark=3\n");
}

TEST_CASE("errno trailer") {
    CHECK(errno_reply(0) == "errno=0\n\n");
    CHECK(errno_reply(kErrInvalid) == "errno=-22\n\n");
}

TEST_CASE("parse_get_reply reads serialize_get back") {
    const DeviceInfo d = sample();
    auto r = parse_get_reply(serialize_get(d) + errno_reply(0));
    REQUIRE(r);
    REQUIRE(r->private_key);
    CHECK(r->private_key->data()[0] == 0x11);
    CHECK(r->listen_port == 51820);
    REQUIRE(r->peers.size() == 2);
    const PeerInfo& p = r->peers[0];
    CHECK(p.public_key.bytes[0] == 0x22);
    REQUIRE(p.preshared_key);
    CHECK(p.endpoint.to_string() == "[fd00::2]:51821");
    REQUIRE(p.last_handshake);
    CHECK(p.last_handshake->seconds == 1700000000);
    CHECK(p.last_handshake->nanoseconds == 123);
    CHECK(p.tx_bytes == 100);
    CHECK(p.rx_bytes == 200);
    CHECK(p.persistent_keepalive_s == 25);
    CHECK(p.allowed_ips.size() == 2);
    CHECK_FALSE(r->peers[1].preshared_key);
    CHECK_FALSE(r->peers[1].last_handshake);
}

TEST_CASE("parse_get_reply: errors") {
    CHECK(parse_get_reply("errno=-22\n\n").error().code == Errc::kIo);
    CHECK(parse_get_reply("listen_port=1\n\n").error().code == Errc::kProtocol);
    CHECK(parse_get_reply("listen_port=x\nerrno=0\n\n").error().code == Errc::kProtocol);
    CHECK(parse_get_reply("garbage\nerrno=0\n\n").error().code == Errc::kProtocol);
    CHECK(parse_get_reply("public_key=12\nerrno=0\n\n").error().code == Errc::kProtocol);
    auto future = parse_get_reply("new_key=1\nerrno=0\n\n");
    CHECK(future);  // unknown keys are ignored, like wg does
}

TEST_CASE("key=value pairs round trip; newlines in values cannot break framing") {
    KeyValues kv{{"drop.too_short", "3"}, {"interface", "wg0"}, {"odd", "a\nb"}};
    const std::string text = serialize_pairs(kv);
    CHECK(text == "drop.too_short=3\ninterface=wg0\nodd=a b\n");
    auto back = parse_pairs_reply(text + errno_reply(0));
    REQUIRE(back);
    REQUIRE(back->size() == 3);
    CHECK((*back)[1].second == "wg0");
    CHECK((*back)[2].second == "a b");
}
