#include "core/crypto/tai64n.hpp"

#include <cstring>

#include "core/base/bytes.hpp"

namespace tunless::crypto {

Tai64n tai64n_from_wall(WallTime t) {
    Tai64n out{};
    store_be64(out.data(), kTai64nBase + static_cast<std::uint64_t>(t.seconds));
    store_be32(out.data() + 8, t.nanoseconds & ~kTai64nWhitenerMask);
    return out;
}

bool tai64n_after(const Tai64n& a, const Tai64n& b) {
    return std::memcmp(a.data(), b.data(), a.size()) > 0;
}

}  // namespace tunless::crypto
