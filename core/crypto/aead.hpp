// AEADs via libsodium. WireGuard uses ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of four
// zero bytes followed by the 64-bit counter little-endian (WireGuard paper §5.4.6), and
// XChaCha20-Poly1305 for cookie replies (§5.4.7). In-place operation (out == in) is allowed.
#pragma once

#include <cstdint>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

inline constexpr std::size_t kAeadTagLen = 16;

// out.size() must be plaintext.size() + 16.
void aead_encrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                  ByteView plaintext, ByteView aad);
// out.size() must be ciphertext.size() - 16; kAuthFailed on a bad tag (out then unspecified).
Status aead_decrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                    ByteView ciphertext, ByteView aad);

// Same, with the raw 12-byte RFC 8439 nonce (for known-answer tests and other protocols, e.g.
// Tailscale's control Noise channel which puts the counter big-endian in the last 8 bytes).
void aead_encrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView plaintext,
                        ByteView aad);
Status aead_decrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView ciphertext,
                          ByteView aad);

void xaead_encrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView plaintext,
                   ByteView aad);
Status xaead_decrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView ciphertext,
                     ByteView aad);

}  // namespace tunless::crypto
