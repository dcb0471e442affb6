#include "core/crypto/init.hpp"

#include <sodium.h>

namespace tunless::crypto {

bool init() noexcept {
    // 0: initialised now, 1: already initialised, -1: failure.
    return sodium_init() >= 0;
}

}  // namespace tunless::crypto

// sodium_init() (libsodium src/libsodium/sodium/core.c) calls a "pick best implementation"
// function for every primitive family, and each of those sits in the object file of its
// primitive, so a static link takes Argon2 (crypto_pwhash), BLAKE2b (crypto_generichash) and
// Salsa20 into the binary although tunless uses none of them: ~30 KB of the 1 MB armhf
// binary (docs/embedded.md, size). These weak no-op definitions satisfy sodium_init's calls
// so the linker leaves those objects out. They only ever win when the primitive is unused:
// code that calls crypto_pwhash, crypto_generichash or crypto_stream_salsa20 (crypto_box)
// pulls in the primitive's object, whose strong definition then replaces the weak one and
// runs as usual. Against a shared libsodium they are never used: the library binds its own
// (unexported) pickers. The pickers only choose SIMD variants on x86; on ARM the reference
// code they leave in place is what they would pick anyway.
extern "C" {
__attribute__((weak)) int _crypto_pwhash_argon2_pick_best_implementation(void) { return 0; }
__attribute__((weak)) int _crypto_generichash_blake2b_pick_best_implementation(void) { return 0; }
__attribute__((weak)) int _crypto_stream_salsa20_pick_best_implementation(void) { return 0; }
}
