// WireGuard's DoS cookies (paper §5.3, §5.4.4, §5.4.7). CookieChecker is the receiving side
// (one per device): verifies mac1 always, mac2 when under load, and builds cookie replies.
// CookieGenerator is the sending side (one per peer): writes mac1/mac2 on our handshake
// messages and consumes the cookie replies the peer sends us. The load decision is not here.
#pragma once

#include <array>
#include <cstdint>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/wg/messages.hpp"

namespace tunless::wg {

// The bytes a cookie is bound to: source IP (4 or 16 bytes) + UDP port big-endian, like the
// kernel's make_cookie; relay paths use their kind and region. Only we compute and check it.
struct CookieSource {
    std::array<std::uint8_t, 20> bytes{};
    std::size_t len = 0;
    ByteView view() const { return {bytes.data(), len}; }
};
CookieSource cookie_source(const Endpoint& from);

class CookieChecker {
public:
    // mac1 key = HASH("mac1----" || S_pub), cookie key = HASH("cookie--" || S_pub) of our key.
    void init(const crypto::PublicKey& our_public);

    // `msg` is a whole initiation or response; the macs are its last 32 bytes.
    bool check_mac1(ByteView msg) const;
    // mac2 = MAC(cookie, msg up to mac2), cookie = MAC(secret, source). False when the secret is
    // older than kCookieRefreshTime (the initiator then needs a fresh cookie).
    bool check_mac2(ByteView msg, const CookieSource& src, Instant now) const;
    // Writes a cookie_reply::kSize reply to `msg` (receiver = msg's sender index), rotating the
    // secret when it is older than kCookieRefreshTime.
    void create_reply(MutByteView out, ByteView msg, std::uint32_t receiver,
                      const CookieSource& src, Instant now, Rng& rng);

private:
    void make_cookie(std::uint8_t out[kCookieLen], const CookieSource& src) const;

    crypto::SymmetricKey mac1_key_;
    crypto::SymmetricKey cookie_key_;
    crypto::SymmetricKey secret_;
    Instant secret_born_{};
    bool has_secret_ = false;
};

class CookieGenerator {
public:
    // Keys derived from the *peer's* public key (the responder's labels).
    void init(const crypto::PublicKey& peer_public);

    // Writes mac1 and mac2 (zero without a fresh cookie) into the last 32 bytes of `msg`.
    void add_macs(MutByteView msg, Instant now);
    // Decrypts the cookie with the mac1 we last sent as AAD; false if we sent none or the
    // reply does not authenticate.
    bool consume_reply(const CookieReplyView& reply, Instant now);

    bool has_cookie(Instant now) const;

private:
    crypto::SymmetricKey mac1_key_;
    crypto::SymmetricKey cookie_key_;
    std::array<std::uint8_t, kCookieLen> cookie_{};
    Instant cookie_born_{};
    bool cookie_valid_ = false;
    std::array<std::uint8_t, kMacLen> last_mac1_{};
    bool has_last_mac1_ = false;
};

}  // namespace tunless::wg
