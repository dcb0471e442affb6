// Timer behaviour of a Device pair with explicit time (paper §6): keepalive, rekey on send and
// receive, session expiry, key zeroing, handshake retransmission with jitter and giving up,
// persistent keepalive.
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

using test::Pair;

namespace {
constexpr std::uint8_t kInit = 1;
constexpr std::uint8_t kData = 4;

std::uint64_t drops(const Device& d, DropReason r) { return d.stats().drop(r); }

std::vector<Instant> times_of(const Pair& p, char from, std::uint8_t type) {
    std::vector<Instant> t;
    for (const auto& s : p.log) {
        if (s.from == from && s.type == type) t.push_back(s.at);
    }
    return t;
}
}  // namespace

TEST_CASE("a keepalive follows received data after KEEPALIVE_TIMEOUT if we sent nothing") {
    Pair p;
    p.handshake('a');
    const std::size_t b_data = p.sent_count('b', kData);
    p.send_a(p.a_to_b_packet(10));
    p.advance(kKeepaliveTimeout - 1ms);
    CHECK(p.sent_count('b', kData) == b_data);
    p.advance(1ms);
    CHECK(p.sent_count('b', kData) == b_data + 1);
    CHECK(p.log.back().bytes.size() == transport::kMinSize);
    // Nothing more while idle (a's keepalive is not data, so no keepalive answers it).
    p.advance(60s);
    CHECK(p.sent_count('b', kData) == b_data + 1);
}

TEST_CASE("no keepalive when we answered with data in time") {
    Pair p;
    p.handshake('a');
    const std::size_t b_data = p.sent_count('b', kData);
    p.send_a(p.a_to_b_packet(10));
    p.advance(3s);
    p.send_b(p.b_to_a_packet(10));
    p.advance(kKeepaliveTimeout);
    // b's data disarmed its keepalive; a owes one for b's data, b owes nothing.
    CHECK(p.sent_count('b', kData) == b_data + 1);
}

TEST_CASE("the initiator rekeys on send after REKEY_AFTER_TIME; the responder does not") {
    Pair p;
    p.handshake('a');
    p.advance(kRekeyAfterTime - 1s);
    p.send_b(p.b_to_a_packet(1));  // responder: no rekey on send
    p.send_a(p.a_to_b_packet(1));
    CHECK(p.sent_count('a', kInit) == 1);
    CHECK(p.sent_count('b', kInit) == 0);
    p.advance(1s);
    p.send_b(p.b_to_a_packet(2));
    CHECK(p.sent_count('b', kInit) == 0);
    p.send_a(p.a_to_b_packet(2));  // 120 s old and we initiated it: new handshake
    CHECK(p.sent_count('a', kInit) == 2);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 2);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 2);
    CHECK(p.b.delivered.size() == 2);
    // The new session carries data; the old one is kept as `previous` for stragglers.
    p.send_a(p.a_to_b_packet(3));
    p.send_b(p.b_to_a_packet(3));
    CHECK(p.b.delivered.size() == 3);
    CHECK(p.a.delivered.size() == 3);
}

TEST_CASE("the initiator rekeys on receive at REJECT_AFTER_TIME - KEEPALIVE - REKEY_TIMEOUT") {
    Pair p;
    p.handshake('a');
    // Only b talks, so a never rekeys on send.
    p.advance(kRejectAfterTime - kKeepaliveTimeout - kRekeyTimeout - 1s);
    p.send_b(p.b_to_a_packet(1));
    CHECK(p.sent_count('a', kInit) == 1);
    p.advance(1s);
    p.send_b(p.b_to_a_packet(2));
    CHECK(p.sent_count('a', kInit) == 2);
    CHECK(p.a.delivered.size() == 2);
}

TEST_CASE("sessions expire after REJECT_AFTER_TIME; new packets stage and start a handshake") {
    Pair p;
    p.handshake('a');
    std::vector<test::Sent> captured;
    p.filter = [&](const test::Sent& s) {
        if (s.from == 'a' && s.type == kData && s.bytes.size() > 32) captured.push_back(s);
        return true;
    };
    p.send_a(p.a_to_b_packet(10));
    REQUIRE(captured.size() == 1);
    p.filter = nullptr;
    CHECK(p.a.dev.peer_status(p.a.peer)->has_session);
    p.advance(kRejectAfterTime);
    CHECK(p.a.count_events(EventKind::kSessionExpired) == 1);
    CHECK_FALSE(p.a.dev.peer_status(p.a.peer)->has_session);
    CHECK(p.b.count_events(EventKind::kSessionExpired) == 1);
    // Old data is refused and new data needs a handshake first.
    p.b.dev.on_datagram(p.now(), p.a.ep, captured[0].bytes, p.b.out);
    p.pump();
    CHECK(drops(p.b.dev, DropReason::kExpiredKeypair) == 1);
    const std::size_t inits = p.sent_count('a', kInit);
    p.send_a(p.a_to_b_packet(11));
    CHECK(p.sent_count('a', kInit) == inits + 1);
    REQUIRE(p.b.delivered.size() == 2);
    CHECK(p.b.delivered[1] == p.a_to_b_packet(11));
}

TEST_CASE("all keys are zeroed after 3 * REJECT_AFTER_TIME without a new session") {
    Pair p;
    p.handshake('a');
    std::vector<test::Sent> captured;
    p.filter = [&](const test::Sent& s) {
        if (s.from == 'a' && s.type == kData) captured.push_back(s);
        return true;
    };
    p.send_a(p.a_to_b_packet(10));
    p.filter = nullptr;
    p.advance(3 * kRejectAfterTime - 1s);
    // Expired but not yet wiped: the keypair is still found, and refused for its age.
    p.b.dev.on_datagram(p.now(), p.a.ep, captured.back().bytes, p.b.out);
    CHECK(drops(p.b.dev, DropReason::kExpiredKeypair) == 1);
    CHECK(drops(p.b.dev, DropReason::kUnknownReceiverIndex) == 0);
    p.advance(1s);
    CHECK_FALSE(p.a.dev.peer_status(p.a.peer)->has_session);
    CHECK_FALSE(p.b.dev.peer_status(p.b.peer)->has_session);
    // The wiped keypair's receiver index is gone too.
    p.b.dev.on_datagram(p.now(), p.a.ep, captured.back().bytes, p.b.out);
    CHECK(drops(p.b.dev, DropReason::kUnknownReceiverIndex) == 1);
    // And a new handshake brings everything back.
    p.send_a(p.a_to_b_packet(12));
    CHECK(p.b.delivered.back() == p.a_to_b_packet(12));
}

TEST_CASE("handshake retransmission every REKEY_TIMEOUT + jitter, giving up after 20 tries") {
    Pair p;
    p.a_to_b_up = false;
    p.send_a(p.a_to_b_packet(1));
    p.send_a(p.a_to_b_packet(2));
    p.advance(200s);
    const std::vector<Instant> t = times_of(p, 'a', kInit);
    // The first initiation plus MAX_TIMER_HANDSHAKES + 1 retransmissions (kernel timers.c).
    REQUIRE(t.size() == kMaxTimerHandshakes + 2);
    Duration min_gap = Duration::max();
    Duration max_gap = Duration::zero();
    for (std::size_t i = 1; i < t.size(); ++i) {
        const Duration gap = t[i] - t[i - 1];
        min_gap = std::min(min_gap, gap);
        max_gap = std::max(max_gap, gap);
        CHECK(gap >= kRekeyTimeout);
        CHECK(gap < kRekeyTimeout + std::chrono::milliseconds(kRekeyTimeoutJitterMaxMs));
    }
    CHECK(max_gap > min_gap);  // jitter is actually applied
    CHECK(t.back() - t.front() >= kRekeyAttemptTime);
    CHECK(p.a.count_events(EventKind::kHandshakeGaveUp) == 1);
    CHECK(drops(p.a.dev, DropReason::kHandshakeGaveUp) == 2);  // the staged packets
    // After giving up, a new packet starts a new series (and succeeds once the link is up).
    p.a_to_b_up = true;
    p.send_a(p.a_to_b_packet(3));
    REQUIRE(p.b.delivered.size() == 1);
    CHECK(p.b.delivered[0] == p.a_to_b_packet(3));
}

TEST_CASE("sent data without any reply triggers a new handshake after 15 s + jitter") {
    Pair p;
    p.handshake('a');
    p.b_to_a_up = false;  // b's packets (including keepalives) are lost
    p.send_a(p.a_to_b_packet(1));
    p.advance(kKeepaliveTimeout + kRekeyTimeout - 1ms);
    CHECK(p.sent_count('a', kInit) == 1);
    p.advance(std::chrono::milliseconds(kRekeyTimeoutJitterMaxMs) + 1ms);
    CHECK(p.sent_count('a', kInit) == 2);
}

TEST_CASE("persistent keepalive: immediate when enabled, then every interval while idle") {
    Pair p;
    PeerConfig c;
    c.public_key = p.b.dev.public_key();
    c.allowed_ips = {test::prefix("192.168.0.2/32")};
    c.endpoint = p.b.ep;
    c.persistent_keepalive_s = 25;
    REQUIRE(p.a.dev.update_peer(p.a.peer, c));
    CHECK(p.a.dev.next_deadline() <= p.now());
    p.advance(1ms);  // the first keepalive needs a session: handshake, then the keepalive
    CHECK(p.sent_count('a', kInit) == 1);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 1);
    const std::size_t before = p.sent_count('a', kData);
    p.advance(100s);
    CHECK(p.sent_count('a', kData) == before + 4);
    CHECK(p.a.dev.peer_status(p.a.peer)->persistent_keepalive_s == 25);
}

}  // namespace tunless::wg
