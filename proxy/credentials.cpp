#include "proxy/credentials.hpp"

#include <algorithm>

#include "core/crypto/blake2s.hpp"
#include "core/crypto/secret.hpp"

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
    crypto::secure_wipe(username_digest_.data(), kDigestSize);
    crypto::secure_wipe(password_digest_.data(), kDigestSize);
}

Credentials::Digest Credentials::digest(ByteView data) {
    // Unkeyed BLAKE2s-256 (core/crypto, WireGuard's hash): comparing fixed-size digests hides
    // the configured lengths, and the hashing time depends only on the client's own input.
    // BLAKE2s rather than libsodium's BLAKE2b, which would add 18 KB to the static binary.
    return crypto::blake2s_256(data);
}

bool Credentials::matches(ByteView username, ByteView password) const {
    const Digest user = digest(username);
    const Digest pass = digest(password);
    // Both comparisons always run: `&` on the results, not `&&`.
    const bool user_ok = crypto::constant_time_equal(user, username_digest_);
    const bool pass_ok = crypto::constant_time_equal(pass, password_digest_);
    return user_ok & pass_ok;
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
