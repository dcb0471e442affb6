// EndpointRefresher: which peers are looked up again and when, and how results change the
// device endpoint. A scripted HostLookup stands in for getaddrinfo_a.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/crypto/keys.hpp"
#include "core/crypto/x25519.hpp"
#include "tests/support/test_rng.hpp"
#include "tools/tunless/app/endpoint_refresh.hpp"

namespace tunless::app {
namespace {

using namespace std::chrono_literals;

struct ScriptedLookup final : HostLookup {
    struct Request {
        std::string host;
        Callback cb;
    };
    std::vector<Request>* requests;
    explicit ScriptedLookup(std::vector<Request>& r) : requests(&r) {}
    void start(const std::string& host, Callback cb) override {
        requests->push_back({host, std::move(cb)});
    }
};

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

struct Fixture {
    test::SeededRng rng{3};
    test::FakeClock clock;
    wg::Device dev{rng, clock};
    std::vector<ScriptedLookup::Request> requests;
    EndpointRefresher refresher{dev, std::make_unique<ScriptedLookup>(requests)};
    crypto::PublicKey named_key;
    crypto::PublicKey numeric_key;
    std::vector<wg::PeerId> updated;

    Fixture() {
        test::SeededRng key_rng(50);
        dev.set_private_key(crypto::generate_private_key(key_rng));
        named_key = crypto::public_key_from_private(crypto::generate_private_key(key_rng));
        numeric_key = crypto::public_key_from_private(crypto::generate_private_key(key_rng));
        cfg::Config c;
        cfg::PeerEntry named;
        named.public_key = named_key;
        named.endpoint = cfg::NamedEndpoint{};
        named.endpoint->host = "peer.example";
        named.endpoint->port = 51820;
        named.allowed_ips.push_back(*IpPrefix::parse("10.9.0.2/32"));
        named.persistent_keepalive = 25;
        cfg::PeerEntry numeric;
        numeric.public_key = numeric_key;
        numeric.endpoint = cfg::NamedEndpoint{};
        numeric.endpoint->ip = ip("192.0.2.9");
        numeric.endpoint->port = 51820;
        c.peers = {named, numeric};
        wg::PeerConfig pc;
        pc.public_key = named_key;
        pc.endpoint = Endpoint::udp(ip("192.0.2.1"), 51820);  // what start-up resolved
        pc.allowed_ips = named.allowed_ips;
        pc.persistent_keepalive_s = 25;
        REQUIRE(dev.add_peer(pc));
        pc.public_key = numeric_key;
        pc.endpoint = Endpoint::udp(ip("192.0.2.9"), 51820);
        pc.allowed_ips.clear();
        REQUIRE(dev.add_peer(pc));
        refresher.set_peers(c);
        refresher.set_on_update([this](wg::PeerId id) { updated.push_back(id); });
    }
    Instant now() const { return clock.now_mono(); }
    wg::PeerStatus named_status() const { return *dev.peer_status(*dev.find_peer(named_key)); }
    void answer(std::size_t i, std::vector<IpAddress> addrs) {
        requests.at(i).cb(std::move(addrs));
    }
};

}  // namespace

TEST_CASE("only peers configured by name are watched") {
    Fixture f;
    CHECK(f.refresher.watched() == 1);
}

TEST_CASE("a failing named peer is looked up again and its endpoint follows the name") {
    Fixture f;
    // No session yet: failing. One lookup; none again while it is in flight.
    f.refresher.tick(f.now());
    REQUIRE(f.requests.size() == 1);
    CHECK(f.requests[0].host == "peer.example");
    f.refresher.tick(f.now() + 1s);
    CHECK(f.requests.size() == 1);
    // The name moved: the device endpoint changes (port kept) and a handshake is asked for.
    f.answer(0, {ip("198.51.100.7"), ip("2001:db8::7")});
    CHECK(f.named_status().endpoint == Endpoint::udp(ip("198.51.100.7"), 51820));
    CHECK(f.named_status().allowed_ips.size() == 1);
    CHECK(f.named_status().persistent_keepalive_s == 25);
    CHECK(f.updated.size() == 1);
    CHECK(f.refresher.updates() == 1);
    // Backoff: not before kRefreshMinInterval, then doubled.
    f.refresher.tick(f.now() + kRefreshMinInterval - 1s);
    CHECK(f.requests.size() == 1);
    f.refresher.tick(f.now() + kRefreshMinInterval);
    REQUIRE(f.requests.size() == 2);
    // Same address again: no update.
    f.answer(1, {ip("198.51.100.7")});
    CHECK(f.refresher.updates() == 1);
    f.refresher.tick(f.now() + kRefreshMinInterval * 2);
    CHECK(f.requests.size() == 2);  // next allowed at +30 s + 60 s
    f.refresher.tick(f.now() + kRefreshMinInterval * 3);
    CHECK(f.requests.size() == 3);
}

TEST_CASE("lookup failures keep the endpoint") {
    Fixture f;
    f.refresher.tick(f.now());
    REQUIRE(f.requests.size() == 1);
    f.requests[0].cb(fail(Errc::kNotFound, "peer.example: no address"));
    CHECK(f.named_status().endpoint == Endpoint::udp(ip("192.0.2.1"), 51820));
    CHECK(f.refresher.updates() == 0);
}

TEST_CASE("handshake gave up and network change trigger lookups at once") {
    Fixture f;
    const wg::PeerId id = *f.dev.find_peer(f.named_key);
    f.refresher.on_event(f.now(), wg::Event{wg::EventKind::kHandshakeCompleted, id});
    CHECK(f.requests.empty());
    f.refresher.on_event(f.now(), wg::Event{wg::EventKind::kHandshakeGaveUp, id});
    CHECK(f.requests.size() == 1);
    f.answer(0, {ip("192.0.2.1")});
    f.refresher.refresh_all(f.now(), "test");
    CHECK(f.requests.size() == 2);
}

TEST_CASE("a reload that drops the name stops the watch; late answers are ignored") {
    Fixture f;
    f.refresher.tick(f.now());
    REQUIRE(f.requests.size() == 1);
    f.refresher.set_peers(cfg::Config{});
    CHECK(f.refresher.watched() == 0);
    f.answer(0, {ip("198.51.100.7")});
    CHECK(f.named_status().endpoint == Endpoint::udp(ip("192.0.2.1"), 51820));
}

TEST_CASE("peer_is_failing") {
    wg::PeerStatus s;
    s.has_session = true;
    CHECK_FALSE(peer_is_failing(s));
    s.handshake_retries = kRefreshAfterRetries;
    CHECK(peer_is_failing(s));
    s.handshake_retries = 0;
    s.has_session = false;
    CHECK(peer_is_failing(s));
}

}  // namespace tunless::app

namespace tunless::app {

// The adapter over io::HostResolver (tested in tests/unit/transports/host_resolver_test.cpp):
// "localhost" comes from /etc/hosts (no DNS query), the answer arrives through the loop, never
// inside start().
TEST_CASE("GaiHostLookup answers on the loop") {
    auto loop = io::EventLoop::create();
    REQUIRE(loop);
    GaiHostLookup lookup(**loop);
    int answers = 0;
    bool localhost_ok = false;
    lookup.start("localhost", [&](Result<std::vector<IpAddress>> r) {
        ++answers;
        localhost_ok = r && !r->empty() && r->front().is_loopback();
    });
    CHECK(answers == 0);
    for (int i = 0; i < 200 && answers < 1; ++i) {
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(100)));
    }
    CHECK(answers == 1);
    CHECK(localhost_ok);
}

}  // namespace tunless::app
