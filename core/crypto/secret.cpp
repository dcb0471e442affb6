#include "core/crypto/secret.hpp"

#include <sodium.h>

namespace tunless::crypto {

void secure_wipe(void* p, std::size_t n) noexcept {
    if (n != 0) {
        sodium_memzero(p, n);
    }
}

bool constant_time_equal(ByteView a, ByteView b) noexcept {
    // The length is not secret (MACs and keys have fixed sizes); the contents are.
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_all_zero(ByteView a) noexcept {
    return a.empty() || sodium_is_zero(a.data(), a.size()) == 1;
}

}  // namespace tunless::crypto
