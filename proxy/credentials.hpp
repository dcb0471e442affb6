// The username/password a proxy listener is configured with, and the constant-time check of
// what a client presents (SOCKS5 RFC 1929 and HTTP Basic RFC 7617). Only BLAKE2s digests of
// the configured values are kept, so the comparison takes the same time whatever the secret's
// length or contents. Used by the SOCKS5 and HTTP proxy codecs; created from the config.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

namespace tunless::proxy {

class Credentials {
public:
    // RFC 1929 §2 carries each field in a length octet.
    static constexpr std::size_t kMaxFieldLength = 255;

    // Both fields 1..255 bytes; the username must not contain ':' (RFC 7617 §2: the
    // user-id of Basic credentials cannot, so such a user could never log in over HTTP).
    static Result<Credentials> create(std::string_view username, std::string_view password);

    ~Credentials();
    Credentials(const Credentials&) = default;
    Credentials& operator=(const Credentials&) = default;

    // True when both match. Both comparisons always run (no early exit on the username).
    bool matches(ByteView username, ByteView password) const;
    // RFC 7617 §2 user-pass "user-id:password": split at the first colon, then matches().
    // Input without a colon never matches.
    bool matches_user_pass(ByteView user_colon_password) const;

private:
    static constexpr std::size_t kDigestSize = 32;
    using Digest = std::array<std::uint8_t, kDigestSize>;

    Credentials() = default;
    static Digest digest(ByteView data);

    Digest username_digest_{};
    Digest password_digest_{};
};

}  // namespace tunless::proxy
