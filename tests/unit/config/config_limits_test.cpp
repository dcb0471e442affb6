// [Limits]: the process-wide caps of the built-in TCP/IP stack (tunless section).
#include <doctest/doctest.h>

#include "config_test_util.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

TEST_CASE("[Limits]: absent means built-in defaults (0)") {
    auto r = parse(minimal_interface(), "t.conf");
    REQUIRE(r);
    CHECK(r->config.limits.line == 0);
    CHECK(r->config.limits.max_tcp_connections == 0);
    CHECK(r->config.limits.stack_memory_mib == 0);
}

TEST_CASE("[Limits]: MaxTcpConnections and StackMemoryMiB parse, case-insensitive") {
    auto r = parse(
        minimal_interface() + "[limits]\nmaxtcpconnections = 4000\nStackMemoryMiB = 48\n",
        "t.conf");
    REQUIRE(r);
    CHECK(r->config.limits.line == 4);
    CHECK(r->config.limits.max_tcp_connections == 4000);
    CHECK(r->config.limits.stack_memory_mib == 48);
    CHECK(r->warnings.empty());
}

TEST_CASE("[Limits]: bounds, unknown keys, duplicates") {
    expect_error(minimal_interface() + "[Limits]\nMaxTcpConnections = 16385\n",
                 "t.conf:5: MaxTcpConnections: '16385' is out of range (0-16384)");
    expect_error(minimal_interface() + "[Limits]\nStackMemoryMiB = 4097\n",
                 "t.conf:5: StackMemoryMiB: '4097' is out of range (0-4096)");
    expect_error(minimal_interface() + "[Limits]\nStackMemoryMiB = 32M\n",
                 "t.conf:5: StackMemoryMiB: '32M' is not a number");
    expect_error(minimal_interface() + "[Limits]\nMaxConnections = 5\n",
                 "t.conf:5: unknown key 'MaxConnections' in [Limits]");
    expect_error(minimal_interface() + "[Limits]\nMaxTcpConnections = 5\n[Limits]\n",
                 "t.conf:6: duplicate [Limits] section (first at line 4)");
}

TEST_CASE("[Limits]: serialize writes only what is set, and reads back the same") {
    auto r = parse(minimal_interface() + "[Limits]\nStackMemoryMiB = 16\n", "a.conf");
    REQUIRE(r);
    const std::string text = serialize(r->config);
    CHECK(text.find("\n[Limits]\nStackMemoryMiB = 16\n") != std::string::npos);
    CHECK(text.find("MaxTcpConnections") == std::string::npos);
    auto back = parse(text, "b.conf");
    REQUIRE(back);
    CHECK(back->config.limits.stack_memory_mib == 16);
    CHECK(back->config.limits.max_tcp_connections == 0);
    auto none = parse(minimal_interface(), "c.conf");
    REQUIRE(none);
    CHECK(serialize(none->config).find("[Limits]") == std::string::npos);
}
