// One-time libsodium initialisation (sodium_init). Call crypto::init() once at start-up, before
// any AEAD, X25519 or key generation; it is idempotent and cheap on later calls. The daemon's
// main() and every test/fuzz binary that touches core/crypto call it. Not thread-safe to race
// with the first call (we are single-threaded anyway).
#pragma once

namespace tunless::crypto {

// Returns false only if libsodium could not initialise (no usable randomness source).
[[nodiscard]] bool init() noexcept;

}  // namespace tunless::crypto
