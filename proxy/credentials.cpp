#include "proxy/credentials.hpp"

#include <algorithm>

#include <sodium.h>

namespace tunless::proxy {
namespace {

ByteView as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<Credentials> Credentials::create(std::string_view username, std::string_view password) {
    if (username.empty() || username.size() > kMaxFieldLength) {
        return fail(Errc::kInvalidArgument, "proxy username must be 1..255 bytes");
    }
    if (password.empty() || password.size() > kMaxFieldLength) {
        return fail(Errc::kInvalidArgument, "proxy password must be 1..255 bytes");
    }
    if (username.find(':') != std::string_view::npos) {
        return fail(Errc::kInvalidArgument, "proxy username must not contain ':' (RFC 7617)");
    }
    Credentials c;
    c.username_digest_ = digest(as_bytes(username));
    c.password_digest_ = digest(as_bytes(password));
    return c;
}

Credentials::~Credentials() {
    sodium_memzero(username_digest_.data(), kDigestSize);
    sodium_memzero(password_digest_.data(), kDigestSize);
}

Credentials::Digest Credentials::digest(ByteView data) {
    // Unkeyed BLAKE2b-256: comparing fixed-size digests hides the configured lengths, and the
    // hashing time depends only on the client's own input.
    static const std::uint8_t kEmpty = 0;  // an empty span may carry a null pointer
    Digest out{};
    crypto_generichash(out.data(), out.size(), data.empty() ? &kEmpty : data.data(), data.size(),
                       nullptr, 0);
    return out;
}

bool Credentials::matches(ByteView username, ByteView password) const {
    const Digest user = digest(username);
    const Digest pass = digest(password);
    const int user_diff = sodium_memcmp(user.data(), username_digest_.data(), kDigestSize);
    const int pass_diff = sodium_memcmp(pass.data(), password_digest_.data(), kDigestSize);
    return (user_diff | pass_diff) == 0;
}

bool Credentials::matches_user_pass(ByteView user_colon_password) const {
    const auto colon = std::find(user_colon_password.begin(), user_colon_password.end(), ':');
    if (colon == user_colon_password.end()) {
        return false;
    }
    const auto split = static_cast<std::size_t>(colon - user_colon_password.begin());
    return matches(user_colon_password.first(split), user_colon_password.subspan(split + 1));
}

}  // namespace tunless::proxy
