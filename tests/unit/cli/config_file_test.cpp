#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tools/tunless/config_file.hpp"

using namespace tunless;
using namespace tunless::cli;

namespace {
struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/tunless-cfg-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        ::unlink((path + "/f").c_str());
        ::rmdir(path.c_str());
    }
    std::string path;
};
}  // namespace

TEST_CASE("a new private file is created 0600 and never overwritten") {
    TempDir d;
    const std::string f = d.path + "/f";
    const mode_t old = ::umask(0);  // even with a permissive umask
    REQUIRE(write_new_private_file(f, "secret\n"));
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(is_group_or_world_readable(f));
    CHECK(path_exists(f));
    auto again = write_new_private_file(f, "other\n");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::kAlreadyExists);
    CHECK(*read_text_file(f) == "secret\n");
    ::chmod(f.c_str(), 0644);
    CHECK(is_group_or_world_readable(f));
}

TEST_CASE("reading is bounded; load_config reports file errors and parse results") {
    TempDir d;
    const std::string f = d.path + "/f";
    REQUIRE(write_new_private_file(f, "[Interface]\nAddress = 10.0.0.1/24\nMTU = 9\n"));
    auto small = read_text_file(f, 10);
    REQUIRE_FALSE(small);
    CHECK(small.error().code == Errc::kLimitReached);

    cfg::ParseOptions o;
    o.require_private_key = false;
    const cfg::ParseReport r = load_config(f, o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() == f + ":3: MTU: must be a number from 576 to 65535");

    const cfg::ParseReport missing = load_config(d.path + "/nope");
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].to_string() == d.path + "/nope: No such file or directory");
}

TEST_CASE("load_config resolves $NAME from the process environment") {
    TempDir d;
    const std::string f = d.path + "/f";
    REQUIRE(write_new_private_file(
        f, "[Interface]\nPrivateKey = $TUNLESS_TEST_KEY\nAddress = 10.0.0.1/24\n"));
    ::setenv("TUNLESS_TEST_KEY", "uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=", 1);
    const cfg::ParseReport r = load_config(f);
    ::unsetenv("TUNLESS_TEST_KEY");
    CHECK(r.ok());
    CHECK(r.config.iface.private_key.has_value());
}
