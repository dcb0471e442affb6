// A key pair derived from a one-byte seed, so a harness (and its committed corpus) sees the same
// keys on every run and every machine. Test keys only.
#pragma once

#include <cstdint>

#include "core/crypto/x25519.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::fuzz {

struct FixedKeyPair {
    explicit FixedKeyPair(std::uint8_t seed)
        : priv(from_seed(seed)), pub(crypto::public_key_from_private(priv)) {}

    crypto::PrivateKey priv;
    crypto::PublicKey pub;

private:
    static crypto::PrivateKey from_seed(std::uint8_t seed) {
        test::SeededRng rng(seed);
        return crypto::generate_private_key(rng);
    }
};

}  // namespace tunless::fuzz
