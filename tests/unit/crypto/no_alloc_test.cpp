// The AEAD sits on the per-packet data path and must not touch the heap, including when a
// forged packet fails authentication. This file replaces the global operator new for the whole
// crypto_tests binary with a counting one (plain malloc underneath).
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "core/crypto/aead.hpp"
#include "core/crypto/init.hpp"

namespace {
std::size_t g_allocations = 0;
}

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace tunless;
using namespace tunless::crypto;

TEST_CASE("AEAD encrypt/decrypt, success and failure, do not allocate") {
    REQUIRE(init());
    SymmetricKey key;
    key.data()[0] = 1;
    std::array<std::uint8_t, 1400> pt{};
    std::array<std::uint8_t, 1400 + kAeadTagLen> ct{};
    std::array<std::uint8_t, 1400> back{};
    const std::array<std::uint8_t, 24> nonce{};

    const std::size_t before = g_allocations;
    aead_encrypt(ct, key, 42, pt, {});
    const bool ok = aead_decrypt(back, key, 42, ct, {}).has_value();
    ct[3] ^= 1;
    const auto bad = aead_decrypt(back, key, 42, ct, {});
    const bool bad_is_auth = !bad && bad.error().code == Errc::kAuthFailed;
    const auto short_input = aead_decrypt({}, key, 42, ByteView(ct.data(), 3), {});
    xaead_encrypt(ct, key.view(), nonce, pt, {});
    const bool xok = xaead_decrypt(back, key.view(), nonce, ct, {}).has_value();
    const std::size_t after = g_allocations;

    // The counter itself works (so this test can fail).
    // Call operator new directly: a new-expression may be elided by the optimiser.
    const std::size_t probe = g_allocations;
    void* heap = ::operator new(64);
    const std::size_t probe_after = g_allocations;
    ::operator delete(heap);
    CHECK(probe_after == probe + 1);

    CHECK(ok);
    CHECK(bad_is_auth);
    CHECK(!short_input);
    CHECK(xok);
    CHECK(after == before);
}
