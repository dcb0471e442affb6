#include <doctest/doctest.h>

#include <array>
#include <string_view>

#include "core/crypto/blake2s.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::bytes_of;
using test::hex;
using test::unhex;

namespace {

std::vector<std::uint8_t> counting_bytes(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i);
    return v;
}

}  // namespace

TEST_CASE("BLAKE2s-256 of \"abc\" (RFC 7693 Appendix B)") {
    CHECK(hex(blake2s_256(bytes_of("abc"))) ==
          "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

TEST_CASE("keyed BLAKE2s reference KAT (BLAKE2 repo testvectors/blake2s-test.txt = blake2s-kat)") {
    // key = 00 01 .. 1f, input = 00 01 .. (len-1), 32-byte digest.
    struct Kat {
        std::size_t len;
        std::string_view digest;
    };
    const Kat kats[] = {
        {0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"},
        {1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1"},
        {2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803"},
        {32, "c03bc642b20959cbe133a0303e0c1abff3e31ec8e1a328ec8565c36decff5265"},
        {63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd"},
        {64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"},
        {65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8"},
        {254, "db444c15597b5f1a03d1f9edd16e4a9f43a667cc275175dfa2b704e3bb1a9b83"},
        {255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"},
    };
    const auto key = counting_bytes(32);
    const auto input = counting_bytes(255);
    for (const auto& k : kats) {
        CAPTURE(k.len);
        std::array<std::uint8_t, 32> out{};
        blake2s(out, ByteView(input.data(), k.len), key);
        CHECK(hex(out) == k.digest);
    }
}

TEST_CASE("truncated digests and short keys (Python hashlib.blake2s, an independent build)") {
    std::array<std::uint8_t, 16> out16{};
    blake2s(out16, bytes_of("abc"));
    CHECK(hex(out16) == "aa4938119b1dc7b87cbad0ffd200d0ae");

    // WireGuard's MAC shape: keyed BLAKE2s-128 (here keyed with an 8-byte label).
    const auto data100 = counting_bytes(100);
    blake2s(out16, data100, bytes_of("mac1----"));
    CHECK(hex(out16) == "80d057f9f4da5298189f0bbbc9193809");

    std::array<std::uint8_t, 20> out20{};
    blake2s(out20, counting_bytes(200), counting_bytes(7));
    CHECK(hex(out20) == "966ad7ae6a83603c37cff69b021468ed8ff16016");
}

TEST_CASE("incremental updates at every split point equal the one-shot digest") {
    std::vector<std::uint8_t> input;
    for (int rep = 0; rep < 4; ++rep) {
        const auto c = counting_bytes(256);
        input.insert(input.end(), c.begin(), c.end());
    }
    // Python: hashlib.blake2s(bytes(range(256)) * 4).hexdigest()
    const std::string expected = "a049455add68f38d48845e25a52ba3100c4d0899178c202aec07364fecacf650";
    CHECK(hex(blake2s_256(input)) == expected);

    for (std::size_t split = 0; split <= input.size(); ++split) {
        Blake2s h;
        h.update(ByteView(input.data(), split));
        h.update(ByteView(input.data() + split, input.size() - split));
        std::array<std::uint8_t, 32> out{};
        h.final(out);
        if (hex(out) != expected) {
            FAIL("split at ", split);
        }
    }
    // Three-way splits around block boundaries, keyed.
    const auto key = counting_bytes(32);
    std::array<std::uint8_t, 32> one{};
    blake2s(one, input, key);
    for (std::size_t a : {0, 1, 63, 64, 65, 127, 128, 129}) {
        for (std::size_t b : {0, 1, 63, 64, 65, 200}) {
            Blake2s h(32, key);
            h.update(ByteView(input.data(), a));
            h.update(ByteView(input.data() + a, b));
            h.update(ByteView(input.data() + a + b, input.size() - a - b));
            std::array<std::uint8_t, 32> out{};
            h.final(out);
            CAPTURE(a);
            CAPTURE(b);
            CHECK(out == one);
        }
    }
    // Byte-at-a-time.
    Blake2s h;
    for (std::uint8_t b : input) h.update(ByteView(&b, 1));
    std::array<std::uint8_t, 32> out{};
    h.final(out);
    CHECK(hex(out) == expected);
}

TEST_CASE("WireGuard initial chaining key and hash (boringtun INITIAL_CHAIN_KEY/HASH constants)") {
    // boringtun src/noise/handshake.rs: INITIAL_CHAIN_KEY = HASH(CONSTRUCTION),
    // INITIAL_CHAIN_HASH = HASH(INITIAL_CHAIN_KEY || IDENTIFIER); wireguard-go computes the
    // same values in noise-protocol.go init().
    const std::array<std::uint8_t, 32> initial_chain_key = {
        96, 226, 109, 174, 243, 39, 239, 192, 46, 195, 53, 226, 160, 37, 210, 208,
        22, 235, 66, 6, 248, 114, 119, 245, 45, 56, 209, 152, 139, 120, 205, 54};
    const std::array<std::uint8_t, 32> initial_chain_hash = {
        34, 17, 179, 97, 8, 26, 197, 102, 105, 18, 67, 219, 69, 138, 213, 50,
        45, 156, 108, 102, 34, 147, 232, 183, 14, 225, 156, 101, 186, 7, 158, 243};
    const auto ck = blake2s_256(bytes_of("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"));
    CHECK(ck == initial_chain_key);
    CHECK(blake2s_256(ck, bytes_of("WireGuard v1 zx2c4 Jason@zx2c4.com")) == initial_chain_hash);
}
