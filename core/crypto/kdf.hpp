// HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256) and WireGuard's HKDF-style KDF_n
// (WireGuard paper §5.4: Kdf1/Kdf2/Kdf3 = HKDF with HMAC-BLAKE2s, outputs of 32 bytes).
#pragma once

#include "core/base/bytes.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

void hmac_blake2s(MutByteView out32, ByteView key, ByteView data);

// tau0 = HMAC(key, input); tau1 = HMAC(tau0, 0x1); tau2 = HMAC(tau0, tau1 || 0x2); ...
void kdf1(SymmetricKey& t1, ByteView key, ByteView input);
void kdf2(SymmetricKey& t1, SymmetricKey& t2, ByteView key, ByteView input);
void kdf3(SymmetricKey& t1, SymmetricKey& t2, SymmetricKey& t3, ByteView key, ByteView input);

}  // namespace tunless::crypto
