#include <doctest/doctest.h>
#include <sodium.h>

#include <string>
#include <string_view>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/disco.hpp"
#include "tests/support/test_rng.hpp"

using namespace tunless;
using namespace tunless::tailnet;

namespace {

// "01 0a ff" -> bytes (the upstream test prints vectors with "% x").
Bytes hex(std::string_view spaced) {
    Bytes out;
    std::string digits;
    for (char c : spaced) {
        if (c != ' ') digits.push_back(c);
    }
    REQUIRE(digits.size() % 2 == 0);
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

constexpr DiscoTxId kTx{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

crypto::PublicKey golden_node_key() {
    crypto::PublicKey k;
    k.bytes[1] = 1;
    k.bytes[2] = 2;
    k.bytes[30] = 30;
    k.bytes[31] = 31;
    return k;
}

DiscoAddrPort ap(std::string_view text) {
    auto ep = Endpoint::parse_numeric(text);
    REQUIRE(ep.has_value());
    return DiscoAddrPort{ep->ip, ep->port};
}

struct KeyPair {
    crypto::PrivateKey priv;
    crypto::PublicKey pub;
    explicit KeyPair(Rng& rng)
        : priv(crypto::generate_private_key(rng)), pub(crypto::public_key_from_private(priv)) {}
};

struct Fixture {
    Fixture() { REQUIRE(crypto::init()); }
    test::SeededRng rng{7};
    KeyPair alice{rng};
    KeyPair bob{rng};
    DiscoKeyKnown bob_knows_alice = [this](const crypto::PublicKey& k) { return k == alice.pub; };
};

}  // namespace

// Vectors from tailscale disco/disco_test.go TestMarshalAndParse: each must serialize to
// exactly these bytes and parse back to the same message.
TEST_CASE("disco: payload codec matches upstream golden vectors") {
    struct Case {
        const char* name;
        DiscoMessage msg;
        const char* want;
    };
    const Case cases[] = {
        {"ping", DiscoPing{kTx, std::nullopt, 0}, "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c"},
        {"ping_with_nodekey_src", DiscoPing{kTx, golden_node_key(), 0},
         "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 "
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f"},
        {"ping_with_padding", DiscoPing{kTx, std::nullopt, 3},
         "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00"},
        {"ping_with_padding_and_nodekey_src", DiscoPing{kTx, golden_node_key(), 3},
         "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 "
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 00 00"},
        {"pong", DiscoPong{kTx, ap("2.3.4.5:1234")},
         "02 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00 00 00 00 00 00 00 00 ff ff 02 03 04 "
         "05 04 d2"},
        {"pongv6", DiscoPong{kTx, ap("[fed0::12]:6666")},
         "02 00 01 02 03 04 05 06 07 08 09 0a 0b 0c fe d0 00 00 00 00 00 00 00 00 00 00 00 00 00 "
         "12 1a 0a"},
        {"call_me_maybe", DiscoCallMeMaybe{}, "03 00"},
        {"call_me_maybe_endpoints", DiscoCallMeMaybe{{ap("1.2.3.4:567"), ap("[2001::3456]:789")}},
         "03 00 00 00 00 00 00 00 00 00 00 00 ff ff 01 02 03 04 02 37 20 01 00 00 00 00 00 00 00 "
         "00 00 00 00 00 34 56 03 15"},
    };
    for (const auto& c : cases) {
        CAPTURE(std::string(c.name));
        auto bytes = serialize_disco_payload(c.msg);
        REQUIRE(bytes.has_value());
        CHECK(*bytes == hex(c.want));
        auto back = parse_disco_payload(*bytes);
        REQUIRE(back.has_value());
        CHECK(*back == c.msg);
    }
}

TEST_CASE("disco: parse is lax like upstream, strict on length and type") {
    // Short bodies.
    CHECK(parse_disco_payload(hex("")).error().code == Errc::kProtocol);
    CHECK(parse_disco_payload(hex("01")).error().code == Errc::kProtocol);
    CHECK(parse_disco_payload(hex("01 00 01 02 03 04 05 06 07 08 09 0a 0b")).error().code ==
          Errc::kProtocol);
    CHECK(parse_disco_payload(hex("02 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00")).error().code ==
          Errc::kProtocol);
    // Peer-relay and future types are not ours to handle.
    for (int t : {0x00, 0x04, 0x09, 0x7f, 0xff}) {
        Bytes p{static_cast<std::uint8_t>(t), 0, 1, 2, 3};
        CHECK(parse_disco_payload(p).error().code == Errc::kUnsupported);
    }
    // Trailing bytes after a pong and a non-zero version are ignored.
    Bytes pong = hex("02 07 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00 00 00 00 00 00 00 00 "
                     "ff ff "
                     "02 03 04 05 04 d2 aa bb");
    auto m = parse_disco_payload(pong);
    REQUIRE(m.has_value());
    CHECK(std::get<DiscoPong>(*m) == DiscoPong{kTx, ap("2.3.4.5:1234")});
    // A ping with 10 bytes after the TxID: no node key, 10 bytes of padding.
    auto p = parse_disco_payload(hex("01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00 00 00 00 "
                                     "00 00 00 00"));
    REQUIRE(p.has_value());
    CHECK(std::get<DiscoPing>(*p) == DiscoPing{kTx, std::nullopt, 10});
    // CallMeMaybe with a ragged length or a newer version: no endpoints (disco.go).
    auto ragged = parse_disco_payload(hex("03 00 01 02 03"));
    REQUIRE(ragged.has_value());
    CHECK(std::get<DiscoCallMeMaybe>(*ragged).endpoints.empty());
    Bytes v1 = hex("03 01 00 00 00 00 00 00 00 00 00 00 ff ff 01 02 03 04 02 37");
    auto newer = parse_disco_payload(v1);
    REQUIRE(newer.has_value());
    CHECK(std::get<DiscoCallMeMaybe>(*newer).endpoints.empty());
}

TEST_CASE("disco: serialize bounds padding") {
    DiscoPing huge{kTx, std::nullopt, kDiscoMaxPayloadLen};
    CHECK(serialize_disco_payload(huge).error().code == Errc::kInvalidArgument);
}

TEST_CASE("disco: looks_like_disco needs the magic and a full header") {
    Bytes p(kDiscoHeaderLen, 0);
    std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), p.begin());
    CHECK(looks_like_disco(p));
    CHECK_FALSE(looks_like_disco(ByteView(p).first(kDiscoHeaderLen - 1)));
    p[5] ^= 1;
    CHECK_FALSE(looks_like_disco(p));
    Bytes wg{1, 0, 0, 0};
    wg.resize(148);
    CHECK_FALSE(looks_like_disco(wg));
}

TEST_CASE_FIXTURE(Fixture, "disco: seal/open round trip between two key pairs") {
    const DiscoMessage msgs[] = {
        DiscoPing{kTx, golden_node_key(), 5},
        DiscoPong{kTx, ap("[fed0::12]:6666")},
        DiscoCallMeMaybe{{ap("1.2.3.4:567")}},
    };
    for (const auto& msg : msgs) {
        auto sealed = seal_disco(msg, alice.priv, alice.pub, bob.pub, rng);
        REQUIRE(sealed.has_value());
        auto payload = serialize_disco_payload(msg);
        REQUIRE(payload.has_value());
        CHECK(sealed->size() == kDiscoHeaderLen + kDiscoBoxOverhead + payload->size());
        CHECK(looks_like_disco(*sealed));
        CHECK(std::equal(alice.pub.bytes.begin(), alice.pub.bytes.end(),
                         sealed->begin() + kDiscoMagic.size()));
        auto opened = open_disco(*sealed, bob.priv, bob_knows_alice);
        REQUIRE(opened.has_value());
        CHECK(opened->sender == alice.pub);
        CHECK(opened->message == msg);
    }
    // Two seals of one message differ (fresh nonce).
    auto a = seal_disco(msgs[0], alice.priv, alice.pub, bob.pub, rng);
    auto b = seal_disco(msgs[0], alice.priv, alice.pub, bob.pub, rng);
    CHECK(*a != *b);
}

TEST_CASE_FIXTURE(Fixture, "disco: unknown sender, wrong recipient and tampering are rejected") {
    auto sealed = seal_disco(DiscoPing{kTx, std::nullopt, 0}, alice.priv, alice.pub, bob.pub, rng);
    REQUIRE(sealed.has_value());

    SUBCASE("unknown sender disco key: no crypto attempted") {
        bool asked = false;
        DiscoKeyKnown nobody = [&](const crypto::PublicKey&) {
            asked = true;
            return false;
        };
        CHECK(open_disco(*sealed, bob.priv, nobody).error().code == Errc::kNotFound);
        CHECK(asked);
        CHECK(open_disco(*sealed, bob.priv, DiscoKeyKnown{}).error().code == Errc::kNotFound);
    }
    SUBCASE("wrong recipient") {
        KeyPair carol(rng);
        CHECK(open_disco(*sealed, carol.priv, bob_knows_alice).error().code == Errc::kAuthFailed);
    }
    SUBCASE("every flipped byte after the sender key fails to open") {
        for (std::size_t i = kDiscoMagic.size() + kDiscoKeyLen; i < sealed->size(); ++i) {
            Bytes t = *sealed;
            t[i] ^= 0x40;
            CHECK(open_disco(t, bob.priv, bob_knows_alice).error().code == Errc::kAuthFailed);
        }
    }
    SUBCASE("sender key swapped for another known key") {
        KeyPair carol(rng);
        Bytes t = *sealed;
        std::copy(carol.pub.bytes.begin(), carol.pub.bytes.end(), t.begin() + kDiscoMagic.size());
        DiscoKeyKnown any = [](const crypto::PublicKey&) { return true; };
        CHECK(open_disco(t, bob.priv, any).error().code == Errc::kAuthFailed);
    }
    SUBCASE("low-order peer key cannot be sealed to") {
        crypto::PublicKey zero;
        CHECK(seal_disco(DiscoPong{}, alice.priv, alice.pub, zero, rng).error().code ==
              Errc::kWeakKey);
    }
}

TEST_CASE_FIXTURE(Fixture, "disco: short, truncated and oversized packets") {
    auto sealed = seal_disco(DiscoPing{kTx, std::nullopt, 0}, alice.priv, alice.pub, bob.pub, rng);
    REQUIRE(sealed.has_value());
    for (std::size_t n = 0; n < sealed->size(); ++n) {
        CAPTURE(n);
        auto r = open_disco(ByteView(*sealed).first(n), bob.priv, bob_knows_alice);
        REQUIRE_FALSE(r.has_value());
        if (n < kDiscoMinPacketLen) {
            CHECK(r.error().code == Errc::kInvalidArgument);
        } else {
            CHECK(r.error().code == Errc::kAuthFailed);
        }
    }
    Bytes big = *sealed;
    big.resize(kDiscoMaxPacketLen + 1);
    CHECK(open_disco(big, bob.priv, bob_knows_alice).error().code == Errc::kInvalidArgument);
    // A sealed payload that is not a known message opens but does not parse.
    Bytes bogus(kDiscoHeaderLen + kDiscoBoxOverhead + 3);
    std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), bogus.begin());
    std::copy(alice.pub.bytes.begin(), alice.pub.bytes.end(), bogus.begin() + kDiscoMagic.size());
    std::uint8_t* nonce = bogus.data() + kDiscoMagic.size() + kDiscoKeyLen;
    const std::uint8_t inner[] = {0x05, 0x00, 0x00};
    REQUIRE(crypto_box_easy(bogus.data() + kDiscoHeaderLen, inner, sizeof inner, nonce,
                            bob.pub.bytes.data(), alice.priv.data()) == 0);
    CHECK(open_disco(bogus, bob.priv, bob_knows_alice).error().code == Errc::kUnsupported);
}

TEST_CASE_FIXTURE(Fixture, "disco: a DERP ping is answered with a pong from 127.3.3.40:<region>") {
    auto ping =
        seal_disco(DiscoPing{kTx, golden_node_key(), 0}, alice.priv, alice.pub, bob.pub, rng);
    REQUIRE(ping.has_value());
    auto opened = open_disco(*ping, bob.priv, bob_knows_alice);
    REQUIRE(opened.has_value());

    auto reply = answer_ping_via_derp(*opened, 999, bob.priv, bob.pub, rng);
    REQUIRE(reply.has_value());
    DiscoKeyKnown alice_knows_bob = [this](const crypto::PublicKey& k) { return k == bob.pub; };
    auto pong = open_disco(*reply, alice.priv, alice_knows_bob);
    REQUIRE(pong.has_value());
    CHECK(pong->sender == bob.pub);
    const auto& p = std::get<DiscoPong>(pong->message);
    CHECK(p.tx_id == kTx);
    CHECK(p.src.ip.to_string() == "127.3.3.40");
    CHECK(p.src.port == 999);
    // On the wire: v4-mapped ::ffff:127.3.3.40, port 999 big-endian (as Go's As16 gives it).
    auto wire = serialize_disco_payload(p);
    REQUIRE(wire.has_value());
    CHECK(Bytes(wire->begin() + 14, wire->end()) ==
          hex("00 00 00 00 00 00 00 00 00 00 ff ff 7f 03 03 28 03 e7"));

    // Only pings get an answer.
    OpenedDisco not_ping{alice.pub, DiscoCallMeMaybe{}};
    CHECK_FALSE(answer_ping_via_derp(not_ping, 999, bob.priv, bob.pub, rng).has_value());
    OpenedDisco a_pong{alice.pub, p};
    CHECK_FALSE(answer_ping_via_derp(a_pong, 999, bob.priv, bob.pub, rng).has_value());
}
