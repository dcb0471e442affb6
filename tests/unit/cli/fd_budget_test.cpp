// The descriptor estimate behind the start-up RLIMIT_NOFILE warning, and raise_fd_limit().
#include <doctest/doctest.h>
#include <sys/resource.h>

#include "core/config/parser.hpp"
#include "proxy/limits.hpp"
#include "tools/tunless/app/fd_budget.hpp"
#include "transports/fd_limit.hpp"

namespace tunless::test {
namespace {

cfg::Config parse_ok(const std::string& extra) {
    const std::string text =
        "[Interface]\nPrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=\n"
        "Address = 10.0.0.2/24\n" + extra;
    auto r = cfg::parse(text, "t.conf");
    REQUIRE(r.has_value());
    return r->config;
}

}  // namespace

TEST_CASE("fd budget: no services, only the base") {
    const auto d = app::descriptors_wanted(parse_ok(""), 1024);
    CHECK(d.tcp == 0);
    CHECK(d.udp == 0);
    CHECK(d.total == app::kBaseDescriptors);
}

TEST_CASE("fd budget: one TCP socket per session, bounded by the stack's cap") {
    const auto c = parse_ok(
        "[Socks5]\nBindAddress = 127.0.0.1:1080\n"               // default cap (1024)
        "[http]\nBindAddress = 127.0.0.1:8080\nMaxConnections = 10\n"
        "[TCPServerTunnel]\nListenPort = 22\nTarget = 127.0.0.1:22\nMaxConnections = 5\n");
    auto d = app::descriptors_wanted(c, 4096);
    CHECK(d.tcp == proxy::kDefaultMaxConnections + 10 + 5);
    d = app::descriptors_wanted(c, 100);  // the stack refuses beyond its cap
    CHECK(d.tcp == 100);
    CHECK(d.udp == 64);  // the SOCKS5 listener's UDP associations
    CHECK(d.total == 100 + 64 + app::kBaseDescriptors);
}

TEST_CASE("fd budget: UDPServerTunnel flows each hold a host socket") {
    const auto c = parse_ok("[UDPServerTunnel]\nListenPort = 53\nTarget = 127.0.0.1:53\n"
                            "MaxConnections = 40\n");
    CHECK(app::descriptors_wanted(c, 1024).udp == 40);
}

TEST_CASE("raise_fd_limit lifts the soft limit to the hard one") {
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max < 128) {
        return;  // nothing meaningful to lower and raise here
    }
    rlimit low = saved;
    low.rlim_cur = 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    auto lim = io::raise_fd_limit();
    rlimit now{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    REQUIRE(lim.has_value());
    CHECK(lim->before == 64);
    CHECK(lim->soft == saved.rlim_max);
    CHECK(lim->hard == saved.rlim_max);
    CHECK(now.rlim_cur == saved.rlim_max);
}

}  // namespace tunless::test
