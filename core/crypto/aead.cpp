#include "core/crypto/aead.hpp"

#include <cassert>

#include <sodium.h>

namespace tunless::crypto {
namespace {

static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kAeadTagLen);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == kAeadNonceLen);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kXAeadNonceLen);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kAeadKeyLen);

// WireGuard paper §5.4.6: nonce = 32 zero bits || little-endian 64-bit counter.
struct WgNonce {
    std::uint8_t b[kAeadNonceLen] = {};
    explicit WgNonce(std::uint64_t counter) { store_le64(b + 4, counter); }
};

using EncryptFn = int (*)(unsigned char*, unsigned char*, unsigned long long*,
                          const unsigned char*, unsigned long long, const unsigned char*,
                          unsigned long long, const unsigned char*, const unsigned char*,
                          const unsigned char*);
using DecryptFn = int (*)(unsigned char*, unsigned char*, const unsigned char*,
                          unsigned long long, const unsigned char*, const unsigned char*,
                          unsigned long long, const unsigned char*, const unsigned char*);

bool encrypt_sizes_ok(MutByteView out, ByteView key, ByteView nonce, std::size_t nonce_len,
                      ByteView plaintext) {
    return key.size() == kAeadKeyLen && nonce.size() == nonce_len &&
           out.size() == plaintext.size() + kAeadTagLen;
}

void seal(EncryptFn fn, MutByteView out, ByteView key, ByteView nonce, std::size_t nonce_len,
          ByteView plaintext, ByteView aad) {
    const bool ok = encrypt_sizes_ok(out, key, nonce, nonce_len, plaintext);
    assert(ok);
    if (!ok) {
        return;
    }
    // Detached form: ciphertext in place of the plaintext, tag right after it.
    fn(out.data(), out.data() + plaintext.size(), nullptr, plaintext.data(), plaintext.size(),
       aad.data(), aad.size(), nullptr, nonce.data(), key.data());
}

Status open(DecryptFn fn, MutByteView out, ByteView key, ByteView nonce, std::size_t nonce_len,
            ByteView ciphertext, ByteView aad) {
    // Messages stay within std::string's inline capacity so failure does not allocate either.
    if (key.size() != kAeadKeyLen || nonce.size() != nonce_len ||
        ciphertext.size() < kAeadTagLen || out.size() != ciphertext.size() - kAeadTagLen) {
        return fail(Errc::kInvalidArgument, "aead: bad size");
    }
    const std::size_t n = out.size();
    // libsodium verifies the tag before it writes any plaintext.
    if (fn(out.data(), nullptr, ciphertext.data(), n, ciphertext.data() + n, aad.data(),
           aad.size(), nonce.data(), key.data()) != 0) {
        return fail(Errc::kAuthFailed, "aead: bad tag");
    }
    return {};
}

}  // namespace

void aead_encrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                  ByteView plaintext, ByteView aad) {
    const WgNonce nonce(counter);
    seal(crypto_aead_chacha20poly1305_ietf_encrypt_detached, out, key.view(), nonce.b,
         kAeadNonceLen, plaintext, aad);
}

Status aead_decrypt(MutByteView out, const SymmetricKey& key, std::uint64_t counter,
                    ByteView ciphertext, ByteView aad) {
    const WgNonce nonce(counter);
    return open(crypto_aead_chacha20poly1305_ietf_decrypt_detached, out, key.view(), nonce.b,
                kAeadNonceLen, ciphertext, aad);
}

void aead_encrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView plaintext,
                        ByteView aad) {
    seal(crypto_aead_chacha20poly1305_ietf_encrypt_detached, out, key32, nonce12, kAeadNonceLen,
         plaintext, aad);
}

Status aead_decrypt_nonce(MutByteView out, ByteView key32, ByteView nonce12, ByteView ciphertext,
                          ByteView aad) {
    return open(crypto_aead_chacha20poly1305_ietf_decrypt_detached, out, key32, nonce12,
                kAeadNonceLen, ciphertext, aad);
}

void xaead_encrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView plaintext,
                   ByteView aad) {
    seal(crypto_aead_xchacha20poly1305_ietf_encrypt_detached, out, key32, nonce24,
         kXAeadNonceLen, plaintext, aad);
}

Status xaead_decrypt(MutByteView out, ByteView key32, ByteView nonce24, ByteView ciphertext,
                     ByteView aad) {
    return open(crypto_aead_xchacha20poly1305_ietf_decrypt_detached, out, key32, nonce24,
                kXAeadNonceLen, ciphertext, aad);
}

}  // namespace tunless::crypto
