#include <doctest/doctest.h>

#include "core/config/parser.hpp"
#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "tools/tunless/node_defaults.hpp"

using namespace tunless;
using namespace tunless::cli;

namespace {
crypto::PublicKey pub_with(std::uint8_t b0, std::uint8_t b1) {
    crypto::PublicKey k;
    for (std::size_t i = 0; i < k.bytes.size(); ++i) {
        k.bytes[i] = static_cast<std::uint8_t>(i * 3);
    }
    k.bytes[0] = b0;
    k.bytes[1] = b1;
    return k;
}
}  // namespace

TEST_CASE("default addresses are derived from the public key") {
    CHECK(default_ipv4_address(pub_with(7, 0)).to_string() == "10.99.7.1/16");
    CHECK(default_ipv4_address(pub_with(7, 253)).to_string() == "10.99.7.254/16");
    CHECK(default_ipv4_address(pub_with(7, 254)).to_string() == "10.99.7.1/16");  // never .0/.255
    CHECK(default_ipv4_address(pub_with(0, 255)).to_string() == "10.99.0.2/16");
    // Key bytes 2..8 are 6, 9, 12, 15, 18, 21, 24.
    CHECK(default_ipv6_address(pub_with(1, 2)).to_string() == "fd06:90c:f12:1518::1/64");
    CHECK(default_ipv6_address(pub_with(1, 2)).network().to_string() == "fd06:90c:f12:1518::/64");
}

TEST_CASE("the default node config is valid, private to the node, and round-trips") {
    REQUIRE(crypto::init());
    auto raw = crypto::key_from_base64("uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=");
    REQUIRE(raw);
    const crypto::PrivateKey key(ByteView(raw->data(), raw->size()));
    const cfg::Config c = default_node_config(key, 51820);
    const std::string text = default_config_text(c);
    auto parsed = cfg::parse(text, "default.conf");
    REQUIRE(parsed);
    CHECK(parsed->warnings.empty());
    CHECK(parsed->config.iface.listen_port == 51820);
    REQUIRE(parsed->config.iface.addresses.size() == 2);
    REQUIRE(parsed->config.socks5.size() == 1);
    CHECK(parsed->config.socks5[0].bind.to_string() == "127.0.0.1:1080");

    const crypto::PublicKey pub = crypto::public_key_from_private(key);
    const std::string snippet = peer_snippet(pub, c.iface);
    CHECK(snippet == "[Peer]\nPublicKey = " + crypto::key_to_base64(pub.view()) +
                         "\nAllowedIPs = " + c.iface.addresses[0].address.to_string() + "/32, " +
                         c.iface.addresses[1].address.to_string() +
                         "/128\nEndpoint = <this host's IP or name>:51820\n"
                         "PersistentKeepalive = 25\n");
    // Once the Endpoint placeholder is filled in, the snippet is a valid [Peer] section.
    std::string filled = snippet;
    filled.replace(filled.find("<this host's IP or name>"), 24, "192.0.2.1");
    auto with_peer = cfg::parse(text + "\n" + filled, "p.conf");
    REQUIRE(with_peer);
    REQUIRE(with_peer->config.peers.size() == 1);
    CHECK(with_peer->config.peers[0].public_key == pub);
    CHECK(with_peer->config.peers[0].allowed_ips.size() == 2);
}
