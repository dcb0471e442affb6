// io::UnixListener: 0600 socket file, stale-socket replacement, refusal of a live socket or a
// non-socket file, cleanup on destruction, removal watch; StreamConnection request/reply.
#include "transports/unix_socket.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

using namespace tunless;
using namespace tunless::io;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/tunless-unix-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { (void)std::system(("rm -rf " + path).c_str()); }
};

// A socket file nobody listens on any more (a daemon killed with SIGKILL).
void make_stale_socket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);
}

struct Echo final : StreamConnection::Handler {
    std::unique_ptr<StreamConnection> conn;
    bool closed = false;
    void on_input(StreamConnection& c) override {
        while (!c.closed() && !c.output_pending()) {
            const std::size_t nl = c.input().find('\n');
            if (nl == std::string_view::npos) {
                if (c.eof()) c.close_after_flush();
                return;
            }
            const std::string line(c.input().substr(0, nl + 1));
            c.consume(nl + 1);
            c.send("echo " + line);
        }
    }
    void on_closed(StreamConnection&) override { closed = true; }
};

}  // namespace

TEST_CASE("listen: mode 0600, live socket refused, removed on destruction") {
    TempDir dir;
    auto loop = EventLoop::create();
    REQUIRE(loop);
    const std::string path = dir.path + "/wg0.sock";
    auto l = UnixListener::listen(**loop, path, [](UniqueFd) {});
    REQUIRE(l);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(S_ISSOCK(st.st_mode));
    auto second = UnixListener::listen(**loop, path, [](UniqueFd) {});
    REQUIRE_FALSE(second);
    CHECK(second.error().code == Errc::kAlreadyExists);
    CHECK((*l)->still_ours());
    l->reset();
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("listen: a stale socket is replaced; a regular file is left alone") {
    TempDir dir;
    auto loop = EventLoop::create();
    REQUIRE(loop);
    const std::string stale = dir.path + "/stale.sock";
    make_stale_socket(stale);
    auto l = UnixListener::listen(**loop, stale, [](UniqueFd) {});
    CHECK(l);
    const std::string file = dir.path + "/file.sock";
    std::ofstream(file) << "data";
    auto f = UnixListener::listen(**loop, file, [](UniqueFd) {});
    REQUIRE_FALSE(f);
    CHECK(f.error().code == Errc::kAlreadyExists);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("watch_removal fires when the socket file is deleted") {
    TempDir dir;
    auto loop = EventLoop::create();
    REQUIRE(loop);
    const std::string path = dir.path + "/wg0.sock";
    auto l = UnixListener::listen(**loop, path, [](UniqueFd) {});
    REQUIRE(l);
    int fired = 0;
    REQUIRE((*l)->watch_removal([&fired] { ++fired; }));
    // Unrelated files in the directory do not count.
    std::ofstream(dir.path + "/other") << "x";
    REQUIRE((*loop)->run_once(std::chrono::milliseconds(50)));
    CHECK(fired == 0);
    REQUIRE(::unlink(path.c_str()) == 0);
    for (int i = 0; i < 10 && fired == 0; ++i)
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(50)));
    CHECK(fired == 1);
}

TEST_CASE("StreamConnection: request in, reply out, closed at client EOF") {
    TempDir dir;
    auto loop = EventLoop::create();
    REQUIRE(loop);
    Echo echo;
    const std::string path = dir.path + "/echo.sock";
    auto l = UnixListener::listen(**loop, path, [&](UniqueFd fd) {
        auto c = StreamConnection::adopt(**loop, std::move(fd), echo, StreamConnection::Limits{});
        REQUIRE(c);
        echo.conn = std::move(*c);
    });
    REQUIRE(l);
    auto client = connect_unix(path, std::chrono::seconds(1));
    REQUIRE(client);
    REQUIRE(::write(client->get(), "hi\n", 3) == 3);
    for (int i = 0; i < 10 && !echo.conn; ++i)
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(20)));
    for (int i = 0; i < 5; ++i) REQUIRE((*loop)->run_once(std::chrono::milliseconds(20)));
    char buf[32] = {};
    REQUIRE(::read(client->get(), buf, sizeof buf) == 8);
    CHECK(std::string(buf) == "echo hi\n");
    ::shutdown(client->get(), SHUT_WR);
    for (int i = 0; i < 10 && !echo.closed; ++i)
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(20)));
    CHECK(echo.closed);
    CHECK(echo.conn->closed());
}

TEST_CASE("StreamConnection: pipelined requests followed by EOF all get their replies") {
    TempDir dir;
    auto loop = EventLoop::create();
    REQUIRE(loop);
    Echo echo;
    const std::string path = dir.path + "/echo.sock";
    auto l = UnixListener::listen(**loop, path, [&](UniqueFd fd) {
        auto c = StreamConnection::adopt(**loop, std::move(fd), echo, StreamConnection::Limits{});
        REQUIRE(c);
        echo.conn = std::move(*c);
    });
    REQUIRE(l);
    auto client = connect_unix(path, std::chrono::seconds(1));
    REQUIRE(client);
    REQUIRE(::write(client->get(), "a\nb\nc\n", 6) == 6);
    ::shutdown(client->get(), SHUT_WR);
    for (int i = 0; i < 20 && !echo.closed; ++i) {
        REQUIRE((*loop)->run_once(std::chrono::milliseconds(20)));
    }
    CHECK(echo.closed);
    std::string got;
    char buf[64];
    for (ssize_t n; (n = ::read(client->get(), buf, sizeof buf)) > 0;) got.append(buf, n);
    CHECK(got == "echo a\necho b\necho c\n");
}

TEST_CASE("connect_unix: kNotFound when nothing listens") {
    auto c = connect_unix("/nonexistent/tunless.sock", std::chrono::seconds(1));
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kNotFound);
}
