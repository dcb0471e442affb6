// X25519 (RFC 7748) through libsodium's crypto_scalarmult, plus WireGuard key generation.
// Callers: the Noise handshake (DH), the CLI (`genkey`/`pubkey`), config loading.
// crypto::init() must have been called.
#pragma once

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

// RFC 7748 §5 clamping, the same as `wg genkey`.
void clamp_private_key(PrivateKey& key);
PrivateKey generate_private_key(Rng& rng);            // random, clamped
// Clamps a copy internally, so an unclamped key gives the same result as `wg pubkey`.
PublicKey public_key_from_private(const PrivateKey& key);
// Fails with Errc::kWeakKey when the shared secret is all zeros (low-order point, RFC 7748 §6.1
// "check ... all-zero value"), which the Noise handshake must treat as a failed handshake.
Result<SymmetricKey> x25519(const PrivateKey& priv, const PublicKey& pub);

}  // namespace tunless::crypto
