// app::ControlClient end to end against the fake headscale (tests/tailnet/fake_headscale.py),
// which was written from the upstream Go sources independently of core/tailnet: TLS, GET /key,
// the ts2021 upgrade, Noise, HTTP/2, register (pre-auth, bad key, interactive + approval),
// the map long poll with deltas, lite updates, and reconnecting after the server dies.
// Real event loop, loopback sockets, one child process. Skipped without python3-h2.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/crypto/init.hpp"
#include "tests/support/fake_headscale.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/tailnet_control.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

using namespace tunless;
using namespace tunless::app;
using Clock = std::chrono::steady_clock;
using tunless::test::FakeHeadscale;

namespace {

constexpr const char* kAuthKey = "tskey-tailnet-app-test";

std::string make_temp_dir() {
    char tmpl[] = "/tmp/tailnet_app_XXXXXX";
    const char* d = mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    return d;
}

std::string subdir(const std::string& base, const std::string& name) {
    const std::string p = base + "/" + name;
    mkdir(p.c_str(), 0700);
    return p;
}

// The fake with this test's options: TLS on `port` (0 = any), one reusable pre-auth key,
// 2 s map keep-alives, state kept in `dir` so a restarted fake knows the nodes.
std::unique_ptr<FakeHeadscale> start_fake(const std::string& dir, int port) {
    return std::make_unique<FakeHeadscale>(
        std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port), "--tls",
                                 "--hostname", "localhost", "--state-dir", dir + "/fake-state",
                                 "--ca-out", dir + "/ca.pem", "--preauth-key",
                                 std::string(kAuthKey) + ",reusable", "--keepalive-seconds", "2",
                                 "--admin", "127.0.0.1:0"},
        dir + "/fake.log");
}

struct Recorder : ControlClientHandler {
    std::vector<std::pair<ControlState, std::string>> states;
    std::set<tailnet::NodeId> removed;
    int netmaps = 0;
    int key_changes = 0;
    std::function<void()> on_map_hook;

    void on_control_state(ControlState s, const std::string& detail) override {
        states.emplace_back(s, detail);
    }
    void on_netmap(const tailnet::NetMap&, const tailnet::NetMapDelta& d) override {
        ++netmaps;
        removed.insert(d.removed.begin(), d.removed.end());
        if (on_map_hook) on_map_hook();
    }
    void on_node_key_changed() override { ++key_changes; }
    bool saw(ControlState s, const std::string& text = "") const {
        for (const auto& [st, d] : states) {
            if (st == s && d.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

// One tailnet node: its state dir, keys and control client.
struct TestNode {
    Recorder rec;
    std::unique_ptr<TailnetKeys> keys;
    std::unique_ptr<ControlClient> client;

    TestNode(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng, const std::string& dir,
             const std::string& name, const FakeHeadscale& fake, const std::string& auth_key) {
        auto k = TailnetKeys::load_or_create(subdir(dir, name), rng);
        REQUIRE(k);
        keys = std::make_unique<TailnetKeys>(std::move(k.value()));
        ControlClientOptions o;
        o.config.line = 1;
        o.config.control_url.https = true;
        o.config.control_url.host = "localhost";
        o.config.control_url.port = static_cast<std::uint16_t>(fake.port());
        o.config.ca_file = fake.ca();
        o.auth_key = auth_key;
        o.hostname = name;
        o.ipn_version = "tunless-test";
        o.backoff_initial = std::chrono::milliseconds(200);
        o.backoff_max = std::chrono::milliseconds(800);
        client = std::make_unique<ControlClient>(loop, resolver, rng, *keys, o, rec);
    }
    // The peer whose Hostinfo.Hostname is `host`, if in our netmap.
    const tailnet::Node* peer(const std::string& host) const {
        for (const auto& [id, n] : client->netmap().peers()) {
            if (n.hostname == host) return &n;
        }
        return nullptr;
    }
    tailnet::NodeId self_id() const {
        const auto& self = client->netmap().self();
        return self ? self->id : 0;
    }
};

bool has_v4_tailnet_address(const tailnet::Node& n) {
    for (const IpPrefix& p : n.addresses) {
        if (p.to_string().rfind("100.64.", 0) == 0) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("tailnet control client against the fake headscale" * doctest::timeout(60)) {
    if (const std::string missing = test::fake_headscale_missing_deps(); !missing.empty()) {
        MESSAGE("SKIPPED: " << missing);
        return;
    }
    REQUIRE(crypto::init());
    log::set_level(log::Level::kInfo);
    const auto test_start = Clock::now();
    const std::string dir = make_temp_dir();
    auto fake = start_fake(dir, 0);
    const int port = fake->port();

    auto loop_r = io::EventLoop::create();
    REQUIRE(loop_r);
    io::EventLoop& loop = *loop_r.value();
    io::HostResolver resolver(loop, {});
    SystemRng rng;
    auto run_until = [&](const char* what, const std::function<bool()>& done,
                         std::chrono::seconds limit = std::chrono::seconds(10)) {
        const auto deadline = Clock::now() + limit;
        while (!done()) {
            REQUIRE_MESSAGE(Clock::now() < deadline, "timed out waiting for: " << what);
            REQUIRE(loop.run_once(std::chrono::milliseconds(50)));
        }
    };

    TestNode a(loop, resolver, rng, dir, "node-a", *fake, kAuthKey);
    TestNode b(loop, resolver, rng, dir, "node-b", *fake, kAuthKey);
    a.client->start();
    b.client->start();
    run_until("a and b running and seeing each other", [&] {
        return a.client->state() == ControlState::kRunning &&
               b.client->state() == ControlState::kRunning && a.peer("node-b") != nullptr &&
               b.peer("node-a") != nullptr;
    });
    CHECK(a.client->status().login_name.size() > 0);
    CHECK(has_v4_tailnet_address(*a.peer("node-b")));
    CHECK(has_v4_tailnet_address(*b.peer("node-a")));
    REQUIRE(a.client->netmap().self());
    CHECK(has_v4_tailnet_address(*a.client->netmap().self()));
    CHECK(a.client->netmap().derp_map());

    {
        // PreferredDERP goes out as a lite update; the fake stores it as HomeDERP and tells
        // the peer (PeersChanged).
        a.client->set_preferred_derp(999);
        b.client->set_preferred_derp(999);
        run_until("each sees the other's HomeDERP 999", [&] {
            const auto* pb = a.peer("node-b");
            const auto* pa = b.peer("node-a");
            return pb && pa && pb->home_derp == 999 && pa->home_derp == 999;
        });
        const auto [st, nodes] = fake->admin("GET", "/admin/nodes");
        CHECK(st == 200);
        std::size_t with_999 = 0;
        for (auto at = nodes.find("\"home_derp\": 999"); at != std::string::npos;
             at = nodes.find("\"home_derp\": 999", at + 1)) {
            ++with_999;
        }
        CHECK(with_999 == 2);
        const auto [st2, stats] = fake->admin("GET", "/admin/stats");
        CHECK(stats.find("\"lite_updates\": 0") == std::string::npos);
    }

    {
        // A bad pre-auth key: backoff with the server's error text.
        TestNode c(loop, resolver, rng, dir, "node-c", *fake, "tskey-bogus");
        c.client->start();
        run_until("c in backoff", [&] { return c.rec.saw(ControlState::kBackoff); });
        CHECK(c.rec.saw(ControlState::kBackoff, "invalid authkey"));
        CHECK(c.client->status().detail.find("tskey-bogus") == std::string::npos);
    }

    tailnet::NodeId d_id = 0;
    {
        // Interactive login: the URL, the admin approval, then running.
        TestNode d(loop, resolver, rng, dir, "node-d", *fake, "");
        d.client->start();
        run_until("d needs login", [&] { return d.client->state() == ControlState::kNeedsLogin; });
        const std::string url = d.client->status().detail;
        REQUIRE(url.find("/register/") != std::string::npos);
        const std::string auth_id = url.substr(url.rfind('/') + 1);
        const auto [st, body] =
            fake->admin("POST", "/admin/approve", R"({"auth_id": ")" + auth_id + "\"}");
        REQUIRE_MESSAGE(st == 200, body);
        run_until("d running", [&] { return d.client->state() == ControlState::kRunning; });
        run_until("a sees d", [&] { return a.peer("node-d") != nullptr; });
        d_id = d.self_id();
        REQUIRE(d_id != 0);

        // Deleting d: the others' deltas report it removed.
        const auto [dst, dbody] = fake->admin("DELETE", "/admin/nodes/" + std::to_string(d_id));
        REQUIRE_MESSAGE(dst == 200, dbody);
        run_until("a and b see d removed",
                  [&] { return a.rec.removed.count(d_id) == 1 && b.rec.removed.count(d_id) == 1; });
        CHECK(a.peer("node-d") == nullptr);
    }

    // The server dies mid-stream: backoff, then recovery once it is back on the same port
    // with the same state.
    const auto a_reconnects = a.client->status().reconnects;
    fake->stop(SIGKILL);
    run_until("a and b in backoff", [&] {
        return a.client->state() == ControlState::kBackoff &&
               b.client->state() == ControlState::kBackoff;
    });
    CHECK(a.client->status().reconnects > a_reconnects);
    fake = start_fake(dir, port);
    run_until(
        "a and b running again",
        [&] {
            return a.client->state() == ControlState::kRunning &&
                   b.client->state() == ControlState::kRunning && a.peer("node-b") != nullptr &&
                   b.peer("node-a") != nullptr;
        },
        std::chrono::seconds(15));
    CHECK(a.peer("node-b")->home_derp == 999);
    CHECK(a.rec.key_changes == 0);

    a.client.reset();
    b.client.reset();
    fake.reset();
    std::system(("rm -rf '" + dir + "'").c_str());
    const auto took = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - test_start);
    MESSAGE("took ", took.count(), " s");
    CHECK(took < std::chrono::seconds(30));
}
