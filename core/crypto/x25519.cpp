#include "core/crypto/x25519.hpp"

#include <sodium.h>

namespace tunless::crypto {

static_assert(crypto_scalarmult_curve25519_BYTES == kKeyLen);
static_assert(crypto_scalarmult_curve25519_SCALARBYTES == kKeyLen);

void clamp_private_key(PrivateKey& key) {
    std::uint8_t* k = key.data();
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
}

PrivateKey generate_private_key(Rng& rng) {
    PrivateKey key;
    rng.fill(key.span());
    clamp_private_key(key);
    return key;
}

PublicKey public_key_from_private(const PrivateKey& key) {
    PrivateKey clamped = key;
    clamp_private_key(clamped);
    PublicKey pub;
    // Cannot fail for a clamped scalar (it is never 0 mod the group order).
    crypto_scalarmult_curve25519_base(pub.bytes.data(), clamped.data());
    return pub;
}

Result<SymmetricKey> x25519(const PrivateKey& priv, const PublicKey& pub) {
    SymmetricKey shared;
    // libsodium returns -1 for an all-zero result (and, in its reference code, for known
    // low-order inputs); either way the point was weak. Check ourselves too, constant time.
    const int rc = crypto_scalarmult_curve25519(shared.data(), priv.data(), pub.bytes.data());
    if (rc != 0 || shared.is_zero()) {
        return fail(Errc::kWeakKey, "x25519: weak key");
    }
    return shared;
}

}  // namespace tunless::crypto
