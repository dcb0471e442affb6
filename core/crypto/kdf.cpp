#include "core/crypto/kdf.hpp"

#include <algorithm>
#include <cassert>

#include "core/crypto/blake2s.hpp"

namespace tunless::crypto {
namespace {

constexpr std::size_t kHmacBlock = Blake2s::kBlockLen;
constexpr std::size_t kHashLen = 32;

// HMAC over the concatenation a || b (the KDF chain needs tau_{i-1} || i without a copy).
void hmac2(std::uint8_t out[kHashLen], ByteView key, ByteView a, ByteView b) {
    std::uint8_t k[kHmacBlock] = {};
    if (key.size() > kHmacBlock) {
        blake2s(MutByteView(k, kHashLen), key);
    } else {
        std::copy(key.begin(), key.end(), k);
    }
    std::uint8_t pad[kHmacBlock];
    for (std::size_t i = 0; i < kHmacBlock; ++i) {
        pad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
    }
    std::uint8_t inner[kHashLen];
    {
        Blake2s h(kHashLen);
        h.update(pad);
        h.update(a);
        h.update(b);
        h.final(inner);
    }
    for (std::size_t i = 0; i < kHmacBlock; ++i) {
        pad[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
    }
    Blake2s h(kHashLen);
    h.update(pad);
    h.update(inner);
    h.final(MutByteView(out, kHashLen));
    secure_wipe(k, sizeof(k));
    secure_wipe(pad, sizeof(pad));
    secure_wipe(inner, sizeof(inner));
}

// Fills outs[0..n) with tau_1..tau_n (WireGuard paper §5.4 "Kdf_n").
void kdf_n(SymmetricKey* const* outs, std::size_t n, ByteView key, ByteView input) {
    std::uint8_t tau0[kHashLen];
    hmac2(tau0, key, input, {});
    std::uint8_t taus[3][kHashLen];
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t counter = static_cast<std::uint8_t>(i + 1);
        // tau_i = HMAC(tau0, tau_{i-1} || i); tau_0 is not part of the message for tau_1.
        ByteView prev = i == 0 ? ByteView{} : ByteView(taus[i - 1], kHashLen);
        hmac2(taus[i], ByteView(tau0, kHashLen), prev, ByteView(&counter, 1));
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(taus[i], kHashLen, outs[i]->data());
    }
    secure_wipe(tau0, sizeof(tau0));
    secure_wipe(taus, sizeof(taus));
}

}  // namespace

void hmac_blake2s(MutByteView out32, ByteView key, ByteView data) {
    assert(out32.size() == kHashLen);
    std::uint8_t out[kHashLen];
    hmac2(out, key, data, {});
    std::copy_n(out, std::min(out32.size(), kHashLen), out32.begin());
    secure_wipe(out, sizeof(out));
}

void kdf1(SymmetricKey& t1, ByteView key, ByteView input) {
    SymmetricKey* outs[] = {&t1};
    kdf_n(outs, 1, key, input);
}

void kdf2(SymmetricKey& t1, SymmetricKey& t2, ByteView key, ByteView input) {
    SymmetricKey* outs[] = {&t1, &t2};
    kdf_n(outs, 2, key, input);
}

void kdf3(SymmetricKey& t1, SymmetricKey& t2, SymmetricKey& t3, ByteView key, ByteView input) {
    SymmetricKey* outs[] = {&t1, &t2, &t3};
    kdf_n(outs, 3, key, input);
}

}  // namespace tunless::crypto
