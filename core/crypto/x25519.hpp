// X25519 (RFC 7748) through libsodium's crypto_scalarmult.
#pragma once

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

// RFC 7748 §5 clamping, the same as `wg genkey`.
void clamp_private_key(PrivateKey& key);
PrivateKey generate_private_key(Rng& rng);            // random, clamped
PublicKey public_key_from_private(const PrivateKey& key);
// Fails with Errc::kWeakKey when the shared secret is all zeros (low-order point).
Result<SymmetricKey> x25519(const PrivateKey& priv, const PublicKey& pub);

}  // namespace tunless::crypto
