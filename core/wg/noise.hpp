// Noise symmetric-state primitives for WireGuard's Noise_IKpsk2 (WireGuard paper §5.4,
// Noise spec §5.2): the initial chaining key and hash, MixHash, MixKey, MixDH and the
// EncryptAndHash/DecryptAndHash steps with a zero nonce. Pure functions on secrets.
// Not the handshake message logic (handshake.cpp), not the session key schedule for data.
#pragma once

#include "core/base/bytes.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::wg::noise {

using crypto::PrivateKey;
using crypto::PublicKey;
using crypto::SymmetricKey;

// Chaining key C and transcript hash H of one handshake.
struct SymmetricState {
    SymmetricKey chaining_key;
    SymmetricKey hash;
    void wipe() {
        chaining_key.wipe();
        hash.wipe();
    }
};

// C0 = HASH(Construction), H0 = HASH(C0 || Identifier); computed once.
const SymmetricState& initial_state();

// H = HASH(H || data)
void mix_hash(SymmetricKey& h, ByteView data);
// C = KDF1(C, input)
void mix_key(SymmetricKey& ck, ByteView input);
// (C, k) = KDF2(C, input)
void mix_key_and_key(SymmetricKey& ck, SymmetricKey& k, ByteView input);
// C = KDF1(C, DH(priv, pub)), or (C, k) = KDF2(C, DH(priv, pub)) when `k` is given.
// False when DH yields the all-zero point (low-order public key): the handshake must stop.
[[nodiscard]] bool mix_dh(SymmetricKey& ck, SymmetricKey* k, const PrivateKey& priv,
                          const PublicKey& pub);

// out = AEAD(k, 0, plain, H); H = HASH(H || out). out.size() == plain.size() + 16.
void encrypt_and_hash(MutByteView out, const SymmetricKey& k, ByteView plain, SymmetricKey& h);
// out = AEAD-open(k, 0, cipher, H); H = HASH(H || cipher) only on success.
[[nodiscard]] bool decrypt_and_hash(MutByteView out, const SymmetricKey& k, ByteView cipher,
                                    SymmetricKey& h);

}  // namespace tunless::wg::noise
