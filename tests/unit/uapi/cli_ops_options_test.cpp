// The operations options of the CLI (`up --name/--pidfile/--daemonize/--syslog`, `status
// [--name] [--json]`) and the interface-name rules of the control socket.
#include <doctest/doctest.h>

#include <initializer_list>
#include <vector>

#include "tools/tunless/app/uapi_server.hpp"
#include "tools/tunless/cli_options.hpp"

using namespace tunless;
using namespace tunless::cli;

namespace {

Result<CliOptions> parse(std::initializer_list<const char*> args) {
    std::vector<const char*> v(args);
    return parse_cli(std::span<const char* const>(v.data(), v.size()));
}

}  // namespace

TEST_CASE("up takes --name, --pidfile, --daemonize and --syslog") {
    auto o = parse({"up", "-c", "/etc/tunless/wg0.conf", "--name", "mesh0", "--pidfile=/run/t.pid",
                    "--daemonize", "--syslog"});
    REQUIRE(o);
    CHECK(o->command == Command::kUp);
    CHECK(*o->name == "mesh0");
    CHECK(*o->pidfile == "/run/t.pid");
    CHECK(o->daemonize);
    CHECK(o->syslog);
}

TEST_CASE("status takes --name and --json") {
    auto o = parse({"status", "--json", "--name=wg0"});
    REQUIRE(o);
    CHECK(o->command == Command::kStatus);
    CHECK(o->json);
    CHECK(*o->name == "wg0");
    CHECK(parse({"status"})->command == Command::kStatus);
}

TEST_CASE("options of one command are refused with another") {
    CHECK_FALSE(parse({"status", "--daemonize"}));
    CHECK_FALSE(parse({"status", "--pidfile", "x"}));
    CHECK_FALSE(parse({"up", "--json"}));
    CHECK_FALSE(parse({"genkey", "--name", "x"}));
    CHECK_FALSE(parse({"up", "--name"}));  // needs a value
}

TEST_CASE("interface names follow wg's rules") {
    CHECK(app::valid_interface_name("wg0"));
    CHECK(app::valid_interface_name("a.b-c_d=e+f"));
    CHECK(app::valid_interface_name("123456789012345"));
    CHECK_FALSE(app::valid_interface_name("1234567890123456"));
    CHECK_FALSE(app::valid_interface_name(""));
    CHECK_FALSE(app::valid_interface_name("a/b"));
    CHECK_FALSE(app::valid_interface_name(".."));
    CHECK_FALSE(app::valid_interface_name("wg 0"));
}

TEST_CASE("default name: the config file's base name without extension, like wg-quick") {
    CHECK(app::default_interface_name("/etc/tunless/wg0.conf") == "wg0");
    CHECK(app::default_interface_name("mesh.conf") == "mesh");
    CHECK(app::default_interface_name("/var/lib/tunless/tunless.conf") == "tunless");
    CHECK(app::default_interface_name("/etc/noext") == "noext");
    CHECK(app::default_interface_name("/etc/a-name-far-too-long-for-wg.conf") == "tunless");
    CHECK(app::default_interface_name("/etc/.hidden") == ".hidden");
}

TEST_CASE("control socket candidates start with /var/run/wireguard") {
    const auto c = app::control_socket_candidates("wg0");
    REQUIRE_FALSE(c.empty());
    CHECK(c.front() == "/var/run/wireguard/wg0.sock");
}
