#include <doctest/doctest.h>

#include <array>

#include "core/crypto/blake2s.hpp"
#include "core/crypto/kdf.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::bytes_of;
using test::hex;

// There are no published HMAC-BLAKE2s / WireGuard KDF vectors; these were computed with Python's
// stdlib (hmac.new(key, msg, hashlib.blake2s)), an implementation independent of ours:
//   tau0 = H(ck, in); t1 = H(tau0, b"\x01"); t2 = H(tau0, t1 + b"\x02"); t3 = H(tau0, t2 + b"\x03")
// with ck = blake2s(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s") and in = 32 bytes of 0x42.

namespace {

std::vector<std::uint8_t> counting_bytes(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i);
    return v;
}

constexpr const char* kT1 = "7c2e52a7caca44d65a8e13a5eedc5a1c053d4923396dde6808ca7381c9fa31d1";
constexpr const char* kT2 = "32016483cdab35bc3625293aaf8a06aeff1505e5ad3f7bce2858ba7c24fbc9c3";
constexpr const char* kT3 = "8ad1f3ddf2249e1bf68b8b5d329d6c5751696093facfa5a2f8993152009a41c8";

}  // namespace

TEST_CASE("HMAC-BLAKE2s (RFC 2104) matches Python hmac+hashlib.blake2s") {
    std::array<std::uint8_t, 32> out{};
    hmac_blake2s(out, counting_bytes(32), bytes_of("tunless hmac-blake2s vector"));
    CHECK(hex(out) == "5de5e21e3efa792444c4b46a745cf2f88997e46585ffd2ad58353359f4cb24b7");
    // A key longer than the 64-byte block is hashed first (RFC 2104 §2).
    hmac_blake2s(out, counting_bytes(100), bytes_of("tunless hmac-blake2s vector"));
    CHECK(hex(out) == "e2b7ea26f3b67b4b3c033ab09fda315a19e67e5d1271b0cbc7413cef8983c47a");
}

TEST_CASE("WireGuard KDF1/KDF2/KDF3 (WireGuard paper §5.4)") {
    const auto ck = blake2s_256(bytes_of("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"));
    const std::vector<std::uint8_t> input(32, 0x42);
    SymmetricKey t1, t2, t3;

    kdf1(t1, ck, input);
    CHECK(hex(t1.view()) == kT1);

    t1.wipe();
    kdf2(t1, t2, ck, input);
    CHECK(hex(t1.view()) == kT1);
    CHECK(hex(t2.view()) == kT2);

    t1.wipe();
    t2.wipe();
    kdf3(t1, t2, t3, ck, input);
    CHECK(hex(t1.view()) == kT1);
    CHECK(hex(t2.view()) == kT2);
    CHECK(hex(t3.view()) == kT3);
}

TEST_CASE("KDF outputs may alias the key input (chaining key update in place)") {
    SymmetricKey ck(blake2s_256(bytes_of("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")));
    const std::vector<std::uint8_t> input(32, 0x42);
    SymmetricKey k;
    kdf2(ck, k, ck.view(), input);  // the handshake's (C, k) = Kdf2(C, dh) step
    CHECK(hex(ck.view()) == kT1);
    CHECK(hex(k.view()) == kT2);
}
