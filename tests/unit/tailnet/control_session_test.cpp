// ControlSession against an in-test control server: the fixed Noise vectors of
// control_noise_test (independent Python responder) for the handshake, an nghttp2 server
// session for HTTP/2 (h2_test_server.hpp). It checks the request bytes, the error paths and the
// deadlines on a fake clock; the interop proof against the independent fake headscale is
// tests/unit/tailnet_app/control_client_test.cpp.
#include "core/tailnet/control_session.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/crypto/init.hpp"
#include "core/tailnet/capability_version.hpp"
#include "tests/support/test_rng.hpp"
#include "tests/unit/tailnet/h2_test_server.hpp"
#include "tests/unit/tailnet/noise_vectors.hpp"

using namespace tunless;
using namespace tunless::tailnet;
using namespace tunless::test::noise_vectors;

namespace {

Bytes bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

constexpr std::string_view k101 =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailscale-control-protocol\r\n"
    "Connection: upgrade\r\n\r\n";

crypto::PublicKey pub(std::string_view h) {
    crypto::PublicKey k;
    const Bytes b = hex(h);
    std::copy(b.begin(), b.end(), k.bytes.begin());
    return k;
}
crypto::PublicKey filled(std::uint8_t v) {
    crypto::PublicKey k;
    k.bytes.fill(v);
    return k;
}

ControlSessionConfig config(std::optional<std::string> auth_key = "tskey-unit") {
    ControlSessionConfig c;
    c.host = "control.test:8443";
    c.machine_key = crypto::PrivateKey(hex(kMachinePriv));
    c.control_key = pub(kControlPub);
    c.node_key = filled(0x11);
    c.disco_key = filled(0x22);
    c.auth_key = std::move(auth_key);
    c.hostinfo.hostname = "unit";
    c.hostinfo.net_info = NetInfo{.preferred_derp = 7, .derp_latency = {}};
    return c;
}

std::unique_ptr<ControlSession> make_session(ControlSessionConfig c = config()) {
    FixedRng rng(hex(kClientEphPriv));
    auto s = ControlSession::create(std::move(c), rng);
    REQUIRE(s);
    return std::move(s.value());
}

// The server end: Noise records <-> an in-memory HTTP/2 server.
class FakeControl {
public:
    FakeControl()
        : chan_(crypto::SymmetricKey(hex(kK2)), crypto::SymmetricKey(hex(kK1)), hash(), 130) {}

    // 101 + Noise response + a record with the early payload and the server SETTINGS.
    Bytes hello() {
        Bytes out = bytes(k101);
        const Bytes resp = hex(kResponse);
        out.insert(out.end(), resp.begin(), resp.end());
        const std::string json = R"({"nodeKeyChallenge":"chalpub:00"})";
        Bytes early = {0xff, 0xff, 0xff, 'T', 'S', 0, 0, 0, static_cast<std::uint8_t>(json.size())};
        early.insert(early.end(), json.begin(), json.end());
        REQUIRE(chan_.seal(early, out));
        Bytes h2 = h2_.take();
        REQUIRE(chan_.seal(h2, out));
        return out;
    }
    void from_client(ByteView records) {
        Bytes plain;
        REQUIRE(chan_.open(records, plain));
        REQUIRE(h2_.feed(plain) == static_cast<int>(plain.size()));
    }
    Bytes to_client() {
        Bytes out;
        Bytes h2 = h2_.take();
        if (!h2.empty()) REQUIRE(chan_.seal(h2, out));
        return out;
    }
    void respond(std::int32_t id, const char* status, std::string body, bool end = true) {
        h2_.respond(id, status, {}, std::move(body), end);
    }
    void push(std::int32_t id, std::string more) { h2_.push(id, std::move(more)); }
    std::int32_t last(std::string_view path) const { return h2_.last(path); }
    const test::H2TestServer::Request& request(std::int32_t id) { return h2_.requests[id]; }

private:
    static HandshakeHash hash() {
        HandshakeHash h{};
        const Bytes b = hex(kHandshakeHash);
        std::copy(b.begin(), b.end(), h.begin());
        return h;
    }

    ControlChannel chan_;
    test::H2TestServer h2_;
};

// One framed map message: uint32 LITTLE-endian length + JSON (tailscale.md §3.2).
std::string framed(std::string_view json) {
    std::string out(4, '\0');
    const auto n = static_cast<std::uint32_t>(json.size());
    for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
    return out + std::string(json);
}

// A session and its server, both sides of the channel up and the register request received.
struct Harness {
    test::FakeClock clock;
    FakeControl server;
    std::unique_ptr<ControlSession> session;
    std::vector<ControlEvent> events;

    explicit Harness(ControlSessionConfig c = config()) : session(make_session(std::move(c))) {
        REQUIRE(crypto::init());
        Bytes out;
        REQUIRE(session->start(clock.now_mono(), out));
        REQUIRE(deliver(server.hello()));
        REQUIRE(session->phase() == ControlSession::Phase::kRegistering);
    }
    // Server bytes -> session; the session's answer goes back to the server.
    Status deliver(ByteView in) {
        Bytes out;
        Status st = session->on_bytes(clock.now_mono(), in, out, events);
        if (!out.empty()) server.from_client(out);
        return st;
    }
    Status pump() { return deliver(server.to_client()); }
    std::string body(std::string_view path) { return server.request(server.last(path)).body; }
    Status answer(std::string_view path, const char* status, std::string body, bool end = true) {
        server.respond(server.last(path), status, std::move(body), end);
        return pump();
    }
    // Registered with a pre-auth key and the map poll answered with a first keep-alive.
    void to_polling() {
        REQUIRE(answer("/machine/register", "200",
                       R"({"MachineAuthorized":true,"Login":{"LoginName":"u@test"}})"));
        REQUIRE(session->is_polling());
        REQUIRE(answer("/machine/map", "200", framed(R"({"KeepAlive":true})"), false));
    }
};

bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

}  // namespace

TEST_CASE("control session: the upgrade request carries the Noise initiation") {
    REQUIRE(crypto::init());
    test::FakeClock clock;
    auto s = make_session();
    Bytes out;
    REQUIRE(s->start(clock.now_mono(), out));
    const std::string req = text(out);
    CHECK(req.rfind("POST /ts2021 HTTP/1.1\r\n", 0) == 0);
    CHECK(contains(req, "Host: control.test:8443\r\n"));
    CHECK(contains(req, "Upgrade: tailscale-control-protocol\r\n"));
    CHECK(contains(req, "Connection: upgrade\r\n"));
    CHECK(req.size() >= 4);
    CHECK(req.substr(req.size() - 4) == "\r\n\r\n");
    const auto at = req.find("X-Tailscale-Handshake: ");
    REQUIRE(at != std::string::npos);
    const auto value_start = at + std::strlen("X-Tailscale-Handshake: ");
    const std::string b64 = req.substr(value_start, req.find("\r\n", at) - value_start);
    Bytes init(kNoiseInitiationLen + 8);
    std::size_t len = 0;
    REQUIRE(sodium_base642bin(init.data(), init.size(), b64.data(), b64.size(), nullptr, &len,
                              nullptr, sodium_base64_VARIANT_ORIGINAL) == 0);
    init.resize(len);
    CHECK(init == hex(kInitiation));  // the independent implementation's initiation
    CHECK(load_be16(init.data()) == kCapabilityVersion);
    CHECK(s->phase() == ControlSession::Phase::kUpgrade);
    CHECK(s->next_deadline() == clock.now_mono() + kControlSetupTimeout);
    CHECK(!s->start(clock.now_mono(), out));  // once only
}

TEST_CASE("control session: a non-101 or garbage answer kills the session") {
    REQUIRE(crypto::init());
    test::FakeClock clock;
    std::vector<ControlEvent> events;
    Bytes out;
    SUBCASE("404") {
        auto s = make_session();
        REQUIRE(s->start(clock.now_mono(), out));
        auto st =
            s->on_bytes(clock.now_mono(),
                        bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), out, events);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kRefused);
        CHECK(contains(st.error().message, "404"));
        CHECK(s->phase() == ControlSession::Phase::kFailed);
        CHECK(!s->on_bytes(clock.now_mono(), bytes(k101), out, events));  // dead for good
        CHECK(s->next_deadline() == kNever);
    }
    SUBCASE("101 for another protocol") {
        auto s = make_session();
        REQUIRE(s->start(clock.now_mono(), out));
        auto st = s->on_bytes(
            clock.now_mono(),
            bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), out, events);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kRefused);
    }
    SUBCASE("not HTTP at all") {
        auto s = make_session();
        REQUIRE(s->start(clock.now_mono(), out));
        auto st = s->on_bytes(clock.now_mono(), bytes("SSH-2.0-OpenSSH_9.2\r\n\r\n"), out, events);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kProtocol);
    }
    SUBCASE("a head that never ends") {
        auto s = make_session();
        REQUIRE(s->start(clock.now_mono(), out));
        Status st = s->on_bytes(clock.now_mono(), bytes("HTTP/1.1 101 OK\r\n"), out, events);
        const std::string filler = "X-Filler: " + std::string(1000, 'a') + "\r\n";
        for (int i = 0; i < 40 && st; ++i) {
            st = s->on_bytes(clock.now_mono(), bytes(filler), out, events);
        }
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kLimitReached);
    }
    SUBCASE("EOF right after the 101 (headscale's capability version gate)") {
        auto s = make_session();
        REQUIRE(s->start(clock.now_mono(), out));
        REQUIRE(s->on_bytes(clock.now_mono(), bytes(k101), out, events));
        CHECK(s->phase() == ControlSession::Phase::kNoiseResponse);
        const Error e = s->on_eof();
        CHECK(e.code == Errc::kRefused);
        CHECK(contains(e.message, "capability version"));
    }
    CHECK(events.empty());
}

TEST_CASE("control session: a Noise error message is reported with its text") {
    REQUIRE(crypto::init());
    test::FakeClock clock;
    std::vector<ControlEvent> events;
    Bytes out;
    auto s = make_session();
    REQUIRE(s->start(clock.now_mono(), out));
    const std::string msg = "unsupported protocol version 130";
    Bytes in = bytes(k101);
    in.push_back(noise_type::kError);
    in.push_back(0);
    in.push_back(static_cast<std::uint8_t>(msg.size()));
    in.insert(in.end(), msg.begin(), msg.end());
    Status st;
    for (std::uint8_t b : in) {  // byte by byte: the head parser keeps what follows it
        st = s->on_bytes(clock.now_mono(), ByteView(&b, 1), out, events);
        if (!st) break;
    }
    REQUIRE(!st);
    CHECK(st.error().code == Errc::kRefused);
    CHECK(contains(st.error().message, msg));
}

TEST_CASE("control session: a forged Noise response fails authentication") {
    REQUIRE(crypto::init());
    test::FakeClock clock;
    std::vector<ControlEvent> events;
    Bytes out;
    auto s = make_session();
    REQUIRE(s->start(clock.now_mono(), out));
    Bytes in = bytes(k101);
    Bytes resp = hex(kResponse);
    resp.back() ^= 1;
    in.insert(in.end(), resp.begin(), resp.end());
    auto st = s->on_bytes(clock.now_mono(), in, out, events);
    REQUIRE(!st);
    CHECK(!s->channel_established());
}

TEST_CASE("control session: setup deadline on a fake clock") {
    REQUIRE(crypto::init());
    test::FakeClock clock;
    std::vector<ControlEvent> events;
    Bytes out;
    auto s = make_session();
    REQUIRE(s->start(clock.now_mono(), out));
    clock.advance(kControlSetupTimeout - std::chrono::milliseconds(1));
    CHECK(s->on_timer(clock.now_mono(), out, events));
    clock.advance(std::chrono::milliseconds(1));
    auto st = s->on_timer(clock.now_mono(), out, events);
    REQUIRE(!st);
    CHECK(st.error().code == Errc::kTimedOut);
}

TEST_CASE("control session: pre-auth registration, map poll, keep-alives and the watchdog") {
    Harness h;
    const std::string reg = h.body("/machine/register");
    CHECK(contains(reg, R"("Version":130)"));
    CHECK(contains(reg, R"("Auth":{"AuthKey":"tskey-unit"})"));
    CHECK(contains(reg, R"("NodeKey":"nodekey:1111)"));
    CHECK(contains(reg, R"("Hostname":"unit")"));
    CHECK(!contains(reg, "Followup"));
    const auto& reg_request = h.server.request(h.server.last("/machine/register"));
    CHECK(reg_request.header(":method") == "POST");
    CHECK(reg_request.header("content-type") == "application/json");

    h.to_polling();
    REQUIRE(h.events.size() == 2);
    CHECK(h.events[0].kind == ControlEventKind::kRegistered);
    CHECK(h.events[0].registration.login_name == "u@test");
    CHECK(h.events[1].kind == ControlEventKind::kMapResponse);
    CHECK(h.events[1].first_in_stream);
    CHECK(h.events[1].map.keep_alive);
    const std::string map = h.body("/machine/map");
    CHECK(contains(map, R"("Stream":true)"));
    CHECK(contains(map, R"("KeepAlive":true)"));
    CHECK(contains(map, R"("DiscoKey":"discokey:2222)"));
    CHECK(contains(map, R"("PreferredDERP":7)"));
    CHECK(!contains(map, "OmitPeers"));
    CHECK(!contains(map, "Compress"));

    // Watchdog: 120 s after the last message, keep-alives included (direct.go).
    CHECK(h.session->next_deadline() == h.clock.now_mono() + kMapWatchdog);
    h.clock.advance(std::chrono::seconds(100));
    h.events.clear();
    const std::int32_t map_id = h.server.last("/machine/map");
    h.server.push(map_id, framed(R"({"KeepAlive":true})") + framed(R"({"Domain":"x.test"})"));
    REQUIRE(h.pump());
    REQUIRE(h.events.size() == 2);
    CHECK(!h.events[1].first_in_stream);
    CHECK(h.events[1].map.domain == "x.test");
    CHECK(h.session->map_messages() == 3);
    CHECK(h.session->next_deadline() == h.clock.now_mono() + kMapWatchdog);
    h.clock.advance(kMapWatchdog - std::chrono::seconds(1));
    Bytes out;
    CHECK(h.session->on_timer(h.clock.now_mono(), out, h.events));
    h.clock.advance(std::chrono::seconds(1));
    auto st = h.session->on_timer(h.clock.now_mono(), out, h.events);
    REQUIRE(!st);
    CHECK(st.error().code == Errc::kTimedOut);
    CHECK(contains(st.error().message, "no map message"));
}

TEST_CASE("control session: a map message split anywhere is delivered once, in order") {
    Harness h;
    h.to_polling();
    h.events.clear();
    const std::int32_t id = h.server.last("/machine/map");
    const std::string two = framed(R"({"Domain":"a.test"})") + framed(R"({"Domain":"b.test"})");
    for (char c : two) {
        h.server.push(id, std::string(1, c));
        REQUIRE(h.pump());
    }
    REQUIRE(h.events.size() == 2);
    CHECK(h.events[0].map.domain == "a.test");
    CHECK(h.events[1].map.domain == "b.test");
}

TEST_CASE("control session: interactive login sends the Followup register") {
    Harness h(config(std::nullopt));
    CHECK(!contains(h.body("/machine/register"), "Auth"));
    const std::string url = "https://control.test:8443/register/abc123";
    REQUIRE(h.answer("/machine/register", "200",
                     R"({"AuthURL":")" + url + R"(","MachineAuthorized":false})"));
    REQUIRE(h.events.size() == 1);
    CHECK(h.events[0].kind == ControlEventKind::kNeedsLogin);
    CHECK(h.events[0].detail == url);
    CHECK(h.session->phase() == ControlSession::Phase::kAwaitingLogin);
    CHECK(h.session->next_deadline() == h.clock.now_mono() + kLoginWaitTimeout);
    CHECK(contains(h.body("/machine/register"), R"("Followup":")" + url + "\""));
    // Approved: the blocked request returns and the poll starts.
    REQUIRE(h.answer("/machine/register", "200", R"({"MachineAuthorized":true})"));
    CHECK(h.events.back().kind == ControlEventKind::kRegistered);
    CHECK(h.session->is_polling());
}

TEST_CASE("control session: register answers that end the attempt") {
    SUBCASE("Error text") {
        Harness h;
        auto st = h.answer("/machine/register", "200",
                           R"({"Error":"invalid pre-auth key","MachineAuthorized":false})");
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kRefused);
        CHECK(contains(st.error().message, "invalid pre-auth key"));
        CHECK(!contains(st.error().message, "tskey-unit"));
    }
    SUBCASE("NodeKeyExpired") {
        Harness h;
        REQUIRE(h.answer("/machine/register", "200", R"({"NodeKeyExpired":true})"));
        REQUIRE(h.events.size() == 1);
        CHECK(h.events[0].kind == ControlEventKind::kNodeKeyExpired);
        CHECK(h.session->phase() == ControlSession::Phase::kFinished);
        CHECK(h.session->next_deadline() == kNever);
    }
    SUBCASE("HTTP 400 with a text body") {
        Harness h;
        auto st = h.answer("/machine/register", "400", "unsupported client version: (130)\n");
        REQUIRE(!st);
        CHECK(contains(st.error().message, "HTTP 400: unsupported client version: (130)"));
    }
    SUBCASE("a second AuthURL after the Followup") {
        Harness h(config(std::nullopt));
        REQUIRE(h.answer("/machine/register", "200", R"({"AuthURL":"https://c/register/1"})"));
        auto st = h.answer("/machine/register", "200", R"({"AuthURL":"https://c/register/2"})");
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kRefused);
    }
}

TEST_CASE("control session: map poll failures") {
    SUBCASE("404 from the map endpoint, body text capped") {
        Harness h;
        REQUIRE(h.answer("/machine/register", "200", R"({"MachineAuthorized":true})"));
        auto st = h.answer("/machine/map", "404", "node not found\n" + std::string(5000, 'x'));
        REQUIRE(!st);
        CHECK(contains(st.error().message, "HTTP 404: node not found"));
        CHECK(st.error().message.size() < kMaxErrorBodyText + 100);
    }
    SUBCASE("the stream ends") {
        Harness h2;
        REQUIRE(h2.answer("/machine/register", "200", R"({"MachineAuthorized":true})"));
        auto st = h2.answer("/machine/map", "200", framed(R"({"KeepAlive":true})"), true);
        REQUIRE(!st);
        CHECK(st.error().code == Errc::kClosed);
        CHECK(h2.events.back().kind == ControlEventKind::kMapResponse);  // delivered first
    }
    SUBCASE("a malformed message") {
        Harness h;
        h.to_polling();
        h.server.push(h.server.last("/machine/map"), framed("{not json"));
        auto st = h.pump();
        REQUIRE(!st);
    }
}

TEST_CASE("control session: lite updates") {
    Harness h;
    MapRequest lite;
    lite.hostinfo.hostname = "unit";
    lite.hostinfo.net_info = NetInfo{.preferred_derp = 999, .derp_latency = {}};
    Bytes out;
    CHECK(!h.session->send_lite_update(h.clock.now_mono(), lite, out, h.events));  // not polling
    h.to_polling();
    REQUIRE(h.session->send_lite_update(h.clock.now_mono(), lite, out, h.events));
    h.server.from_client(out);
    const std::int32_t id = h.server.last("/machine/map");
    const std::string body = h.server.request(id).body;
    CHECK(contains(body, R"("OmitPeers":true)"));
    CHECK(contains(body, R"("PreferredDERP":999)"));
    CHECK(!contains(body, "Stream"));
    CHECK(contains(body, R"("NodeKey":"nodekey:1111)"));
    // A second one while the first is in flight waits for it.
    lite.hostinfo.net_info->preferred_derp = 998;
    out.clear();
    REQUIRE(h.session->send_lite_update(h.clock.now_mono(), lite, out, h.events));
    if (!out.empty()) h.server.from_client(out);
    CHECK(h.server.last("/machine/map") == id);
    REQUIRE(h.answer("/machine/map", "200", "", true));  // headscale: bare 200
    const std::int32_t id2 = h.server.last("/machine/map");
    CHECK(id2 > id);
    CHECK(contains(h.server.request(id2).body, R"("PreferredDERP":998)"));
    CHECK(h.session->lite_updates_sent() == 2);
    CHECK(h.session->is_polling());
}
