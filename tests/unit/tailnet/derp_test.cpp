#include <doctest/doctest.h>
#include <sodium.h>

#include <string>
#include <string_view>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/derp_client_session.hpp"
#include "core/tailnet/derp_frames.hpp"
#include "tests/support/test_rng.hpp"

using namespace tunless;
using namespace tunless::tailnet;
using namespace std::chrono_literals;

namespace {

Bytes frame(std::uint8_t type, ByteView payload) {
    Bytes f{type, 0, 0, 0, 0};
    store_be32(f.data() + 1, static_cast<std::uint32_t>(payload.size()));
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

ByteView sv(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A tiny in-test DERP server: its key pair, and the frames it would send.
struct TestServer {
    test::SeededRng rng{99};
    crypto::PrivateKey priv = crypto::generate_private_key(rng);
    crypto::PublicKey pub = crypto::public_key_from_private(priv);

    Bytes server_key_frame() const {
        Bytes p(derp::kMagic.begin(), derp::kMagic.end());
        p.insert(p.end(), pub.bytes.begin(), pub.bytes.end());
        return frame(derp::kServerKey, p);
    }
    Bytes server_info_frame(const crypto::PublicKey& client, std::string_view json) {
        Bytes p(derp::kNonceLen + derp::kBoxOverhead + json.size());
        rng.fill(MutByteView(p.data(), derp::kNonceLen));
        REQUIRE(crypto_box_easy(p.data() + derp::kNonceLen, sv(json).data(), json.size(), p.data(),
                                client.bytes.data(), priv.data()) == 0);
        return frame(derp::kServerInfo, p);
    }
};

struct Client {
    test::FakeClock clock;
    test::SeededRng rng{5};
    crypto::PrivateKey node = crypto::generate_private_key(rng);
    crypto::PublicKey node_pub = crypto::public_key_from_private(node);
    DerpClientSession session;
    Bytes out;
    std::vector<DerpEvent> events;

    explicit Client(bool home = true) : session(node, rng, home, clock.now_mono()) {}
    Status feed(ByteView in) { return session.on_bytes(clock.now_mono(), in, out, events); }
};

crypto::PublicKey key_of(std::uint8_t fill) {
    crypto::PublicKey k;
    k.bytes.fill(fill);
    return k;
}

Bytes with_key(const crypto::PublicKey& k, ByteView rest) {
    Bytes p(k.bytes.begin(), k.bytes.end());
    p.insert(p.end(), rest.begin(), rest.end());
    return p;
}

}  // namespace

TEST_CASE("derp: ServerKey is answered with a sealed ClientInfo and NotePreferred") {
    REQUIRE(crypto::init());
    TestServer server;
    Client c(true);
    REQUIRE(c.feed(server.server_key_frame()));
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].kind == DerpEventKind::kConnected);
    CHECK(c.session.is_connected());
    CHECK(c.session.server_key() == server.pub);

    const std::string_view json = derp::kClientInfoJson;
    CHECK(json == R"({"version":2,"CanAckPings":true})");
    const std::size_t info_len = 32 + 24 + 16 + json.size();
    REQUIRE(c.out.size() == 5 + info_len + 6);
    CHECK(c.out[0] == 0x02);
    CHECK(load_be32(c.out.data() + 1) == info_len);
    CHECK(std::equal(c.node_pub.bytes.begin(), c.node_pub.bytes.end(), c.out.begin() + 5));
    const std::uint8_t* nonce = c.out.data() + 5 + 32;
    const std::uint8_t* box = nonce + 24;
    std::string opened(json.size(), '\0');
    REQUIRE(crypto_box_open_easy(reinterpret_cast<unsigned char*>(opened.data()), box,
                                 16 + json.size(), nonce, c.node_pub.bytes.data(),
                                 server.priv.data()) == 0);
    CHECK(opened == json);
    const Bytes note(c.out.end() - 6, c.out.end());
    CHECK(note == Bytes{0x07, 0, 0, 0, 1, 0x01});

    SUBCASE("not home: no NotePreferred until asked") {
        Client away(false);
        REQUIRE(away.feed(server.server_key_frame()));
        CHECK(away.out.size() == 5 + info_len);
        Bytes o;
        away.session.note_preferred(true, o);
        CHECK(o == Bytes{0x07, 0, 0, 0, 1, 0x01});
        o.clear();
        away.session.note_preferred(false, o);
        CHECK(o == Bytes{0x07, 0, 0, 0, 1, 0x00});
    }
}

TEST_CASE("derp: a greeting that is not ServerKey, or has no magic, ends the session") {
    REQUIRE(crypto::init());
    TestServer server;
    {
        Client c;
        auto st = c.feed(frame(derp::kKeepAlive, {}));
        REQUIRE_FALSE(st);
        CHECK(st.error().code == Errc::kProtocol);
        CHECK(c.session.is_dead());
        CHECK_FALSE(c.feed(server.server_key_frame()));
    }
    {
        Client c;
        Bytes bad = server.server_key_frame();
        bad[5] = 'X';
        CHECK_FALSE(c.feed(bad));
    }
    {
        Client c;
        CHECK_FALSE(c.feed(frame(derp::kServerKey, Bytes(39, 0))));  // shorter than magic + key
    }
    {
        Client c;  // the greeting may carry future bytes
        Bytes p(derp::kMagic.begin(), derp::kMagic.end());
        p.insert(p.end(), server.pub.bytes.begin(), server.pub.bytes.end());
        p.resize(100, 0xee);
        REQUIRE(c.feed(frame(derp::kServerKey, p)));
        CHECK(c.session.is_connected());
    }
}

TEST_CASE("derp: steady-state frames become events") {
    REQUIRE(crypto::init());
    TestServer server;
    Client c;
    REQUIRE(c.feed(server.server_key_frame()));
    c.out.clear();
    c.events.clear();

    const crypto::PublicKey peer = key_of(0xab);
    const Bytes packet{1, 2, 3, 4, 5};
    const derp::PingData ping{1, 2, 3, 4, 5, 6, 7, 8};
    Bytes restarting(8);
    store_be32(restarting.data(), 1500);
    store_be32(restarting.data() + 4, 30000);
    const Bytes stream = cat({
        server.server_info_frame(
            c.node_pub,
            R"({"version":2,"TokenBucketBytesPerSecond":1000,"TokenBucketBytesBurst":5000})"),
        frame(derp::kRecvPacket, with_key(peer, packet)), frame(derp::kKeepAlive, {}),
        frame(derp::kPing, Bytes(ping.begin(), ping.end())),
        frame(derp::kPeerGone, with_key(peer, Bytes{0x01})),
        frame(derp::kPeerGone, with_key(peer, {})),
        frame(0x42, Bytes(300, 0x11)),  // unknown: skipped
        frame(derp::kHealth, sv("duplicate client\n")), frame(derp::kRestarting, restarting),
        frame(derp::kPeerPresent, with_key(peer, Bytes(19, 0))),  // + IP, port, flags
        frame(derp::kPeerGone, Bytes(10, 0)),                     // short: dropped and counted
    });
    REQUIRE(c.feed(stream));
    REQUIRE(c.events.size() == 8);
    CHECK(c.events[0].kind == DerpEventKind::kServerInfo);
    CHECK(c.events[0].server_info.token_bucket_bytes_per_second == 1000);
    CHECK(c.events[0].server_info.token_bucket_bytes_burst == 5000);
    CHECK(c.events[1].kind == DerpEventKind::kPacket);
    CHECK(c.events[1].peer == peer);
    CHECK(c.events[1].packet == packet);
    CHECK(c.events[2].kind == DerpEventKind::kKeepAlive);
    CHECK(c.events[3].kind == DerpEventKind::kPeerGone);
    CHECK(c.events[3].reason == 1);
    CHECK(c.events[4].kind == DerpEventKind::kPeerGone);
    CHECK(c.events[4].reason == 0);
    CHECK(c.events[5].kind == DerpEventKind::kHealth);
    CHECK(c.events[5].text == "duplicate client?");
    CHECK(c.events[6].kind == DerpEventKind::kRestarting);
    CHECK(c.events[6].reconnect_in == 1500ms);
    CHECK(c.events[6].try_for == 30000ms);
    CHECK(c.events[7].kind == DerpEventKind::kPeerPresent);
    CHECK(c.events[7].peer == peer);
    CHECK(c.session.stats().unknown_frames == 1);
    CHECK(c.session.stats().malformed_frames == 1);
    CHECK(c.session.stats().packets_received == 1);
    // Ping answered with a Pong carrying the same 8 bytes.
    CHECK(c.out == frame(derp::kPong, Bytes(ping.begin(), ping.end())));
}

TEST_CASE("derp: send_packet layout and limits") {
    REQUIRE(crypto::init());
    TestServer server;
    Client c;
    const crypto::PublicKey dst = key_of(0x5a);
    Bytes o;
    auto early = c.session.send_packet(dst, Bytes{1}, o);
    REQUIRE_FALSE(early);
    CHECK(early.error().code == Errc::kUnreachable);
    REQUIRE(c.feed(server.server_key_frame()));
    REQUIRE(c.session.send_packet(dst, Bytes{9, 8, 7}, o));
    CHECK(o == frame(derp::kSendPacket, with_key(dst, Bytes{9, 8, 7})));
    o.clear();
    REQUIRE(c.session.send_packet(dst, Bytes(derp::kMaxPacketLen, 0), o));
    CHECK(o.size() == 5 + 32 + derp::kMaxPacketLen);
    o.clear();
    auto big = c.session.send_packet(dst, Bytes(derp::kMaxPacketLen + 1, 0), o);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == Errc::kInvalidArgument);
    CHECK(o.empty());
}

TEST_CASE("derp: oversized frames") {
    REQUIRE(crypto::init());
    TestServer server;
    SUBCASE("a frame header above 1 MiB is fatal") {
        Client c;
        REQUIRE(c.feed(server.server_key_frame()));
        Bytes hdr{derp::kRecvPacket, 0, 0, 0, 0};
        store_be32(hdr.data() + 1, (1u << 20) + 1);
        auto st = c.feed(hdr);
        REQUIRE_FALSE(st);
        CHECK(st.error().code == Errc::kProtocol);
        CHECK(c.session.is_dead());
        Bytes o;
        CHECK(c.session.send_packet(key_of(1), Bytes{1}, o).error().code == Errc::kClosed);
    }
    SUBCASE("a RecvPacket above 64 KiB is skipped without buffering; the next frame parses") {
        Client c;
        REQUIRE(c.feed(server.server_key_frame()));
        c.events.clear();
        const Bytes stream =
            cat({frame(derp::kRecvPacket, with_key(key_of(3), Bytes(derp::kMaxPacketLen + 1, 7))),
                 frame(derp::kRecvPacket, with_key(key_of(4), Bytes{42}))});
        for (std::size_t at = 0; at < stream.size(); at += 4096) {
            REQUIRE(c.feed(
                ByteView(stream).subspan(at, std::min<std::size_t>(4096, stream.size() - at))));
        }
        REQUIRE(c.events.size() == 1);
        CHECK(c.events[0].peer == key_of(4));
        CHECK(c.events[0].packet == Bytes{42});
        CHECK(c.session.stats().oversize_dropped == 1);
    }
    SUBCASE("a ServerInfo that does not open is fatal (derp_client.go)") {
        Client c;
        REQUIRE(c.feed(server.server_key_frame()));
        Bytes info = server.server_info_frame(c.node_pub, R"({"version":2})");
        info.back() ^= 1;
        CHECK_FALSE(c.feed(info));
    }
}

TEST_CASE("derp: any split of the server stream gives the same events and replies") {
    REQUIRE(crypto::init());
    TestServer server;
    const derp::PingData ping{8, 7, 6, 5, 4, 3, 2, 1};
    Client probe;  // only for its node public key (same seed as the clients below)
    const Bytes stream = cat({
        server.server_key_frame(),
        server.server_info_frame(probe.node_pub, R"({"version":2})"),
        frame(derp::kRecvPacket, with_key(key_of(1), Bytes(1400, 0x33))),
        frame(derp::kPing, Bytes(ping.begin(), ping.end())),
        frame(0x77, Bytes(5000, 1)),
        frame(derp::kRecvPacket, with_key(key_of(2), Bytes(3, 0x44))),
        frame(derp::kKeepAlive, {}),
    });
    Client whole;
    REQUIRE(whole.feed(stream));
    REQUIRE(whole.events.size() == 5);
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        Client c;
        test::SeededRng split(seed);
        for (std::size_t at = 0; at < stream.size();) {
            const std::size_t n =
                std::min<std::size_t>(stream.size() - at, 1 + split.uniform(seed == 1 ? 1 : 700));
            REQUIRE(c.feed(ByteView(stream).subspan(at, n)));
            at += n;
        }
        CHECK(c.out == whole.out);
        REQUIRE(c.events.size() == whole.events.size());
        for (std::size_t i = 0; i < c.events.size(); ++i) {
            CHECK(c.events[i].kind == whole.events[i].kind);
            CHECK(c.events[i].peer == whole.events[i].peer);
            CHECK(c.events[i].packet == whole.events[i].packet);
        }
    }
}

TEST_CASE("derp: liveness on a fake clock - ping after idle, dead after 120 s of silence") {
    REQUIRE(crypto::init());
    TestServer server;
    Client c;
    const Instant start = c.clock.now_mono();
    CHECK(c.session.next_deadline() == start + 120s);  // no pings before the login
    REQUIRE(c.feed(server.server_key_frame()));
    c.out.clear();
    c.events.clear();
    CHECK(c.session.next_deadline() == start + kDerpPingAfterIdle);

    c.clock.advance(60s);
    c.session.on_timer(c.clock.now_mono(), c.out, c.events);
    CHECK(c.out.empty());
    REQUIRE(c.feed(frame(derp::kKeepAlive, {})));  // resets the silence
    const Instant ka = c.clock.now_mono();
    CHECK(c.session.next_deadline() == ka + kDerpPingAfterIdle);

    c.clock.advance(kDerpPingAfterIdle);
    c.session.on_timer(c.clock.now_mono(), c.out, c.events);
    REQUIRE(c.out.size() == 13);
    CHECK(c.out[0] == derp::kPing);
    CHECK(c.session.stats().pings_sent == 1);
    CHECK(c.session.next_deadline() == ka + kDerpDeadAfter);  // one ping per silence
    const Bytes data(c.out.begin() + 5, c.out.end());
    c.out.clear();

    c.clock.advance(250ms);
    c.events.clear();
    REQUIRE(c.feed(frame(derp::kPong, data)));
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].kind == DerpEventKind::kPong);
    REQUIRE(c.events[0].rtt);
    CHECK(*c.events[0].rtt == 250ms);
    const Instant pong_at = c.clock.now_mono();

    c.events.clear();
    c.clock.advance(119s);
    c.session.on_timer(c.clock.now_mono(), c.out, c.events);  // pings again, still alive
    CHECK(c.events.empty());
    CHECK(c.session.stats().pings_sent == 2);
    c.clock.advance(1s);
    CHECK(c.session.next_deadline() == pong_at + kDerpDeadAfter);
    c.session.on_timer(c.clock.now_mono(), c.out, c.events);
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].kind == DerpEventKind::kDead);
    CHECK(c.session.is_dead());
    CHECK(c.session.next_deadline() == kNever);
    CHECK_FALSE(c.feed(frame(derp::kKeepAlive, {})));
}
