// Hostile and broken inputs against a Device pair: replayed data and initiations, initiation
// floods, cookies under load, wrong static keys and preshared keys, a dishonest peer
// (hand-built with the handshake functions), the message limit, clock resets.
#include <doctest/doctest.h>

#include "core/crypto/aead.hpp"
#include "core/crypto/x25519.hpp"
#include "core/wg/cookie.hpp"
#include "core/wg/handshake.hpp"
#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

using test::Pair;

namespace {
constexpr std::uint8_t kInit = 1;
constexpr std::uint8_t kResp = 2;
constexpr std::uint8_t kCookie = 3;
constexpr std::uint8_t kData = 4;

std::uint64_t drops(const Device& d, DropReason r) { return d.stats().drop(r); }

std::vector<test::Sent> capture(Pair& p, char from, std::uint8_t type) {
    std::vector<test::Sent> out;
    for (const auto& s : p.log) {
        if (s.from == from && s.type == type) out.push_back(s);
    }
    return out;
}

// A peer driven by hand with the handshake functions, to send what a Device never would.
struct ManualPeer {
    test::SeededRng rng{4242};
    StaticIdentity id;
    Handshake hs;
    CookieGenerator cookie;
    SessionKeys keys;
    std::uint64_t counter = 0;
    Endpoint ep = test::endpoint("10.0.0.50:5000");

    explicit ManualPeer(const crypto::PublicKey& device_key) {
        id.private_key = crypto::generate_private_key(rng);
        id.public_key = crypto::public_key_from_private(id.private_key);
        id.present = true;
        hs.remote_static = device_key;
        precompute_static_static(id, hs);
        cookie.init(device_key);
    }
    Bytes initiation(WallTime w, Instant now) {
        Bytes m(initiation::kSize);
        REQUIRE(create_initiation(id, hs, rng, crypto::tai64n_from_wall(w), 77, m));
        cookie.add_macs(m, now);
        return m;
    }
    void consume(const Bytes& response) {
        REQUIRE(consume_response(id, hs, ResponseView(response)));
        REQUIRE(derive_session(hs, keys));
    }
    Bytes data(ByteView plain) {
        Bytes m(transport_len(plain.size()));
        write_transport_header(m, keys.remote_index, counter);
        crypto::aead_encrypt(MutByteView(m).subspan(transport::kContent), keys.send, counter,
                             plain, {});
        ++counter;
        return m;
    }
};

// b gets a ManualPeer as an extra peer owning 192.168.0.50, and a session with it.
struct DishonestSetup {
    Pair p;
    ManualPeer m{p.b.dev.public_key()};
    DishonestSetup() {
        PeerConfig c;
        c.public_key = m.id.public_key;
        c.allowed_ips = {test::prefix("192.168.0.50/32")};
        REQUIRE(p.b.dev.add_peer(c).has_value());
        p.b.dev.on_datagram(p.now(), m.ep, m.initiation(WallTime{1'700'000'000, 0}, p.now()),
                            p.b.out);
        REQUIRE(p.b.out.datagrams().size() == 1);
        const ByteView resp = p.b.out.datagrams()[0].bytes;
        m.consume(Bytes(resp.begin(), resp.end()));
        p.b.out.clear();
    }
    void send(ByteView plain) {
        p.b.dev.on_datagram(p.now(), m.ep, m.data(plain), p.b.out);
        p.collect(p.b);
    }
};

}  // namespace

TEST_CASE("lost and reordered data inside the window is accepted; duplicates are not") {
    Pair p;
    p.handshake('a');
    std::vector<test::Sent> held;
    p.filter = [&](const test::Sent& s) {
        if (s.from == 'a' && s.type == kData) {
            held.push_back(s);
            return false;
        }
        return true;
    };
    for (std::size_t i = 0; i < 5; ++i) p.send_a(p.a_to_b_packet(i));
    p.filter = nullptr;
    REQUIRE(held.size() == 5);
    for (std::size_t i : {3, 0, 4, 1}) {  // packet 2 is lost
        p.b.dev.on_datagram(p.now(), p.a.ep, held[i].bytes, p.b.out);
        p.collect(p.b);
    }
    REQUIRE(p.b.delivered.size() == 4);
    CHECK(p.b.delivered[0] == p.a_to_b_packet(3));
    CHECK(p.b.delivered[3] == p.a_to_b_packet(1));
    p.b.dev.on_datagram(p.now(), p.a.ep, held[3].bytes, p.b.out);
    p.b.dev.on_datagram(p.now(), p.a.ep, held[0].bytes, p.b.out);
    p.collect(p.b);
    CHECK(p.b.delivered.size() == 4);
    CHECK(drops(p.b.dev, DropReason::kReplayedCounter) == 2);
    // A forged packet (bad tag) is dropped without touching the window.
    Bytes forged = held[2].bytes;
    forged.back() ^= 1;
    p.b.dev.on_datagram(p.now(), p.a.ep, forged, p.b.out);
    CHECK(drops(p.b.dev, DropReason::kDecryptFailed) == 1);
    p.b.dev.on_datagram(p.now(), p.a.ep, held[2].bytes, p.b.out);
    p.collect(p.b);
    CHECK(p.b.delivered.size() == 5);
}

TEST_CASE("a replayed initiation is rejected by its TAI64N timestamp") {
    Pair p;
    p.handshake('a');
    const auto inits = capture(p, 'a', kInit);
    REQUIRE(inits.size() == 1);
    const std::size_t responses = p.sent_count('b', kResp);
    p.advance(1s);
    p.b.dev.on_datagram(p.now(), test::endpoint("198.51.100.9:9"), inits[0].bytes, p.b.out);
    p.pump();
    CHECK(drops(p.b.dev, DropReason::kStaleTimestamp) == 1);
    CHECK(p.sent_count('b', kResp) == responses);
    // The replay did not move a's endpoint on b (it did not authenticate as fresh).
    CHECK(p.b.dev.peer_status(p.b.peer)->endpoint == p.a.ep);
    // The session is undisturbed.
    p.send_a(p.a_to_b_packet(1));
    CHECK(p.b.delivered.size() == 1);
}

TEST_CASE("initiations for one peer faster than 50/s are dropped as a flood") {
    Pair p;
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));  // forced: rate limit bypassed
    p.pump();
    CHECK(p.sent_count('a', kInit) == 2);
    CHECK(drops(p.b.dev, DropReason::kInitiationFlood) == 1);
    CHECK(p.sent_count('b', kResp) == 1);
    // The first initiation's response was superseded locally by the second initiation.
    CHECK(drops(p.a.dev, DropReason::kUnknownReceiverIndex) == 1);
    p.advance(6s);  // retransmission completes the handshake
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 1);
}

TEST_CASE("under load: initiation without MAC2 -> cookie reply -> retry with MAC2 accepted") {
    Pair p;
    p.b.dev.set_under_load_override(true);
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    p.pump();
    CHECK(p.sent_count('b', kCookie) == 1);
    CHECK(p.sent_count('b', kResp) == 0);
    CHECK(drops(p.b.dev, DropReason::kCookieRequired) == 1);
    CHECK(p.b.dev.stats().cookie_replies_sent == 1);
    CHECK(drops(p.a.dev, DropReason::kBadCookieReply) == 0);
    p.advance(kRekeyTimeout + std::chrono::milliseconds(kRekeyTimeoutJitterMaxMs));
    CHECK(p.sent_count('a', kInit) == 2);
    CHECK(p.sent_count('b', kResp) == 1);
    CHECK(p.sent_count('b', kCookie) == 1);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 1);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 1);
    // The cookie reply went to where the initiation came from, without a peer id.
    const auto cookies = capture(p, 'b', kCookie);
    CHECK(cookies[0].to == p.a.ep);
}

TEST_CASE("a burst of handshake messages puts the responder under load by itself") {
    Pair p;
    for (std::uint32_t i = 0; i < kUnderLoadHandshakesPerSecond + 10; ++i) {
        REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
        p.pump();
        p.clock.advance(5ms);
    }
    // One cookie reply: from then on a's initiations carry a valid MAC2...
    CHECK(p.sent_count('b', kCookie) == 1);
    CHECK(drops(p.b.dev, DropReason::kCookieRequired) == 1);
    // ...and pass, limited by the per-source token bucket (burst 5, then 20/s).
    CHECK(drops(p.b.dev, DropReason::kRateLimited) >= 1);
    CHECK(p.sent_count('b', kResp) >= 1);
    // A second later the load is gone and handshakes work without cookies.
    p.advance(2s);
    const std::size_t cookies = p.sent_count('b', kCookie);
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    p.pump();
    CHECK(p.sent_count('b', kCookie) == cookies);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) >= 1);
}

TEST_CASE("a responder that does not know the initiator's key drops it as an unknown peer") {
    Pair p;
    REQUIRE(p.b.dev.remove_peer(p.a.dev.public_key()));
    test::SeededRng rng(9);
    PeerConfig c;
    c.public_key = crypto::public_key_from_private(crypto::generate_private_key(rng));
    c.allowed_ips = {test::prefix("192.168.0.1/32")};
    REQUIRE(p.b.dev.add_peer(c).has_value());
    p.handshake('a');
    CHECK(drops(p.b.dev, DropReason::kUnknownPeer) == 1);
    CHECK(p.sent_count('b', kResp) == 0);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 0);
}

TEST_CASE("an initiation built for another responder key fails MAC1") {
    Pair p;
    // a believes b has some other public key.
    REQUIRE(p.a.dev.remove_peer(p.b.dev.public_key()));
    test::SeededRng rng(10);
    PeerConfig c;
    c.public_key = crypto::public_key_from_private(crypto::generate_private_key(rng));
    c.allowed_ips = {test::prefix("192.168.0.2/32")};
    c.endpoint = p.b.ep;
    const auto id = p.a.dev.add_peer(c);
    REQUIRE(id.has_value());
    p.a.peer = *id;
    p.handshake('a');
    CHECK(drops(p.b.dev, DropReason::kBadMac1) == 1);
    CHECK(p.sent_count('b', kResp) == 0);
}

TEST_CASE("mismatched preshared keys: no session, a counted drop on the initiator") {
    Pair p;
    PeerConfig c;
    c.public_key = p.b.dev.public_key();
    c.allowed_ips = {test::prefix("192.168.0.2/32")};
    c.endpoint = p.b.ep;
    c.preshared_key = crypto::SymmetricKey{};
    c.preshared_key->span()[0] = 1;
    REQUIRE(p.a.dev.update_peer(p.a.peer, c));
    CHECK(p.a.dev.peer_status(p.a.peer)->has_preshared_key);
    p.handshake('a');
    CHECK(p.sent_count('b', kResp) == 1);
    CHECK(drops(p.a.dev, DropReason::kHandshakeFailed) == 1);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 0);
    CHECK(p.b.count_events(EventKind::kHandshakeCompleted) == 0);
    // With the same psk on b, it works.
    PeerConfig cb;
    cb.public_key = p.a.dev.public_key();
    cb.allowed_ips = {test::prefix("192.168.0.1/32")};
    cb.preshared_key = c.preshared_key;
    REQUIRE(p.b.dev.update_peer(p.b.peer, cb));
    p.advance(6s);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 1);
    p.send_a(p.a_to_b_packet(1));
    CHECK(p.b.delivered.size() == 1);
}

TEST_CASE("handshake messages without our identity, and junk, are named drops") {
    Pair p;
    test::FakeClock clock;
    test::SeededRng rng(3);
    Device bare(rng, clock);
    Outbox out;
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    const Bytes init(p.a.out.datagrams()[0].bytes.begin(), p.a.out.datagrams()[0].bytes.end());
    bare.on_datagram(p.now(), p.a.ep, init, out);
    CHECK(bare.stats().drop(DropReason::kNoIdentity) == 1);
    bare.on_datagram(p.now(), p.a.ep, Bytes(3, 1), out);
    bare.on_datagram(p.now(), p.a.ep, Bytes(100, 9), out);
    Bytes wrong_length(100, 0);
    wrong_length[0] = 1;
    bare.on_datagram(p.now(), p.a.ep, wrong_length, out);
    Bytes cookie(64, 0);
    cookie[0] = 3;
    bare.on_datagram(p.now(), p.a.ep, cookie, out);
    CHECK(bare.stats().drop(DropReason::kTooShort) == 1);
    CHECK(bare.stats().drop(DropReason::kUnknownType) == 1);
    CHECK(bare.stats().drop(DropReason::kBadLength) == 1);
    CHECK(bare.stats().drop(DropReason::kUnknownReceiverIndex) == 1);
    CHECK(out.empty());
    Bytes response(92, 0);
    response[0] = 2;
    p.b.dev.on_datagram(p.now(), p.a.ep, response, p.b.out);
    CHECK(drops(p.b.dev, DropReason::kBadMac1) == 1);
}

TEST_CASE("a dishonest peer: invalid inner packets and foreign sources are dropped") {
    DishonestSetup d;
    d.send({});  // keepalive: confirms the session, not delivered
    CHECK(d.p.b.delivered.empty());
    d.send(test::ipv4_packet("192.168.0.50", "192.168.0.2", 4));
    CHECK(d.p.b.delivered.size() == 1);
    d.send(Bytes(16, 0x45));                                       // header says more than present
    d.send(Bytes(48, 0x00));                                       // version 0
    d.send(test::ipv4_packet("192.168.0.1", "192.168.0.2", 4));    // a's address, not ours
    CHECK(drops(d.p.b.dev, DropReason::kBadInnerPacket) == 2);
    CHECK(drops(d.p.b.dev, DropReason::kSourceNotAllowed) == 1);
    // Padding after the declared length is trimmed off.
    Bytes padded = test::ipv4_packet("192.168.0.50", "192.168.0.2", 5);
    padded.resize(48, 0);
    d.send(padded);
    REQUIRE(d.p.b.delivered.size() == 2);
    CHECK(d.p.b.delivered[1].size() == 25);
}

TEST_CASE("counters at REJECT_AFTER_MESSAGES are refused") {
    DishonestSetup d;
    d.m.counter = kRejectAfterMessages;
    d.send(test::ipv4_packet("192.168.0.50", "192.168.0.2", 4));
    CHECK(drops(d.p.b.dev, DropReason::kMessageLimit) == 1);
    d.m.counter = kRejectAfterMessages - 1;
    d.send(test::ipv4_packet("192.168.0.50", "192.168.0.2", 4));
    CHECK(d.p.b.delivered.size() == 1);
}

TEST_CASE("clock reset: TAI64N never goes backwards, and the floor survives a restart") {
    Pair p;
    p.handshake('a');
    const crypto::Tai64n first = p.a.dev.last_sent_timestamp();
    // The wall clock jumps back to 1970 (module without RTC after a reboot of the clock).
    p.clock.set_wall(WallTime{0, 0});
    p.advance(10s);
    REQUIRE(p.a.dev.initiate(p.now(), p.a.peer, p.a.out));
    p.pump();
    CHECK(drops(p.b.dev, DropReason::kStaleTimestamp) == 0);
    CHECK(p.a.count_events(EventKind::kHandshakeCompleted) == 2);
    CHECK(crypto::tai64n_after(p.a.dev.last_sent_timestamp(), first));
    const crypto::Tai64n persisted = p.a.dev.last_sent_timestamp();

    // "Reboot" a: a fresh Device with the same key, clock still at 1970.
    auto reboot = [&](bool restore_floor) {
        test::SeededRng rng(restore_floor ? 501 : 502);
        Device fresh(rng, p.clock);
        fresh.set_private_key(p.a.key);
        if (restore_floor) fresh.set_timestamp_floor(persisted);
        PeerConfig c;
        c.public_key = p.b.dev.public_key();
        c.allowed_ips = {test::prefix("192.168.0.2/32")};
        c.endpoint = p.b.ep;
        const PeerId id = *fresh.add_peer(c);
        Outbox out;
        p.advance(1s);
        REQUIRE(fresh.initiate(p.now(), id, out));
        REQUIRE(out.datagrams().size() == 1);
        p.b.dev.on_datagram(p.now(), p.a.ep, out.datagrams()[0].bytes, p.b.out);
        p.collect(p.b);
    };
    reboot(false);
    CHECK(drops(p.b.dev, DropReason::kStaleTimestamp) == 1);  // what the field failure looked like
    reboot(true);
    CHECK(drops(p.b.dev, DropReason::kStaleTimestamp) == 1);
    CHECK(p.b.pending.back().type == kResp);
}

}  // namespace tunless::wg
