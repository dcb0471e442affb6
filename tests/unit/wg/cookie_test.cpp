// Cookie MACs and replies (paper §5.4.4, §5.4.7) between a CookieGenerator (initiator side)
// and a CookieChecker (responder side).
#include <doctest/doctest.h>

#include "core/crypto/x25519.hpp"
#include "core/wg/cookie.hpp"
#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

namespace {

struct CookieSetup {
    test::SeededRng rng{3};
    crypto::PublicKey responder;
    CookieChecker checker;
    CookieGenerator gen;
    Instant t0 = Instant{} + 1h;
    CookieSource src = cookie_source(test::endpoint("192.0.2.1:1234"));

    CookieSetup() {
        test::init_crypto();
        responder = crypto::public_key_from_private(crypto::generate_private_key(rng));
        checker.init(responder);
        gen.init(responder);
    }
    Bytes handshake_message(std::uint8_t fill) {
        Bytes m(initiation::kSize, fill);
        write_initiation_header(m, 0x1234);
        return m;
    }
    bool get_cookie(Instant now) {
        Bytes m = handshake_message(1);
        gen.add_macs(m, now);
        Bytes reply(cookie_reply::kSize);
        checker.create_reply(reply, m, 0x1234, src, now, rng);
        return gen.consume_reply(CookieReplyView(reply), now);
    }
};

}  // namespace

TEST_CASE("mac1 verifies, and any change to the message breaks it") {
    CookieSetup s;
    Bytes m = s.handshake_message(7);
    s.gen.add_macs(m, s.t0);
    CHECK(s.checker.check_mac1(m));
    for (std::size_t off : {std::size_t{0}, std::size_t{50}, initiation::kMac1}) {
        Bytes bad = m;
        bad[off] ^= 1;
        CAPTURE(off);
        CHECK_FALSE(s.checker.check_mac1(bad));
    }
    // Another responder's key gives a different mac1.
    CookieChecker other;
    other.init(crypto::PublicKey{});
    CHECK_FALSE(other.check_mac1(m));
    // Without a cookie mac2 is zero and does not verify.
    CHECK_FALSE(s.checker.check_mac2(m, s.src, s.t0));
}

TEST_CASE("a cookie reply gives the initiator a mac2 the responder accepts") {
    CookieSetup s;
    REQUIRE(s.get_cookie(s.t0));
    CHECK(s.gen.has_cookie(s.t0));
    Bytes m = s.handshake_message(9);
    s.gen.add_macs(m, s.t0 + 1s);
    CHECK(s.checker.check_mac1(m));
    CHECK(s.checker.check_mac2(m, s.src, s.t0 + 1s));
    // Bound to the source address and port.
    CHECK_FALSE(s.checker.check_mac2(m, cookie_source(test::endpoint("192.0.2.1:1235")), s.t0));
    CHECK_FALSE(s.checker.check_mac2(m, cookie_source(test::endpoint("192.0.2.2:1234")), s.t0));
    // The responder's secret is only good for kCookieRefreshTime.
    CHECK_FALSE(s.checker.check_mac2(m, s.src, s.t0 + kCookieRefreshTime + 1s));
}

TEST_CASE("the initiator stops using a cookie before the responder's secret rotates") {
    CookieSetup s;
    REQUIRE(s.get_cookie(s.t0));
    CHECK(s.gen.has_cookie(s.t0 + 114s));
    CHECK_FALSE(s.gen.has_cookie(s.t0 + 115s));
    Bytes m = s.handshake_message(2);
    s.gen.add_macs(m, s.t0 + 116s);
    for (std::size_t i = initiation::kMac2; i < initiation::kSize; ++i) CHECK(m[i] == 0);
}

TEST_CASE("cookie replies are accepted once and only for the mac1 we sent") {
    CookieSetup s;
    Bytes m = s.handshake_message(1);
    Bytes reply(cookie_reply::kSize);
    // Nothing sent yet: a reply cannot be matched.
    s.checker.create_reply(reply, m, 1, s.src, s.t0, s.rng);
    CHECK_FALSE(s.gen.consume_reply(CookieReplyView(reply), s.t0));

    s.gen.add_macs(m, s.t0);
    s.checker.create_reply(reply, m, 1, s.src, s.t0, s.rng);
    Bytes tampered = reply;
    tampered[cookie_reply::kCookie] ^= 1;
    CHECK_FALSE(s.gen.consume_reply(CookieReplyView(tampered), s.t0));
    CHECK(s.gen.consume_reply(CookieReplyView(reply), s.t0));
    CHECK_FALSE(s.gen.consume_reply(CookieReplyView(reply), s.t0));  // replayed reply

    // A reply bound to an older mac1 does not decrypt once a new message was sent.
    Bytes m2 = s.handshake_message(3);
    s.gen.add_macs(m2, s.t0);
    CHECK_FALSE(s.gen.consume_reply(CookieReplyView(reply), s.t0));
}

TEST_CASE("cookie sources distinguish address family, address and port") {
    const CookieSource a = cookie_source(test::endpoint("10.0.0.1:1"));
    const CookieSource b = cookie_source(test::endpoint("[::ffff:10.0.0.1]:1"));
    const CookieSource c = cookie_source(test::endpoint("[fd00::1]:1"));
    CHECK(a.len == 6);
    CHECK(b.len == 6);  // v4-mapped is the same source as plain IPv4
    CHECK(c.len == 18);
    CHECK(std::equal(a.view().begin(), a.view().end(), b.view().begin()));
}

}  // namespace tunless::wg
