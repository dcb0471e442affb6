#include "core/tailnet/keys.hpp"

#include <doctest/doctest.h>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"

using namespace tunless;
using namespace tunless::tailnet;

// Known answer from tailscale types/key (machine_test.go TestMachineSerialization and its node
// key sibling): the private key and the public key derived from it, in their text forms.
TEST_CASE("tailnet keys: upstream known answer for text forms and X25519") {
    REQUIRE(crypto::init());
    const char* priv_text =
        "privkey:40ab1b58e9076c7a4d9d07291f5edf9d1aa017eb949624ba683317f48a640369";
    auto priv = key_from_text(KeyKind::kPrivate, priv_text);
    REQUIRE(priv);
    crypto::PrivateKey pk{ByteView{priv->data(), priv->size()}};
    auto pub = crypto::public_key_from_private(pk);
    CHECK(machine_key_text(pub) ==
          "mkey:50d20b455ecf12bc453f83c2cfdb2a24925d06cf2598dcaa54e91af82ce9f765");
    CHECK(node_key_text(pub) ==
          "nodekey:50d20b455ecf12bc453f83c2cfdb2a24925d06cf2598dcaa54e91af82ce9f765");
    CHECK(key_to_text(KeyKind::kPrivate, pk.view()) == priv_text);
    auto back = public_key_from_text(
        KeyKind::kNodePublic,
        "nodekey:50D20B455ECF12BC453F83C2CFDB2A24925D06CF2598DCAA54E91AF82CE9F765");
    REQUIRE(back);
    CHECK(*back == pub);
}

TEST_CASE("tailnet keys: wrong prefix, length or digits are rejected without echoing the key") {
    const std::string hex64(64, 'a');
    CHECK_FALSE(key_from_text(KeyKind::kNodePublic, "mkey:" + hex64));
    CHECK_FALSE(key_from_text(KeyKind::kNodePublic, "nodekey:" + hex64.substr(1)));
    CHECK_FALSE(key_from_text(KeyKind::kNodePublic, "nodekey:" + hex64 + "0"));
    CHECK_FALSE(key_from_text(KeyKind::kNodePublic, "nodekey:" + std::string(63, 'a') + "g"));
    CHECK_FALSE(key_from_text(KeyKind::kNodePublic, ""));
    auto bad = key_from_text(KeyKind::kPrivate, "privkey:" + std::string(63, 'b') + "x");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("bbbb") == std::string::npos);
    CHECK(key_from_text(KeyKind::kDiscoPublic, "discokey:" + hex64));
    CHECK(key_from_text(KeyKind::kChallengePublic, "chalpub:" + hex64));
}
