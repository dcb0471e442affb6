#include <doctest/doctest.h>

#include <vector>

#include "tools/tunless/cli_options.hpp"

using namespace tunless;
using namespace tunless::cli;

namespace {
Result<CliOptions> parse(std::vector<const char*> args) {
    return parse_cli(args);
}
}  // namespace

TEST_CASE("commands and options in any order") {
    auto a = parse({"up", "-v", "-c", "node.conf"});
    REQUIRE(a);
    CHECK(a->command == Command::kUp);
    CHECK(a->verbosity == 1);
    CHECK(*a->config == "node.conf");
    CHECK_FALSE(a->check);

    auto b = parse({"-v", "--verbose", "up", "--check", "--config=x.conf"});
    REQUIRE(b);
    CHECK(b->verbosity == 2);
    CHECK(b->check);
    CHECK(*b->config == "x.conf");

    auto c = parse({"up", "--state-dir", "/tmp/s"});
    REQUIRE(c);
    CHECK(*c->state_dir == "/tmp/s");
    CHECK(parse({"genkey"})->command == Command::kGenkey);
    CHECK(parse({"pubkey", "-q"})->quiet);
    CHECK(parse({"--help"})->command == Command::kHelp);
    CHECK(parse({"up", "-h"})->command == Command::kHelp);
    CHECK(parse({"--version"})->command == Command::kVersion);
    CHECK(parse({})->command == Command::kNone);
}

TEST_CASE("usage errors") {
    CHECK(parse({"up", "-c"}).error().message == "option -c needs a value");
    CHECK(parse({"up", "--bogus"}).error().message == "unknown option '--bogus'");
    CHECK(parse({"up", "extra"}).error().message == "unexpected argument 'extra'");
    CHECK(parse({"up", "genkey"}).error().message == "unexpected argument 'genkey'");
    CHECK(parse({"genkey", "--check"}).error().message ==
          "-c, --state-dir and --check belong to `tunless up`");
    // -c FILE with --state-dir DIR: config from FILE, state (timestamp floor) in DIR.
    CHECK(parse({"up", "-c", "a", "--state-dir", "b"}));
}
