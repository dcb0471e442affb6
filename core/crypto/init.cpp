#include "core/crypto/init.hpp"

#include <sodium.h>

namespace tunless::crypto {

bool init() noexcept {
    // 0: initialised now, 1: already initialised, -1: failure.
    return sodium_init() >= 0;
}

}  // namespace tunless::crypto
