// The tailnet key store in a temporary state directory: keys are created 0600 and reloaded
// unchanged, bad files are refused with a message naming them, node key rotation keeps the
// previous key for OldNodeKey across a restart, the AuthKey file is read and trimmed.
#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/crypto/init.hpp"
#include "core/tailnet/keys.hpp"
#include "tests/support/test_rng.hpp"
#include "tools/tunless/app/tailnet_keys.hpp"
#include "tools/tunless/config_file.hpp"

using namespace tunless;
using namespace tunless::app;

namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/tunless-tnkeys-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        if (DIR* d = ::opendir(path_.c_str())) {
            while (dirent* e = ::readdir(d)) {
                const std::string name = e->d_name;
                if (name != "." && name != "..") {
                    ::unlink((path_ + "/" + name).c_str());
                }
            }
            ::closedir(d);
        }
        ::rmdir(path_.c_str());
    }
    const std::string& path() const { return path_; }
    std::string file(const char* name) const { return path_ + "/" + name; }

    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        if (DIR* d = ::opendir(path_.c_str())) {
            while (dirent* e = ::readdir(d)) {
                const std::string name = e->d_name;
                if (name != "." && name != "..") {
                    out.push_back(name);
                }
            }
            ::closedir(d);
        }
        return out;
    }

private:
    std::string path_;
};

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
    ::unlink(path.c_str());
    REQUIRE(cli::write_new_private_file(path, text));
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("tailnet keys: created 0600 in the state dir, reloaded unchanged, disco fresh") {
    REQUIRE(crypto::init());
    TempDir dir;
    test::SeededRng rng(7);
    auto first = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(first);
    CHECK(first->machine_key_created());
    CHECK_FALSE(first->old_node_public());
    CHECK(first->machine_public() != first->node_public());
    CHECK(mode_of(dir.file(kMachineKeyFile)) == 0600);
    CHECK(mode_of(dir.file(kNodeKeyFile)) == 0600);
    CHECK(dir.entries().size() == 2);  // no temp files left behind, disco key not stored

    auto text = cli::read_text_file(dir.file(kNodeKeyFile));
    REQUIRE(text);
    CHECK(*text == tailnet::key_to_text(tailnet::KeyKind::kPrivate,
                                        first->node_private().view()) + "\n");

    auto second = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(second);
    CHECK_FALSE(second->machine_key_created());
    CHECK(second->machine_public() == first->machine_public());
    CHECK(second->node_public() == first->node_public());
    CHECK(second->disco_public() != first->disco_public());  // Go: new disco key every start
}

TEST_CASE("tailnet keys: a key file written by hand (no newline, upper-case hex) loads") {
    REQUIRE(crypto::init());
    TempDir dir;
    test::SeededRng rng(8);
    const std::string hex(64, 'A');
    write_file(dir.file(kMachineKeyFile), "privkey:" + hex);
    auto keys = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(keys);
    CHECK_FALSE(keys->machine_key_created());
    CHECK(keys->machine_private().data()[0] == 0xaa);
}

TEST_CASE("tailnet keys: malformed or group/other-accessible files are refused") {
    REQUIRE(crypto::init());
    TempDir dir;
    test::SeededRng rng(9);
    REQUIRE(TailnetKeys::load_or_create(dir.path(), rng));
    const std::string node = dir.file(kNodeKeyFile);
    auto saved = cli::read_text_file(node);
    REQUIRE(saved);

    const std::string secret_part = saved->substr(8, 20);
    const char* malformed[] = {"nodekey:" , "privkey:1234\n", "", "garbage\n"};
    for (const char* prefix : malformed) {
        std::string body = prefix;
        if (body == "nodekey:") {
            body += saved->substr(8);  // right length, wrong kind
        }
        write_file(node, body);
        auto r = TailnetKeys::load_or_create(dir.path(), rng);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(node + ": not a key file") == 0);
        CHECK(r.error().message.find(secret_part) == std::string::npos);
    }
    write_file(node, "privkey:" + std::string(64, '0') + "\n");  // the zero key
    CHECK_FALSE(TailnetKeys::load_or_create(dir.path(), rng));

    write_file(node, *saved, 0640);
    auto open = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE_FALSE(open);
    CHECK(open.error().message == node + ": permissions 0640 are too open: a key file must be "
                                         "accessible by its owner only (chmod 600 " + node + ")");
    write_file(node, *saved, 0602);
    CHECK_FALSE(TailnetKeys::load_or_create(dir.path(), rng));
    write_file(node, *saved, 0400);  // read-only for the owner is fine
    CHECK(TailnetKeys::load_or_create(dir.path(), rng));

    ::unlink(node.c_str());
    REQUIRE(::mkdir(node.c_str(), 0700) == 0);
    auto is_dir = TailnetKeys::load_or_create(dir.path(), rng);
    ::rmdir(node.c_str());
    REQUIRE_FALSE(is_dir);
    CHECK(is_dir.error().message == node + ": not a regular file");
}

TEST_CASE("tailnet keys: rotation keeps the previous node key until control accepts") {
    REQUIRE(crypto::init());
    TempDir dir;
    test::SeededRng rng(10);
    auto keys = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(keys);
    const crypto::PublicKey machine = keys->machine_public();
    const crypto::PublicKey before = keys->node_public();

    REQUIRE(keys->rotate_node_key(rng));
    CHECK(keys->node_public() != before);
    REQUIRE(keys->old_node_public());
    CHECK(*keys->old_node_public() == before);
    CHECK(keys->machine_public() == machine);
    CHECK(mode_of(dir.file(kOldNodeKeyFile)) == 0600);

    // A restart before control accepted the new key still knows the old one.
    auto restarted = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(restarted);
    CHECK(restarted->node_public() == keys->node_public());
    REQUIRE(restarted->old_node_public());
    CHECK(*restarted->old_node_public() == before);

    REQUIRE(restarted->forget_old_node_key());
    CHECK_FALSE(restarted->old_node_public());
    CHECK(dir.entries().size() == 2);
    auto later = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(later);
    CHECK_FALSE(later->old_node_public());
    CHECK(later->node_public() == keys->node_public());
}

TEST_CASE("tailnet keys: an old key equal to the node key (interrupted rotation) is dropped") {
    REQUIRE(crypto::init());
    TempDir dir;
    test::SeededRng rng(11);
    REQUIRE(TailnetKeys::load_or_create(dir.path(), rng));
    auto node_text = cli::read_text_file(dir.file(kNodeKeyFile));
    REQUIRE(node_text);
    write_file(dir.file(kOldNodeKeyFile), *node_text);
    auto keys = TailnetKeys::load_or_create(dir.path(), rng);
    REQUIRE(keys);
    CHECK_FALSE(keys->old_node_public());
    CHECK(dir.entries().size() == 2);
}

TEST_CASE("tailnet keys: a missing state directory is an error, not a crash") {
    REQUIRE(crypto::init());
    test::SeededRng rng(12);
    auto r = TailnetKeys::load_or_create("/nonexistent/tunless-state", rng);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kIo);
}

TEST_CASE("AuthKey: literal, file (trimmed), errors never show the key") {
    TempDir dir;
    cfg::AuthKeySource none;
    auto empty = read_auth_key(none);
    REQUIRE(empty);
    CHECK(empty->empty());

    cfg::AuthKeySource literal{cfg::AuthKeySource::Kind::kLiteral, "tskey-auth-abc"};
    CHECK(*read_auth_key(literal) == "tskey-auth-abc");

    const std::string path = dir.file("authkey");
    write_file(path, "  hskey-auth-0123456789\n\n");
    cfg::AuthKeySource file{cfg::AuthKeySource::Kind::kFile, path};
    auto key = read_auth_key(file);
    REQUIRE(key);
    CHECK(*key == "hskey-auth-0123456789");

    write_file(path, "hskey-auth-secretpart second-word\n");
    auto two = read_auth_key(file);
    REQUIRE_FALSE(two);
    CHECK(two.error().message == "AuthKey file " + path + ": expected one key without spaces");
    CHECK(two.error().message.find("secretpart") == std::string::npos);

    write_file(path, " \n");
    auto blank = read_auth_key(file);
    REQUIRE_FALSE(blank);
    CHECK(blank.error().message == "AuthKey file " + path + " is empty");

    cfg::AuthKeySource missing{cfg::AuthKeySource::Kind::kFile, dir.file("nope")};
    auto gone = read_auth_key(missing);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().message == "AuthKey file " + dir.file("nope") +
                                      ": No such file or directory");
}
