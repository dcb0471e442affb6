// AEADs via libsodium. WireGuard uses ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of four
// zero bytes followed by the 64-bit counter little-endian (WireGuard paper §5.4.6), and
// XChaCha20-Poly1305 for cookie replies (§5.4.7). In-place operation (out == in) is allowed;
// other overlaps are not. These functions never allocate (data path): failures carry a short
// static message that fits std::string's inline buffer. crypto::init() must have been called.
#pragma once

#include <cstdint>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::crypto {

inline constexpr std::size_t kAeadTagLen = 16;
inline constexpr std::size_t kAeadKeyLen = 32;
inline constexpr std::size_t kAeadNonceLen = 12;
inline constexpr std::size_t kXAeadNonceLen = 24;

// out.size() must be plaintext.size() + 16 (asserted; on a mismatch nothing is written).
// Output layout: ciphertext || tag.
void aead_encrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                  ByteView plaintext, ByteView aad);
// out.size() must be ciphertext.size() - 16 (kInvalidArgument otherwise, incl. a ciphertext
// shorter than the tag); kAuthFailed on a bad tag (out is then left untouched).
Status aead_decrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                    ByteView ciphertext, ByteView aad);

// Same, with the raw 12-byte RFC 8439 nonce (for known-answer tests and other protocols, e.g.
// Tailscale's control Noise channel which puts the counter big-endian in the last 8 bytes).
// key32/nonce12 sizes are preconditions (asserted; decrypt returns kInvalidArgument).
void aead_encrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView plaintext,
                        ByteView aad);
Status aead_decrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView ciphertext,
                          ByteView aad);

// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) with a 24-byte nonce; same size rules.
void xaead_encrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView plaintext,
                   ByteView aad);
Status xaead_decrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView ciphertext,
                     ByteView aad);

}  // namespace tunless::crypto
