// Curve25519 keys and their text forms. WireGuard's config and `wg` use standard base64 of the
// 32 raw bytes (44 characters with one '=' pad); the UAPI protocol uses lowercase hex.
// Callers: config parsing, the CLI, UAPI/status output, logs (public_key_short only).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/crypto/secret.hpp"

namespace tunless::crypto {

inline constexpr std::size_t kKeyLen = 32;

struct PublicKey {
    std::array<std::uint8_t, kKeyLen> bytes{};
    auto operator<=>(const PublicKey&) const = default;
    ByteView view() const { return {bytes.data(), bytes.size()}; }
    bool is_zero() const;
};

using PrivateKey = SecretBytes<kKeyLen>;    // stored clamped
using SymmetricKey = SecretBytes<kKeyLen>;  // preshared keys, session keys, chaining keys

// Base64 (RFC 4648 standard alphabet, padded): exactly 44 chars decoding to 32 bytes; anything
// else (whitespace, missing pad, URL alphabet, non-zero trailing bits) is kInvalidArgument.
// key32.size() must be 32 for the encoders (asserted; other sizes give an empty string).
// Error messages never contain the key text.
std::string key_to_base64(ByteView key32);
Result<std::array<std::uint8_t, kKeyLen>> key_from_base64(std::string_view text);
// Hex: writes 64 lowercase digits; reads exactly 64 digits (either case, like wg and
// wireguard-go's UAPI parsers).
std::string key_to_hex(ByteView key32);
Result<std::array<std::uint8_t, kKeyLen>> key_from_hex(std::string_view text);

// Short, log-safe identifier of a public key: first 8 base64 characters + "…" style ("abcdEFGH…").
std::string public_key_short(const PublicKey& key);

}  // namespace tunless::crypto
