#include <doctest/doctest.h>

#include <string_view>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "tests/support/test_rng.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::hex;
using test::unhex;

namespace {

PrivateKey priv_from_hex(std::string_view h) { return PrivateKey(unhex(h)); }
PublicKey pub_from_hex(std::string_view h) {
    PublicKey p;
    const auto b = unhex(h);
    std::copy(b.begin(), b.end(), p.bytes.begin());
    return p;
}

}  // namespace

TEST_CASE("X25519 scalar multiplication vectors (RFC 7748 §5.2)") {
    REQUIRE(init());
    struct V {
        std::string_view scalar, u, out;
    };
    const V vs[] = {
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        // The u-coordinate has its top bit set, which X25519 must ignore.
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };
    for (const auto& v : vs) {
        auto r = x25519(priv_from_hex(v.scalar), pub_from_hex(v.u));
        REQUIRE(r);
        CHECK(hex(r->view()) == v.out);
    }
}

TEST_CASE("X25519 iterated 1 and 1000 times (RFC 7748 §5.2)") {
    REQUIRE(init());
    PrivateKey k = priv_from_hex("0900000000000000000000000000000000000000000000000000000000000000");
    PublicKey u = pub_from_hex("0900000000000000000000000000000000000000000000000000000000000000");
    for (int i = 1; i <= 1000; ++i) {
        auto r = x25519(k, u);
        REQUIRE(r);
        std::copy_n(k.data(), 32, u.bytes.begin());
        k = PrivateKey(r->view());
        if (i == 1) {
            CHECK(hex(k.view()) == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
        }
    }
    CHECK(hex(k.view()) == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST_CASE("X25519 Diffie-Hellman (RFC 7748 §6.1)") {
    REQUIRE(init());
    const auto alice = priv_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const auto bob = priv_from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    const auto alice_pub = public_key_from_private(alice);
    const auto bob_pub = public_key_from_private(bob);
    CHECK(hex(alice_pub.bytes) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    CHECK(hex(bob_pub.bytes) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    auto ab = x25519(alice, bob_pub);
    auto ba = x25519(bob, alice_pub);
    REQUIRE(ab);
    REQUIRE(ba);
    CHECK(hex(ab->view()) == shared);
    CHECK(hex(ba->view()) == shared);
}

TEST_CASE("X25519 with a low-order point -> kWeakKey") {
    REQUIRE(init());
    const auto priv = priv_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    // Points of order 1, 2, 4 and 8 (and non-canonical encodings of them), from the list of
    // small-order u-coordinates in libsodium's / the kernel's curve25519 blacklist.
    const std::string_view low_order[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",  // 0
        "0100000000000000000000000000000000000000000000000000000000000000",  // 1
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p (= 0)
    };
    for (auto u : low_order) {
        CAPTURE(u);
        auto r = x25519(priv, pub_from_hex(u));
        REQUIRE(!r);
        CHECK(r.error().code == Errc::kWeakKey);
    }
}

TEST_CASE("generated keys are clamped and agree") {
    REQUIRE(init());
    test::SeededRng rng(7);
    const auto a = generate_private_key(rng);
    const auto b = generate_private_key(rng);
    CHECK((a.data()[0] & 7) == 0);
    CHECK((a.data()[31] & 0x80) == 0);
    CHECK((a.data()[31] & 0x40) == 0x40);
    CHECK(a.view()[1] != b.view()[1]);
    auto ab = x25519(a, public_key_from_private(b));
    auto ba = x25519(b, public_key_from_private(a));
    REQUIRE(ab);
    REQUIRE(ba);
    CHECK(constant_time_equal(ab->view(), ba->view()));

    // Clamping an already clamped key changes nothing; an unclamped key has the same public key.
    PrivateKey c = a;
    clamp_private_key(c);
    CHECK(constant_time_equal(c.view(), a.view()));
    PrivateKey unclamped = a;
    unclamped.data()[0] |= 7;
    unclamped.data()[31] |= 0x80;
    CHECK(public_key_from_private(unclamped) == public_key_from_private(a));
}
