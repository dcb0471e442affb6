// Pair tests: two Devices exchanging Outbox datagrams by hand under one FakeClock.
// Handshakes from either side, data both ways with cryptokey routing, staging, padding,
// configuration changes while a session runs.
#include <doctest/doctest.h>

#include "core/crypto/x25519.hpp"
#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

using test::Pair;

namespace {
constexpr std::uint8_t kInit = 1;
constexpr std::uint8_t kResp = 2;
constexpr std::uint8_t kCookie = 3;
constexpr std::uint8_t kData = 4;

std::uint64_t drops(const Device& d, DropReason r) { return d.stats().drop(r); }
}  // namespace

TEST_CASE("handshake initiated by a: both sides complete, the keepalive confirms") {
    Pair p;
    p.handshake('a');
    CHECK(p.sent_count('a', kInit) == 1);
    CHECK(p.sent_count('b', kResp) == 1);
    CHECK(p.sent_count('a', kData) == 1);  // keepalive: key confirmation for b
    CHECK(p.log.back().bytes.size() == transport::kMinSize);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 1);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 1);
    CHECK(p.b.delivered.empty());  // keepalives are not delivered
    const auto sa = p.a.dev.peer_status(p.a.peer);
    const auto sb = p.b.dev.peer_status(p.b.peer);
    REQUIRE(sa.has_value());
    REQUIRE(sb.has_value());
    CHECK(sa->has_session);
    CHECK(sb->has_session);
    CHECK(sa->last_handshake.has_value());
    CHECK(sa->last_handshake->seconds == 1'700'000'000);
    CHECK(sa->tx_bytes == 148 + 32);
    CHECK(sb->rx_bytes == sa->tx_bytes);
    CHECK(sb->tx_bytes == 92);
    CHECK(sa->rx_bytes == sb->tx_bytes);
}

TEST_CASE("handshake initiated by b works the same way") {
    Pair p;
    p.handshake('b');
    CHECK(p.sent_count('b', kInit) == 1);
    CHECK(p.sent_count('a', kResp) == 1);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 1);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 1);
    p.send_a(p.a_to_b_packet(10));
    p.send_b(p.b_to_a_packet(20));
    REQUIRE(p.b.delivered.size() == 1);
    REQUIRE(p.a.delivered.size() == 1);
    CHECK(p.b.delivered[0] == p.a_to_b_packet(10));
    CHECK(p.a.delivered[0] == p.b_to_a_packet(20));
}

TEST_CASE("data flows both ways over IPv4 and IPv6 after a handshake") {
    Pair p;
    p.handshake('a');
    for (std::size_t len : {0, 1, 15, 16, 100, 1380}) {
        p.send_a(p.a_to_b_packet(len));
        p.send_b(test::ipv6_packet("fd00::2", "fd00::1", len));
    }
    REQUIRE(p.b.delivered.size() == 6);
    REQUIRE(p.a.delivered.size() == 6);
    CHECK(p.b.delivered[4] == p.a_to_b_packet(100));
    CHECK(p.a.delivered[5] == test::ipv6_packet("fd00::2", "fd00::1", 1380));
    // Each side's counters agree with what the other received.
    CHECK(p.a.dev.peer_status(p.a.peer)->tx_bytes == p.b.dev.peer_status(p.b.peer)->rx_bytes);
    CHECK(p.b.dev.peer_status(p.b.peer)->tx_bytes == p.a.dev.peer_status(p.a.peer)->rx_bytes);
    CHECK(p.sent_count('a', kInit) == 1);
}

TEST_CASE("packets before a session are staged, a handshake starts, then they are flushed") {
    Pair p;
    p.a.dev.on_ip_packet(p.now(), p.a_to_b_packet(1), p.a.out);
    p.a.dev.on_ip_packet(p.now(), p.a_to_b_packet(2), p.a.out);
    p.a.dev.on_ip_packet(p.now(), p.a_to_b_packet(3), p.a.out);
    CHECK(p.a.out.datagrams().size() == 1);  // one initiation, rate limited
    CHECK(p.a.out.datagrams()[0].bytes[0] == kInit);
    p.pump();
    REQUIRE(p.b.delivered.size() == 3);
    CHECK(p.b.delivered[2] == p.a_to_b_packet(3));
    CHECK(p.sent_count('a', kData) == 3);  // staged data confirms the session: no keepalive
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 1);
}

TEST_CASE("responder data waits for key confirmation, then leaves with the confirmation") {
    Pair p;
    // a's initiation reaches b, b's response is lost: b has only a `next` keypair.
    p.b_to_a_up = false;
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    p.pump();
    p.send_b(p.b_to_a_packet(5));
    CHECK(p.sent_count('b', kData) == 0);  // staged on b, not sent with an unconfirmed key
    p.b_to_a_up = true;
    p.advance(6s);  // a retransmits; the new exchange confirms b's keypair
    REQUIRE(p.a.delivered.size() == 1);
    CHECK(p.a.delivered[0] == p.b_to_a_packet(5));
}

TEST_CASE("outgoing packets are padded to 16 bytes, capped at the MTU, and trimmed on receipt") {
    Pair p;
    p.handshake('a');
    p.send_a(p.a_to_b_packet(100));  // 120-byte packet -> 128 padded
    CHECK(p.log.back().bytes.size() == 16 + 128 + 16);
    CHECK(p.b.delivered.back().size() == 120);
    p.a.dev.set_mtu(1420);
    p.send_a(p.a_to_b_packet(1395));  // 1415 bytes: padding stops at the MTU (1420)
    CHECK(p.log.back().bytes.size() == 16 + 1420 + 16);
    CHECK(p.b.delivered.back().size() == 1415);
    p.send_a(p.a_to_b_packet(1480));  // larger than the MTU: sent unpadded
    CHECK(p.log.back().bytes.size() == 16 + 1500 + 16);
}

TEST_CASE("cryptokey routing: unknown destinations and malformed local packets are dropped") {
    Pair p;
    p.handshake('a');
    const std::size_t before = p.log.size();
    p.send_a(test::ipv4_packet("192.168.0.1", "192.168.0.99", 10));
    CHECK(drops(p.a.dev, DropReason::kNoRoute) == 1);
    Bytes bad = p.a_to_b_packet(10);
    bad[0] = 0x75;
    p.send_a(bad);
    p.send_a(Bytes(10, 0x45));
    CHECK(drops(p.a.dev, DropReason::kBadOutgoingPacket) == 2);
    CHECK(p.log.size() == before);
}

TEST_CASE("a decrypted packet whose source is not the sender's allowed IP is dropped") {
    Pair p;
    // A third peer on a owns 192.168.0.77: b may not use that source.
    test::SeededRng rng(123);
    PeerConfig c;
    c.public_key = crypto::public_key_from_private(crypto::generate_private_key(rng));
    c.allowed_ips = {test::prefix("192.168.0.77/32")};
    REQUIRE(p.a.dev.add_peer(c).has_value());
    p.handshake('a');
    p.send_b(test::ipv4_packet("192.168.0.77", "192.168.0.1", 10));
    p.send_b(test::ipv4_packet("10.9.9.9", "192.168.0.1", 10));
    p.send_b(test::ipv6_packet("fd00::9", "fd00::1", 10));
    CHECK(p.a.delivered.empty());
    CHECK(drops(p.a.dev, DropReason::kSourceNotAllowed) == 3);
    p.send_b(p.b_to_a_packet(10));
    CHECK(p.a.delivered.size() == 1);
}

TEST_CASE("roaming: the endpoint follows the source of authenticated packets") {
    Pair p;
    p.handshake('a');
    CHECK(p.b.dev.peer_status(p.b.peer)->endpoint == p.a.ep);
    const Endpoint old_ep = p.a.ep;
    p.a.ep = test::endpoint("203.0.113.5:40000");  // a's NAT mapping changed
    p.send_a(p.a_to_b_packet(10));
    CHECK(p.b.dev.peer_status(p.b.peer)->endpoint == p.a.ep);
    CHECK(p.b.count_events(EventKind::kEndpointChanged) == 1);
    p.send_b(p.b_to_a_packet(10));
    CHECK(p.log.back().to == p.a.ep);
    CHECK(p.log.back().from == 'b');
    // Unauthenticated junk from the old address does not move it back.
    p.b.dev.on_datagram(p.now(), old_ep, Bytes(64, 4), p.b.out);
    p.pump();
    CHECK(p.b.dev.peer_status(p.b.peer)->endpoint == p.a.ep);
}

TEST_CASE("a peer without a configured endpoint learns it from the initiator") {
    Pair p(3, /*a_knows_b_endpoint=*/true, /*b_knows_a_endpoint=*/false);
    p.send_b(p.b_to_a_packet(1));  // b cannot reach a yet: staged, initiation has nowhere to go
    CHECK(drops(p.b.dev, DropReason::kNoEndpoint) == 1);
    p.handshake('a');
    CHECK(p.b.dev.peer_status(p.b.peer)->endpoint == p.a.ep);
    CHECK(p.a.delivered.size() == 1);  // b's staged packet left once its key was confirmed
}

TEST_CASE("remove_peer while a session runs") {
    Pair p;
    p.handshake('a');
    const crypto::PublicKey a_key = p.a.dev.public_key();
    REQUIRE(p.b.dev.remove_peer(a_key));
    CHECK(p.b.dev.peer_count() == 0);
    CHECK_FALSE(p.b.dev.peer_status(p.b.peer).has_value());
    CHECK_FALSE(p.b.dev.remove_peer(a_key));
    p.send_a(p.a_to_b_packet(10));
    CHECK(p.b.delivered.empty());
    CHECK(drops(p.b.dev, DropReason::kUnknownReceiverIndex) == 1);
    p.send_b(p.b_to_a_packet(10));
    CHECK(drops(p.b.dev, DropReason::kNoRoute) == 1);

    // Added again: a new id, and a fresh handshake works.
    PeerConfig c;
    c.public_key = a_key;
    c.allowed_ips = {test::prefix("192.168.0.1/32")};
    c.endpoint = p.a.ep;
    const auto id = p.b.dev.add_peer(c);
    REQUIRE(id.has_value());
    CHECK(*id != p.b.peer);
    p.b.peer = *id;
    p.handshake('b');
    p.send_a(p.a_to_b_packet(11));
    REQUIRE(p.b.delivered.size() == 1);
}

TEST_CASE("update_peer keeps the session for endpoint, allowed IPs and keepalive changes") {
    Pair p;
    p.handshake('a');
    PeerConfig c;
    c.public_key = p.b.dev.public_key();
    c.allowed_ips = {test::prefix("192.168.0.0/24")};
    c.endpoint = test::endpoint("10.0.0.2:51821");
    c.persistent_keepalive_s = 0;
    REQUIRE(p.a.dev.update_peer(p.a.peer, c));
    p.send_a(test::ipv4_packet("192.168.0.1", "192.168.0.200", 10));
    CHECK(p.sent_count('a', kInit) == 1);  // no new handshake
    CHECK(p.log.back().to == c.endpoint);
    const auto st = p.a.dev.peer_status(p.a.peer);
    REQUIRE(st->allowed_ips.size() == 1);
    CHECK(st->allowed_ips[0] == test::prefix("192.168.0.0/24"));
    // The old IPv6 route is gone.
    p.send_a(test::ipv6_packet("fd00::1", "fd00::2", 1));
    CHECK(drops(p.a.dev, DropReason::kNoRoute) == 1);
    // A different public key is refused.
    c.public_key = p.a.dev.public_key();
    CHECK_FALSE(p.a.dev.update_peer(p.a.peer, c));
    CHECK_FALSE(p.a.dev.update_peer(12345, c));
}

TEST_CASE("add_peer refuses duplicates, zero keys and our own key") {
    Pair p;
    PeerConfig c;
    c.public_key = p.b.dev.public_key();
    CHECK(p.a.dev.add_peer(c).error().code == Errc::kAlreadyExists);
    c.public_key = crypto::PublicKey{};
    CHECK(p.a.dev.add_peer(c).error().code == Errc::kInvalidArgument);
    c.public_key = p.a.dev.public_key();
    CHECK(p.a.dev.add_peer(c).error().code == Errc::kInvalidArgument);
    CHECK(p.a.dev.find_peer(p.b.dev.public_key()) == p.a.peer);
    CHECK(p.a.dev.peer_ids() == std::vector<PeerId>{p.a.peer});
}

TEST_CASE("set_private_key: same key is a no-op; a new key stops sessions from sending") {
    Pair p;
    p.handshake('a');
    p.b.dev.set_private_key(p.b.key);
    p.send_b(p.b_to_a_packet(1));
    CHECK(p.a.delivered.size() == 1);

    test::SeededRng rng(77);
    const crypto::PrivateKey fresh = crypto::generate_private_key(rng);
    p.b.dev.set_private_key(fresh);
    CHECK_FALSE(p.b.dev.peer_status(p.b.peer)->has_session);
    const std::size_t inits = p.sent_count('b', kInit);
    p.send_b(p.b_to_a_packet(2));  // staged; new handshake with the new identity
    CHECK(p.sent_count('b', kInit) == inits + 1);
    CHECK(drops(p.a.dev, DropReason::kUnknownPeer) == 1);  // a still knows b's old key
    CHECK(p.a.delivered.size() == 1);
}

TEST_CASE("set_private_key removes a peer that has our new public key") {
    Pair p;
    p.a.dev.set_private_key(p.b.key);  // a now has b's identity: the peer "b" is itself
    CHECK(p.a.dev.peer_count() == 0);
}

TEST_CASE("the staged queue keeps 128 packets; overflow drops the oldest") {
    Pair p;
    p.a_to_b_up = false;
    for (std::size_t i = 0; i < kMaxStagedPackets + 2; ++i) {
        p.a.dev.on_ip_packet(p.now(), p.a_to_b_packet(i), p.a.out);
    }
    CHECK(drops(p.a.dev, DropReason::kStagedOverflow) == 2);
    p.pump();
    p.a_to_b_up = true;
    p.advance(6s);  // retransmission gets through
    REQUIRE(p.b.delivered.size() == kMaxStagedPackets);
    CHECK(p.b.delivered.front() == p.a_to_b_packet(2));
    CHECK(p.b.delivered.back() == p.a_to_b_packet(kMaxStagedPackets + 1));
}

TEST_CASE("simultaneous initiation from both sides resolves to a working session") {
    Pair p;
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    REQUIRE(p.b.dev.initiate(p.now(), p.b.peer, p.b.out));
    p.pump();
    p.send_a(p.a_to_b_packet(1));
    p.send_b(p.b_to_a_packet(2));
    p.advance(20s);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) >= 1);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) >= 1);
    p.send_a(p.a_to_b_packet(3));
    p.send_b(p.b_to_a_packet(4));
    REQUIRE(p.b.delivered.size() == 2);
    REQUIRE(p.a.delivered.size() == 2);
    CHECK(p.b.delivered[1] == p.a_to_b_packet(3));
    CHECK(p.a.delivered[1] == p.b_to_a_packet(4));
}

TEST_CASE("next_deadline is kNever without peers and finite once timers run") {
    test::FakeClock clock;
    test::SeededRng rng(1);
    Device d(rng, clock);
    CHECK(d.next_deadline() == kNever);
    Pair p;
    p.handshake('a');
    CHECK(p.a.dev.next_deadline() != kNever);  // zero-key-material at least
    CHECK(p.a.dev.next_deadline() <= p.now() + 3 * kRejectAfterTime);
}

TEST_CASE("drop reasons have distinct names") {
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
        const char* name = drop_reason_name(static_cast<DropReason>(i));
        CHECK(std::string(name) != "unknown");
        for (std::size_t j = 0; j < i; ++j) {
            CHECK(std::string(name) != drop_reason_name(static_cast<DropReason>(j)));
        }
    }
}

}  // namespace tunless::wg
