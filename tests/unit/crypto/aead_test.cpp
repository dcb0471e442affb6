#include <doctest/doctest.h>

#include <vector>

#include "core/crypto/aead.hpp"
#include "core/crypto/init.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::bytes_of;
using test::hex;
using test::unhex;

namespace {

constexpr const char* kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";
const auto kKey80 = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const auto kAad = unhex("50515253c0c1c2c3c4c5c6c7");

}  // namespace

TEST_CASE("ChaCha20-Poly1305 AEAD (RFC 8439 §2.8.2)") {
    REQUIRE(init());
    const auto nonce = unhex("070000004041424344454647");
    const auto pt = bytes_of(kSunscreen);
    const std::string expected_ct =
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116";
    const std::string expected_tag = "1ae10b594f09e26a7e902ecbd0600691";

    std::vector<std::uint8_t> out(pt.size() + kAeadTagLen);
    aead_encrypt_nonce(out, kKey80, nonce, pt, kAad);
    CHECK(hex(out) == expected_ct + expected_tag);

    std::vector<std::uint8_t> back(pt.size());
    REQUIRE(aead_decrypt_nonce(back, kKey80, nonce, out, kAad));
    CHECK(back == pt);

    SUBCASE("tampered tag, ciphertext or aad -> kAuthFailed") {
        for (std::size_t i : {std::size_t{0}, pt.size() - 1, pt.size(), out.size() - 1}) {
            auto bad = out;
            bad[i] ^= 0x01;
            auto st = aead_decrypt_nonce(back, kKey80, nonce, bad, kAad);
            REQUIRE(!st);
            CHECK(st.error().code == Errc::kAuthFailed);
        }
        auto bad_aad = kAad;
        bad_aad[0] ^= 0x80;
        auto st = aead_decrypt_nonce(back, kKey80, nonce, out, bad_aad);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kAuthFailed);
    }
    SUBCASE("wrong sizes -> kInvalidArgument, not a crash") {
        std::vector<std::uint8_t> short_ct(kAeadTagLen - 1);
        std::vector<std::uint8_t> none;
        auto st = aead_decrypt_nonce(none, kKey80, nonce, short_ct, kAad);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kInvalidArgument);
        std::vector<std::uint8_t> wrong_out(pt.size() + 1);
        st = aead_decrypt_nonce(wrong_out, kKey80, nonce, out, kAad);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kInvalidArgument);
    }
}

TEST_CASE("WireGuard nonce = 4 zero bytes || LE64 counter (WireGuard paper §5.4.6)") {
    REQUIRE(init());
    const SymmetricKey key(kKey80);
    const auto pt = bytes_of(kSunscreen);
    const std::uint64_t counter = 0x0102030405060708ULL;
    std::vector<std::uint8_t> wg(pt.size() + kAeadTagLen), raw(wg.size());
    aead_encrypt(wg, key, counter, pt, kAad);
    aead_encrypt_nonce(raw, kKey80, unhex("000000000807060504030201"), pt, kAad);
    CHECK(wg == raw);

    std::vector<std::uint8_t> back(pt.size());
    REQUIRE(aead_decrypt(back, key, counter, wg, kAad));
    CHECK(back == pt);
    auto st = aead_decrypt(back, key, counter + 1, wg, kAad);
    REQUIRE(!st);
    CHECK(st.error().code == Errc::kAuthFailed);
}

TEST_CASE("in-place encryption and decryption, and the empty keepalive payload") {
    REQUIRE(init());
    const SymmetricKey key(kKey80);
    const auto pt = bytes_of(kSunscreen);
    std::vector<std::uint8_t> buf(pt.size() + kAeadTagLen);
    std::copy(pt.begin(), pt.end(), buf.begin());
    std::vector<std::uint8_t> separate(buf.size());
    aead_encrypt(separate, key, 7, pt, {});
    aead_encrypt(buf, key, 7, ByteView(buf.data(), pt.size()), {});
    CHECK(buf == separate);
    REQUIRE(aead_decrypt(MutByteView(buf.data(), pt.size()), key, 7, buf, {}));
    CHECK(std::equal(pt.begin(), pt.end(), buf.begin()));

    // A keepalive is an authenticated empty plaintext: 16 bytes of tag only.
    std::array<std::uint8_t, kAeadTagLen> tag_only{};
    aead_encrypt(tag_only, key, 0, {}, {});
    CHECK(!is_all_zero(tag_only));
    CHECK(aead_decrypt({}, key, 0, tag_only, {}));
}

TEST_CASE("XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §A.3.1)") {
    REQUIRE(init());
    const auto nonce = unhex("404142434445464748494a4b4c4d4e4f5051525354555657");
    const auto pt = bytes_of(kSunscreen);
    const std::string expected =
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
        "21f9664c97637da9768812f615c68b13b52e"
        "c0875924c1c7987947deafd8780acf49";  // tag
    std::vector<std::uint8_t> out(pt.size() + kAeadTagLen);
    xaead_encrypt(out, kKey80, nonce, pt, kAad);
    CHECK(hex(out) == expected);

    std::vector<std::uint8_t> back(pt.size());
    REQUIRE(xaead_decrypt(back, kKey80, nonce, out, kAad));
    CHECK(back == pt);

    out.back() ^= 0x01;
    auto st = xaead_decrypt(back, kKey80, nonce, out, kAad);
    REQUIRE(!st);
    CHECK(st.error().code == Errc::kAuthFailed);
}
