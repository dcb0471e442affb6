#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tools/tunless/state_dir.hpp"

using namespace tunless;
using namespace tunless::cli;

TEST_CASE("state directory choice: override, system dir, XDG, HOME") {
    StateDirEnv e;
    e.xdg_state_home = "/x/state";
    e.home = "/home/u";
    CHECK(*pick_state_dir(e) == "/x/state/tunless");
    e.system_dir_usable = true;
    CHECK(*pick_state_dir(e) == "/var/lib/tunless");
    e.override_dir = "/opt/t";
    CHECK(*pick_state_dir(e) == "/opt/t");

    StateDirEnv sd;  // systemd's StateDirectory= (first of a colon list) beats /var/lib
    sd.system_dir_usable = true;
    sd.systemd_dir = "/var/lib/tunless-a:/var/lib/other";
    CHECK(*pick_state_dir(sd) == "/var/lib/tunless-a");
    sd.systemd_dir = "relative";  // not absolute: ignored
    CHECK(*pick_state_dir(sd) == "/var/lib/tunless");
    sd.override_dir = "/opt/t";
    sd.systemd_dir = "/var/lib/tunless-a";
    CHECK(*pick_state_dir(sd) == "/opt/t");

    StateDirEnv h;
    h.home = "/home/u";
    h.xdg_state_home = "relative/ignored";  // XDG spec: relative paths are invalid
    CHECK(*pick_state_dir(h) == "/home/u/.local/state/tunless");

    StateDirEnv none;
    auto r = pick_state_dir(none);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("--state-dir") != std::string::npos);
    none.override_dir = "";
    CHECK_FALSE(pick_state_dir(none));
}

TEST_CASE("ensure_state_dir creates nested directories with mode 0700") {
    char tmpl[] = "/tmp/tunless-state-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = std::string(tmpl) + "/a/b";
    REQUIRE(ensure_state_dir(dir));
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(ensure_state_dir(dir));  // idempotent
    ::rmdir(dir.c_str());
    ::rmdir((std::string(tmpl) + "/a").c_str());
    ::rmdir(tmpl);
}
