#include "core/wg/cookie.hpp"

#include <cstring>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/secret.hpp"

namespace tunless::wg {

namespace {

constexpr std::size_t kMacsLen = 2 * kMacLen;

crypto::SymmetricKey labelled_key(std::string_view label, const crypto::PublicKey& pk) {
    const ByteView l(reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
    const auto h = crypto::blake2s_256(l, pk.view());
    return crypto::SymmetricKey(h);
}

// MAC(key, msg[0 : offset of mac1]) and MAC(cookie, msg[0 : offset of mac2]), BLAKE2s-128.
void compute_mac1(std::uint8_t out[kMacLen], ByteView msg, const crypto::SymmetricKey& key) {
    crypto::blake2s(MutByteView(out, kMacLen), msg.first(msg.size() - kMacsLen), key.view());
}
void compute_mac2(std::uint8_t out[kMacLen], ByteView msg, ByteView cookie) {
    crypto::blake2s(MutByteView(out, kMacLen), msg.first(msg.size() - kMacLen), cookie);
}

bool secret_fresh(Instant born, Instant now) { return now - born <= kCookieRefreshTime; }

}  // namespace

CookieSource cookie_source(const Endpoint& from) {
    CookieSource s;
    if (from.kind == Endpoint::Kind::kRelay) {
        s.bytes[0] = 0xff;
        store_be16(s.bytes.data() + 1, from.relay_region);
        s.len = 3;
        return s;
    }
    const IpAddress ip = from.ip.unmap_v4();
    std::memcpy(s.bytes.data(), ip.data(), ip.size());
    store_be16(s.bytes.data() + ip.size(), from.port);
    s.len = ip.size() + 2;
    return s;
}

void CookieChecker::init(const crypto::PublicKey& our_public) {
    mac1_key_ = labelled_key(kLabelMac1, our_public);
    cookie_key_ = labelled_key(kLabelCookie, our_public);
}

bool CookieChecker::check_mac1(ByteView msg) const {
    std::uint8_t mac[kMacLen];
    compute_mac1(mac, msg, mac1_key_);
    const ByteView got = msg.subspan(msg.size() - kMacsLen, kMacLen);
    const bool ok = crypto::constant_time_equal(ByteView(mac, kMacLen), got);
    crypto::secure_wipe(mac, sizeof mac);
    return ok;
}

void CookieChecker::make_cookie(std::uint8_t out[kCookieLen], const CookieSource& src) const {
    crypto::blake2s(MutByteView(out, kCookieLen), src.view(), secret_.view());
}

bool CookieChecker::check_mac2(ByteView msg, const CookieSource& src, Instant now) const {
    if (!has_secret_ || !secret_fresh(secret_born_, now)) return false;
    std::uint8_t cookie[kCookieLen];
    make_cookie(cookie, src);
    std::uint8_t mac[kMacLen];
    compute_mac2(mac, msg, ByteView(cookie, kCookieLen));
    const bool ok = crypto::constant_time_equal(ByteView(mac, kMacLen),
                                                msg.subspan(msg.size() - kMacLen, kMacLen));
    crypto::secure_wipe(cookie, sizeof cookie);
    return ok;
}

void CookieChecker::create_reply(MutByteView out, ByteView msg, std::uint32_t receiver,
                                 const CookieSource& src, Instant now, Rng& rng) {
    if (!has_secret_ || !secret_fresh(secret_born_, now)) {
        rng.fill(secret_.span());
        secret_born_ = now;
        has_secret_ = true;
    }
    std::uint8_t cookie[kCookieLen];
    make_cookie(cookie, src);
    std::uint8_t nonce[kCookieNonceLen];
    rng.fill(MutByteView(nonce, sizeof nonce));
    std::uint8_t sealed[encrypted_len(kCookieLen)];
    // Paper §5.4.7: XAEAD(HASH("cookie--" || S_pub_m), nonce, cookie, mac1 of the message).
    crypto::xaead_encrypt(sealed, cookie_key_.view(), ByteView(nonce, sizeof nonce),
                          ByteView(cookie, kCookieLen),
                          msg.subspan(msg.size() - kMacsLen, kMacLen));
    write_cookie_reply(out, receiver, ByteView(nonce, sizeof nonce), sealed);
    crypto::secure_wipe(cookie, sizeof cookie);
}

void CookieGenerator::init(const crypto::PublicKey& peer_public) {
    mac1_key_ = labelled_key(kLabelMac1, peer_public);
    cookie_key_ = labelled_key(kLabelCookie, peer_public);
    cookie_valid_ = false;
    has_last_mac1_ = false;
}

bool CookieGenerator::has_cookie(Instant now) const {
    // The kernel stops using a cookie COOKIE_SECRET_LATENCY before the responder's secret can
    // have rotated, so a mac2 is never computed with a cookie the peer no longer accepts.
    return cookie_valid_ && now - cookie_born_ < kCookieRefreshTime - kCookieSecretLatency;
}

void CookieGenerator::add_macs(MutByteView msg, Instant now) {
    std::uint8_t* mac1 = msg.data() + msg.size() - 2 * kMacLen;
    std::uint8_t* mac2 = msg.data() + msg.size() - kMacLen;
    compute_mac1(mac1, msg, mac1_key_);
    std::memcpy(last_mac1_.data(), mac1, kMacLen);
    has_last_mac1_ = true;
    if (has_cookie(now)) {
        compute_mac2(mac2, msg, ByteView(cookie_.data(), cookie_.size()));
    } else {
        std::memset(mac2, 0, kMacLen);
    }
}

bool CookieGenerator::consume_reply(const CookieReplyView& reply, Instant now) {
    if (!has_last_mac1_) return false;
    std::array<std::uint8_t, kCookieLen> cookie{};
    if (!crypto::xaead_decrypt(cookie, cookie_key_.view(), reply.nonce(), reply.encrypted_cookie(),
                               ByteView(last_mac1_.data(), last_mac1_.size()))) {
        return false;
    }
    cookie_ = cookie;
    crypto::secure_wipe(cookie.data(), cookie.size());
    cookie_born_ = now;
    cookie_valid_ = true;
    has_last_mac1_ = false;  // one reply per message we sent (kernel have_sent_mac1)
    return true;
}

}  // namespace tunless::wg
