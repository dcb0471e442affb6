// app::DerpRelay against the fake headscale's embedded DERP server (tests/tailnet/
// fake_headscale.py, run with /usr/bin/python3): two relays on one real EventLoop log in to
// region 999 over TLS (the fake's own CA), exchange packets, survive a server-side drop,
// queue while connecting, and close a region that leaves the DERP map. One fake process
// serves every case; it is stopped by PID when the test binary exits.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/keys.hpp"
#include "tests/support/fake_headscale.hpp"
#include "tools/tunless/app/tailnet_derp.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

using namespace tunless;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kRegion = 999;

// ---- the fake server -----------------------------------------------------------------------

// One fake for every case (started on first use): TLS with its own CA, any client key accepted,
// 2 s DERP keep-alives.
struct FakeServer {
    std::filesystem::path dir;
    std::unique_ptr<test::FakeHeadscale> process;
    std::string ca;
    std::uint16_t port = 0;
    std::string skip_reason;

    FakeServer() {
        skip_reason = test::fake_headscale_missing_deps();
        if (!skip_reason.empty()) return;
        char tmpl[] = "/tmp/tunless-derp-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        process = std::make_unique<test::FakeHeadscale>(
            std::vector<std::string>{"--listen", "127.0.0.1:0", "--tls", "--state-dir",
                                     (dir / "state").string(), "--ca-out",
                                     (dir / "ca.pem").string(), "--no-verify-clients",
                                     "--derp-keepalive-seconds", "2", "--admin", "127.0.0.1:0"},
            (dir / "server.log").string());
        REQUIRE(process->hostname() == "localhost");
        ca = process->ca();
        port = process->port();
    }
    ~FakeServer() {
        process.reset();
        std::error_code ec;
        if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }

    std::string admin_post(const std::string& path, const std::string& body) const {
        return process->admin("POST", path, body).second;
    }
    // Whether the fake's newest DERP connection of `key` sent NotePreferred(1).
    bool preferred(const crypto::PublicKey& key) const {
        const std::string stats = process->admin("GET", "/admin/derp-stats").second;
        const auto at = stats.find("\"" + tailnet::node_key_text(key) + "\"");
        REQUIRE(at != std::string::npos);
        const auto p = stats.find("\"preferred\": ", at);
        REQUIRE(p != std::string::npos);
        return stats.compare(p + 13, 4, "true") == 0;
    }
};

FakeServer& fake() {
    static FakeServer server;
    return server;
}

tailnet::DERPMap derp_map(std::uint16_t port, std::string cert_name = {}) {
    tailnet::DERPNode node;
    node.name = "999a";
    node.region_id = kRegion;
    node.host_name = "localhost";
    node.cert_name = std::move(cert_name);
    node.ipv4 = "127.0.0.1";
    node.ipv6 = "none";
    node.stun_port = -1;
    node.derp_port = port;
    tailnet::DERPRegion region;
    region.region_id = kRegion;
    region.region_code = "fake";
    region.region_name = "fake headscale";
    region.nodes.push_back(node);
    tailnet::DERPMap m;
    m.has_regions = true;
    m.regions[kRegion] = region;
    return m;
}

// ---- a relay with a recording handler ------------------------------------------------------

struct Received {
    crypto::PublicKey src;
    Bytes packet;
};

struct Node final : app::DerpRelayHandler {
    crypto::PrivateKey key;
    crypto::PublicKey pub;
    std::vector<Received> got;
    std::vector<std::pair<bool, std::string>> states;
    bool connected = false;
    std::function<void(const Received&)> on_packet;
    app::DerpRelay relay;

    Node(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng, const std::string& ca,
         app::DerpRelayOptions options = {})
        : key(crypto::generate_private_key(rng)),
          pub(crypto::public_key_from_private(key)),
          relay(loop, resolver, rng, ca, *this, options) {
        relay.set_node_key(key);
    }
    void on_relay_packet(std::uint16_t region, const crypto::PublicKey& src, ByteView p) override {
        CHECK(region == kRegion);
        got.push_back({src, Bytes(p.begin(), p.end())});
        if (on_packet) {
            on_packet(got.back());
        }
    }
    void on_relay_state(std::uint16_t region, bool up, const std::string& detail) override {
        CHECK(region == kRegion);
        connected = up;
        states.emplace_back(up, detail);
    }
    app::DerpRelay::RegionStatus region_status() const {
        auto all = relay.status();
        REQUIRE(all.size() == 1);
        return all[0];
    }
};

struct Env {
    std::unique_ptr<io::EventLoop> loop;
    std::unique_ptr<io::HostResolver> resolver;
    SystemRng rng;

    Env() {
        REQUIRE(crypto::init());
        auto l = io::EventLoop::create();
        REQUIRE(l);
        loop = std::move(*l);
        resolver = std::make_unique<io::HostResolver>(*loop, io::HostResolverConfig{});
    }
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= end) {
                return false;
            }
            REQUIRE(loop->run_once(10ms));
        }
        return true;
    }
    // Lets posted destruction and close notifications run before the loop goes away.
    ~Env() {
        for (int i = 0; i < 5; ++i) {
            (void)loop->run_once(1ms);
        }
    }
};

Bytes numbered(std::uint32_t seq, std::size_t len) {
    Bytes p(len, static_cast<std::uint8_t>(seq));
    store_be32(p.data(), seq);
    return p;
}

#define SKIP_WITHOUT_FAKE()                         \
    if (!fake().skip_reason.empty()) {              \
        MESSAGE("skipped: " << fake().skip_reason); \
        return;                                     \
    }

}  // namespace

TEST_CASE("DerpRelay: two nodes exchange packets through their home region") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    Node b(*env.loop, *env.resolver, env.rng, fake().ca);
    for (Node* n : {&a, &b}) {
        n->relay.set_derp_map(derp_map(fake().port));
        n->relay.set_home_region(kRegion);
        CHECK(n->relay.home_region() == kRegion);
    }
    REQUIRE(env.run_until([&] { return a.connected && b.connected; }));
    CHECK(a.region_status().home);

    // B answers each datagram from inside its callback (re-entrant send).
    b.on_packet = [&](const Received& r) {
        b.relay.send(kRegion, r.src, std::vector<std::uint8_t>{'p', 'o', 'n', 'g'});
    };
    const Bytes hello{'h', 'i'};
    a.relay.send(kRegion, b.pub, hello);
    REQUIRE(env.run_until([&] { return !a.got.empty(); }));
    CHECK(b.got.size() == 1);
    CHECK(b.got[0].src == a.pub);
    CHECK(b.got[0].packet == hello);
    CHECK(a.got[0].src == b.pub);
    CHECK(a.got[0].packet == Bytes{'p', 'o', 'n', 'g'});
    b.on_packet = nullptr;
    b.got.clear();

    // 2000 datagrams of 1200 bytes with at most 16 in flight (the fake's per-client queue is
    // 32): all arrive, in order, and nothing is dropped on our side.
    constexpr std::uint32_t kCount = 2000;
    std::uint32_t sent = 0;
    REQUIRE(env.run_until(
        [&] {
            while (sent < kCount && sent - b.got.size() < 16) {
                a.relay.send(kRegion, b.pub, numbered(sent++, 1200));
            }
            return b.got.size() == kCount;
        },
        20s));
    for (std::uint32_t i = 0; i < kCount; ++i) {
        REQUIRE(b.got[i].packet.size() == 1200);
        REQUIRE(load_be32(b.got[i].packet.data()) == i);
    }
    const auto st = a.region_status();
    CHECK(st.drops == 0);
    CHECK(st.packets_out == kCount + 1);
    CHECK(b.region_status().packets_in == kCount + 1);
    CHECK(st.rtt.has_value());
    CHECK(st.code == "fake");
}

TEST_CASE("DerpRelay: datagrams sent before login are queued, bounded, then delivered") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    Node b(*env.loop, *env.resolver, env.rng, fake().ca);
    b.relay.set_derp_map(derp_map(fake().port));
    b.relay.set_home_region(kRegion);
    REQUIRE(env.run_until([&] { return b.connected; }));

    // A has no home: the first send opens a lazy connection; 40 wait, the oldest 8 drop.
    a.relay.send(kRegion, b.pub, numbered(0, 100));
    CHECK(a.relay.unroutable_drops() == 1);  // no DERP map yet
    a.relay.set_derp_map(derp_map(fake().port));
    for (std::uint32_t i = 0; i < 40; ++i) {
        a.relay.send(kRegion, b.pub, numbered(i, 100));
    }
    CHECK(a.region_status().drops == 8);
    CHECK_FALSE(a.region_status().home);
    REQUIRE(env.run_until([&] { return b.got.size() == app::kDerpMaxQueued; }));
    for (std::uint32_t i = 0; i < app::kDerpMaxQueued; ++i) {
        CHECK(load_be32(b.got[i].packet.data()) == i + 8);
    }
}

TEST_CASE("DerpRelay: a connection dropped by the server reconnects and traffic resumes") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    Node b(*env.loop, *env.resolver, env.rng, fake().ca);
    for (Node* n : {&a, &b}) {
        n->relay.set_derp_map(derp_map(fake().port));
        n->relay.set_home_region(kRegion);
    }
    REQUIRE(env.run_until([&] { return a.connected && b.connected; }));

    const std::string resp = fake().admin_post(
        "/admin/drop-derp-client", "{\"node_key\": \"" + tailnet::node_key_text(b.pub) + "\"}");
    CHECK(resp.find("\"closed\": 1") != std::string::npos);
    REQUIRE(env.run_until([&] { return !b.connected; }));
    REQUIRE(env.run_until([&] { return b.connected; }));
    CHECK(b.region_status().reconnects == 1);
    CHECK_FALSE(b.region_status().last_error.empty());
    REQUIRE(b.states.size() == 3);
    CHECK_FALSE(b.states[1].first);

    a.relay.send(kRegion, b.pub, numbered(7, 64));
    REQUIRE(env.run_until([&] { return !b.got.empty(); }));
    CHECK(b.got[0].src == a.pub);
    CHECK(load_be32(b.got[0].packet.data()) == 7);
}

TEST_CASE("DerpRelay: a region removed from the DERP map is closed") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    a.relay.set_derp_map(derp_map(fake().port));
    a.relay.set_home_region(kRegion);
    REQUIRE(env.run_until([&] { return a.connected; }));

    a.relay.set_derp_map(
        tailnet::DERPMap{.has_regions = true, .regions = {}, .omit_default_regions = false});
    CHECK(a.relay.status().empty());
    CHECK(a.connected);  // reported after the round, not from inside set_derp_map
    REQUIRE(env.run_until([&] { return !a.connected; }));
    CHECK(a.states.back().second.find("removed") != std::string::npos);
    a.relay.send(kRegion, a.pub, numbered(1, 10));
    CHECK(a.relay.unroutable_drops() == 1);
    CHECK(a.relay.home_region() == kRegion);

    // Back in the map: the home region connects again.
    a.relay.set_derp_map(derp_map(fake().port));
    REQUIRE(env.run_until([&] { return a.connected; }));
}

TEST_CASE("DerpRelay: a CertName pin that does not match fails the TLS handshake") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    a.relay.set_derp_map(derp_map(fake().port, "sha256-raw:" + std::string(64, '0')));
    a.relay.set_home_region(kRegion);
    REQUIRE(env.run_until([&] { return !a.states.empty(); }));
    CHECK_FALSE(a.states[0].first);
    CHECK_FALSE(a.region_status().connected);
    CHECK_FALSE(a.region_status().last_error.empty());
}

TEST_CASE("DerpRelay: a new node key logs in again under the new identity") {
    SKIP_WITHOUT_FAKE();
    Env env;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca);
    Node b(*env.loop, *env.resolver, env.rng, fake().ca);
    for (Node* n : {&a, &b}) {
        n->relay.set_derp_map(derp_map(fake().port));
        n->relay.set_home_region(kRegion);
    }
    REQUIRE(env.run_until([&] { return a.connected && b.connected; }));
    const crypto::PrivateKey k2 = crypto::generate_private_key(env.rng);
    a.relay.set_node_key(k2);
    REQUIRE(env.run_until([&] { return a.states.size() == 3 && a.connected; }));
    a.relay.send(kRegion, b.pub, numbered(3, 32));
    REQUIRE(env.run_until([&] { return !b.got.empty(); }));
    CHECK(b.got[0].src == crypto::public_key_from_private(k2));
}

TEST_CASE("DerpRelay: home gets NotePreferred; non-home and demoted regions close when idle") {
    SKIP_WITHOUT_FAKE();
    Env env;
    app::DerpRelayOptions fast;
    fast.idle_close = 500ms;
    Node a(*env.loop, *env.resolver, env.rng, fake().ca, fast);
    Node b(*env.loop, *env.resolver, env.rng, fake().ca);
    b.relay.set_derp_map(derp_map(fake().port));
    b.relay.set_home_region(kRegion);
    a.relay.set_derp_map(derp_map(fake().port));
    REQUIRE(env.run_until([&] { return b.connected; }));
    CHECK(fake().preferred(b.pub));

    // A's lazy connection stays while A sends, and closes idle_close after the last send.
    a.relay.send(kRegion, b.pub, numbered(1, 10));
    REQUIRE(env.run_until([&] { return a.connected && b.got.size() == 1; }));
    CHECK_FALSE(fake().preferred(a.pub));
    for (int i = 0; i < 4; ++i) {
        env.run_until([] { return false; }, 200ms);
        a.relay.send(kRegion, b.pub, numbered(2, 10));
    }
    CHECK(a.connected);
    REQUIRE(env.run_until([&] { return !a.connected; }, 2s));
    CHECK(a.relay.status().empty());
    CHECK(a.states.back().second == "idle");
    CHECK(b.got.size() == 5);

    // Home: permanent, preferred; demoted: NotePreferred(0), then idle close.
    a.relay.set_home_region(kRegion);
    REQUIRE(env.run_until([&] { return a.connected; }));
    env.run_until([] { return false; }, 800ms);
    CHECK(a.connected);
    CHECK(fake().preferred(a.pub));
    a.relay.set_home_region(0);
    REQUIRE(env.run_until([&] { return !fake().preferred(a.pub); }));
    CHECK(a.connected);
    REQUIRE(env.run_until([&] { return !a.connected; }, 2s));
    CHECK(a.relay.status().empty());
}
