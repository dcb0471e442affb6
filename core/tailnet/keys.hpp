// Tailscale key text forms (tailscale types/key): every key is a Curve25519 key written as a
// type prefix plus 64 lowercase hex digits. The machine key authenticates the node to control
// (the ts2021 Noise static key), the node key is the WireGuard static key and the DERP
// identity, the disco key seals disco messages. Private machine and node keys share the
// "privkey:" prefix. Callers: tailcfg JSON, the key store in tools/, status output.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::tailnet {

enum class KeyKind : std::uint8_t {
    kMachinePublic,    // "mkey:"
    kNodePublic,       // "nodekey:"
    kDiscoPublic,      // "discokey:"
    kChallengePublic,  // "chalpub:" (early-payload challenge; parsed, unused)
    kPrivate,          // "privkey:" (machine and node private keys)
};

std::string_view key_prefix(KeyKind kind);

// prefix + 64 lowercase hex digits. key32.size() must be 32 (asserted; else empty string).
std::string key_to_text(KeyKind kind, ByteView key32);
// Exactly the prefix of `kind` followed by 64 hex digits (either case); anything else is
// kInvalidArgument, with a message that never contains the key text.
Result<std::array<std::uint8_t, crypto::kKeyLen>> key_from_text(KeyKind kind,
                                                                std::string_view text);

inline std::string node_key_text(const crypto::PublicKey& k) {
    return key_to_text(KeyKind::kNodePublic, k.view());
}
inline std::string machine_key_text(const crypto::PublicKey& k) {
    return key_to_text(KeyKind::kMachinePublic, k.view());
}
inline std::string disco_key_text(const crypto::PublicKey& k) {
    return key_to_text(KeyKind::kDiscoPublic, k.view());
}
// Parses a typed public key ("nodekey:...", ...) into a PublicKey.
Result<crypto::PublicKey> public_key_from_text(KeyKind kind, std::string_view text);

}  // namespace tunless::tailnet
