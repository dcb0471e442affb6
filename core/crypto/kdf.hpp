// HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, 64-byte block) and WireGuard's HKDF-style KDF_n
// (WireGuard paper §5.4: Kdf1/Kdf2/Kdf3 = HKDF with HMAC-BLAKE2s, outputs of 32 bytes).
// Callers: the Noise handshake in core/wg. Not the keyed-BLAKE2s MAC (that is blake2s() with a
// key, WireGuard's MAC for mac1/mac2).
#pragma once

#include "core/base/bytes.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

// out32.size() == 32 (asserted). Keys longer than 64 bytes are hashed first (RFC 2104 §2).
void hmac_blake2s(MutByteView out32, ByteView key, ByteView data);

// tau0 = HMAC(key, input); tau1 = HMAC(tau0, 0x1); tau2 = HMAC(tau0, tau1 || 0x2); ...
// Outputs may alias `key` or `input` (e.g. kdf2(ck, k, ck.view(), dh)): all inputs are read
// before any output is written.
void kdf1(SymmetricKey& t1, ByteView key, ByteView input);
void kdf2(SymmetricKey& t1, SymmetricKey& t2, ByteView key, ByteView input);
void kdf3(SymmetricKey& t1, SymmetricKey& t2, SymmetricKey& t3, ByteView key, ByteView input);

}  // namespace tunless::crypto
