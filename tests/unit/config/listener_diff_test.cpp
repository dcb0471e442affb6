// cfg::diff_listeners: which proxy/forward listeners a SIGHUP reload stops, updates or starts.
// Configs are parsed from text, as the daemon gets them.
#include <doctest/doctest.h>

#include <string>

#include "config_test_util.hpp"
#include "core/config/listener_diff.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

namespace {

Config parsed(const std::string& sections) {
    const ParseReport r = parse_report(minimal_interface() + sections, "node.conf");
    REQUIRE_MESSAGE(r.ok(), errors_of(r));
    return r.config;
}

std::string describe(const ListenerDiff& d) {
    std::string s;
    for (const auto& x : d.deltas) {
        s += std::string(change_name(x.change)) + " " + x.id.to_string() + " line " +
             std::to_string(x.line) + "\n";
    }
    return s;
}

constexpr const char* kBase =
    "[Socks5]\nBindAddress = 127.0.0.1:1080\n"                              // lines 4-5
    "[http]\nBindAddress = 127.0.0.1:8080\nUsername = u\nPassword = p\n"    // 6-9
    "[TCPClientTunnel]\nBindAddress = 127.0.0.1:7001\nTarget = 10.0.0.1:7000\n"  // 10-12
    "[TCPServerTunnel]\nListenPort = 5555\nTarget = 127.0.0.1:5556\n"       // 13-15
    "[TCPServerTunnel]\nListenPort = 5557\nTarget = 127.0.0.1:5558\n"       // 16-18
    "[UDPProxyTunnel]\nBindAddress = 127.0.0.1:5353\nTarget = 10.0.0.1:53\n"  // 19-21
    "[UDPServerTunnel]\nListenPort = 5000\nTarget = 127.0.0.1:5001\n";      // 22-24

}  // namespace

TEST_CASE("an identical config changes nothing") {
    const Config a = parsed(kBase);
    const ListenerDiff d = diff_listeners(a, a);
    CHECK(d.empty());
    CHECK(d.unchanged == 7);
}

TEST_CASE("moving sections around in the file changes nothing") {
    const Config a = parsed(kBase);
    const Config b = parsed(
        "[TCPServerTunnel]\nListenPort = 5557\nTarget = 127.0.0.1:5558\n"
        "# a comment shifts every line\n"
        "[UDPServerTunnel]\nListenPort = 5000\nTarget = 127.0.0.1:5001\n"
        "[http]\nBindAddress = 127.0.0.1:8080\nUsername = u\nPassword = p\n"
        "[TCPServerTunnel]\nListenPort = 5555\nTarget = 127.0.0.1:5556\n"
        "[UDPProxyTunnel]\nBindAddress = 127.0.0.1:5353\nTarget = 10.0.0.1:53\n"
        "[Socks5]\nBindAddress = 127.0.0.1:1080\n"
        "[TCPClientTunnel]\nBindAddress = 127.0.0.1:7001\nTarget = 10.0.0.1:7000\n");
    const ListenerDiff d = diff_listeners(a, b);
    CHECK_MESSAGE(d.empty(), describe(d));
    CHECK(d.unchanged == 7);
}

TEST_CASE("a forward added and another removed; the rest unchanged") {
    const Config a = parsed(kBase);
    std::string text = kBase;
    const std::string gone = "[TCPServerTunnel]\nListenPort = 5557\nTarget = 127.0.0.1:5558\n";
    text.erase(text.find(gone), gone.size());
    text += "[TCPServerTunnel]\nListenPort = 5559\nTarget = 127.0.0.1:5556\n";
    const ListenerDiff d = diff_listeners(a, parsed(text));
    REQUIRE_MESSAGE(d.deltas.size() == 2, describe(d));
    // Removals come first, so a port freed by one section is free for the next.
    CHECK(d.deltas[0].change == ListenerChange::kRemoved);
    CHECK(d.deltas[0].id.to_string() == "[TCPServerTunnel] ListenPort 5557");
    CHECK(d.deltas[0].prev_index == 1);
    CHECK(d.deltas[0].next_index == kNoIndex);
    CHECK(d.deltas[0].line == 16);  // in the previous file
    CHECK(d.deltas[1].change == ListenerChange::kAdded);
    CHECK(d.deltas[1].id.to_string() == "[TCPServerTunnel] ListenPort 5559");
    CHECK(d.deltas[1].prev_index == kNoIndex);
    CHECK(d.deltas[1].next_index == 1);
    CHECK(d.deltas[1].line == 22);  // in the next file
    CHECK(d.unchanged == 6);
}

TEST_CASE("settings of a listener that stays are a change, not a remove and add") {
    const Config a = parsed(kBase);
    SUBCASE("new Target of a forward") {
        std::string t = kBase;
        t.replace(t.find("127.0.0.1:5556"), 14, "127.0.0.1:6000");
        const ListenerDiff d = diff_listeners(a, parsed(t));
        REQUIRE_MESSAGE(d.deltas.size() == 1, describe(d));
        CHECK(d.deltas[0].change == ListenerChange::kChanged);
        CHECK(d.deltas[0].id.to_string() == "[TCPServerTunnel] ListenPort 5555");
        CHECK(d.deltas[0].prev_index == 0);
        CHECK(d.deltas[0].next_index == 0);
    }
    SUBCASE("credentials of a proxy") {
        std::string t = kBase;
        t.replace(t.find("Password = p"), 12, "Password = q");
        const ListenerDiff d = diff_listeners(a, parsed(t));
        REQUIRE(d.deltas.size() == 1);
        CHECK(d.deltas[0].change == ListenerChange::kChanged);
        CHECK(d.deltas[0].id.to_string() == "[http] 127.0.0.1:8080");
    }
    SUBCASE("MaxConnections, ProxyProtocol, InactivityTimeout") {
        std::string t = kBase;
        t.insert(t.find("[http]"), "MaxConnections = 3\n");
        t.insert(t.find("[TCPServerTunnel]\nListenPort = 5557"), "ProxyProtocol = true\n");
        t.insert(t.find("[UDPServerTunnel]"), "InactivityTimeout = 30\n");
        const ListenerDiff d = diff_listeners(a, parsed(t));
        REQUIRE_MESSAGE(d.deltas.size() == 3, describe(d));
        CHECK(d.count(ListenerChange::kChanged) == 3);
        CHECK(d.deltas[0].id.kind == ListenerKind::kSocks5);
        CHECK(d.deltas[1].id.kind == ListenerKind::kTcpServerTunnel);
        CHECK(d.deltas[2].id.kind == ListenerKind::kUdpProxyTunnel);
    }
}

TEST_CASE("identity is kind plus where it listens") {
    const Config a = parsed("[Socks5]\nBindAddress = 127.0.0.1:1080\n");
    SUBCASE("another bind address is another listener") {
        const ListenerDiff d = diff_listeners(a, parsed("[Socks5]\nBindAddress = 0.0.0.0:1080\n"));
        REQUIRE(d.deltas.size() == 2);
        CHECK(d.deltas[0].change == ListenerChange::kRemoved);
        CHECK(d.deltas[0].id.to_string() == "[Socks5] 127.0.0.1:1080");
        CHECK(d.deltas[1].change == ListenerChange::kAdded);
        CHECK(d.deltas[1].id.to_string() == "[Socks5] 0.0.0.0:1080");
    }
    SUBCASE("the same address under another section: the old one stops before the new starts") {
        const ListenerDiff d = diff_listeners(a, parsed("[http]\nBindAddress = 127.0.0.1:1080\n"));
        REQUIRE(d.deltas.size() == 2);
        CHECK(d.deltas[0].change == ListenerChange::kRemoved);
        CHECK(d.deltas[0].id.kind == ListenerKind::kSocks5);
        CHECK(d.deltas[1].change == ListenerChange::kAdded);
        CHECK(d.deltas[1].id.kind == ListenerKind::kHttp);
    }
    SUBCASE("TCP and UDP server tunnels on one port are different listeners") {
        const Config b = parsed("[TCPServerTunnel]\nListenPort = 80\nTarget = 127.0.0.1:80\n");
        const Config c = parsed("[UDPServerTunnel]\nListenPort = 80\nTarget = 127.0.0.1:80\n");
        const ListenerDiff d = diff_listeners(b, c);
        REQUIRE(d.deltas.size() == 2);
        CHECK(d.deltas[0].id.to_string() == "[TCPServerTunnel] ListenPort 80");
        CHECK(d.deltas[1].id.to_string() == "[UDPServerTunnel] ListenPort 80");
    }
}

TEST_CASE("repeated port-0 binds pair up in file order") {
    const Config a = parsed("[Socks5]\nBindAddress = 127.0.0.1:0\n"
                            "[Socks5]\nBindAddress = 127.0.0.1:0\nMaxConnections = 5\n");
    const Config b = parsed("[Socks5]\nBindAddress = 127.0.0.1:0\n"
                            "[Socks5]\nBindAddress = 127.0.0.1:0\nMaxConnections = 6\n"
                            "[Socks5]\nBindAddress = 127.0.0.1:0\n");
    const ListenerDiff d = diff_listeners(a, b);
    REQUIRE_MESSAGE(d.deltas.size() == 2, describe(d));
    CHECK(d.unchanged == 1);
    CHECK(d.deltas[0].change == ListenerChange::kChanged);
    CHECK(d.deltas[0].prev_index == 1);
    CHECK(d.deltas[0].next_index == 1);
    CHECK(d.deltas[0].rank == 1);  // the second running listener with that id
    CHECK(d.deltas[1].change == ListenerChange::kAdded);
    CHECK(d.deltas[1].next_index == 2);
    const ListenerDiff fewer = diff_listeners(b, a);
    REQUIRE_MESSAGE(fewer.deltas.size() == 2, describe(fewer));
    CHECK(fewer.deltas[0].change == ListenerChange::kRemoved);
    CHECK(fewer.deltas[0].rank == 2);
    CHECK(fewer.deltas[1].change == ListenerChange::kChanged);
    CHECK(fewer.deltas[1].rank == 1);
}

TEST_CASE("everything removed, then everything added back") {
    const Config full = parsed(kBase);
    const Config none = parsed("");
    const ListenerDiff gone = diff_listeners(full, none);
    CHECK(gone.count(ListenerChange::kRemoved) == 7);
    CHECK(gone.deltas.size() == 7);
    const ListenerDiff back = diff_listeners(none, full);
    CHECK(back.count(ListenerChange::kAdded) == 7);
    for (const auto& x : back.deltas) {
        CHECK(listener_id(full, x.id.kind, x.next_index) == x.id);
        CHECK(listener_line(full, x.id.kind, x.next_index) == x.line);
    }
    CHECK(listener_count(full, ListenerKind::kTcpServerTunnel) == 2);
}
