#include <doctest/doctest.h>

#include <string>

#include "core/crypto/init.hpp"
#include "core/crypto/keys.hpp"
#include "core/crypto/x25519.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::hex;

namespace {

// Generated once with wireguard-tools: `wg genkey | tee k | wg pubkey`.
struct WgPair {
    const char* priv;
    const char* pub;
};
constexpr WgPair kWgPairs[] = {
    {"+HWXddv9DhyDZU6g/q4/XqF/G2SZqj1qu5c7Ez6dyHA=", "8sdZKwLLuacJaBBiT678ezCgx4kAGMm+9cAb7JPkdS4="},
    {"4AvMSQywhCuURHlLrKkh6pgDQ1WmT5tyuiz0f+TSYk4=", "8N6P7+Y6jLNFcAyjCz0NI0tYz7xJ/QAuCNh3iFsi4Dw="},
    {"QEwGE2R1pwFQr6Vf8A8oI+MEsMqZbvi0d4S68wlzjVY=", "4SpITvNUkFK5WDJCrACC1OgtfkYyX61ddlQTkhxAkUk="},
};

}  // namespace

TEST_CASE("public key of a `wg genkey` private key matches `wg pubkey`") {
    REQUIRE(init());
    for (const auto& p : kWgPairs) {
        CAPTURE(p.pub);
        auto raw = key_from_base64(p.priv);
        REQUIRE(raw);
        const PrivateKey priv(*raw);
        CHECK(key_to_base64(public_key_from_private(priv).view()) == p.pub);
    }
}

TEST_CASE("base64 and hex round trips") {
    std::array<std::uint8_t, 32> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(0xf0 + i * 7);
    const std::string b64 = key_to_base64(k);
    CHECK(b64.size() == 44);
    CHECK(b64.back() == '=');
    auto back = key_from_base64(b64);
    REQUIRE(back);
    CHECK(*back == k);

    const std::string h = key_to_hex(k);
    CHECK(h == hex(k));
    CHECK(h.size() == 64);
    auto hback = key_from_hex(h);
    REQUIRE(hback);
    CHECK(*hback == k);

    // Uppercase hex is accepted too (wg's and wireguard-go's UAPI parsers accept it).
    std::string upper = h;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto uback = key_from_hex(upper);
    REQUIRE(uback);
    CHECK(*uback == k);
}

TEST_CASE("malformed key text is rejected") {
    const std::string good = kWgPairs[0].pub;
    REQUIRE(key_from_base64(good));
    const std::string bad_b64[] = {
        "",
        good.substr(0, 43),                     // missing pad
        good + "=",                             // too long
        good.substr(0, 43) + "A",               // pad replaced by data
        " " + good.substr(1),                   // whitespace
        good.substr(0, 42) + "\n=",
        good.substr(0, 10) + "-" + good.substr(11),  // URL-safe alphabet
        // Canonical last char before '=' is from "AEIMQUYcgkosw048" (low 2 bits zero); 'S' is not.
        good.substr(0, 42) + "S=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  // decodes to 31 bytes
    };
    for (const auto& t : bad_b64) {
        CAPTURE(t);
        auto r = key_from_base64(t);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::kInvalidArgument);
        // The message never echoes the key text.
        CHECK(r.error().message.find(good.substr(0, 8)) == std::string::npos);
    }
    const std::string h(64, 'a');
    REQUIRE(key_from_hex(h));
    for (const std::string& t : {h.substr(1), h + "a", h.substr(1) + "g", h.substr(2) + " a",
                                 std::string("0x") + h.substr(2)}) {
        CAPTURE(t);
        CHECK(!key_from_hex(t));
    }
}

TEST_CASE("public_key_short is a log-safe prefix") {
    auto raw = key_from_base64(kWgPairs[0].pub);
    REQUIRE(raw);
    PublicKey pk{*raw};
    CHECK(public_key_short(pk) == "8sdZKwLL\u2026");
    CHECK(!pk.is_zero());
    CHECK(PublicKey{}.is_zero());
}
