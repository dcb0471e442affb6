// API misuse that netstack turns into an immediate abort (our bugs, failure class 3): each case
// runs in a forked child, so the shared Stack of this process is untouched.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using net::UdpSocket;

// True when `body` aborts (SIGABRT) in a child process.
bool aborts(const std::function<void()>& body) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGABRT, SIG_DFL);  // not doctest's crash reporter
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        body();
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace

TEST_CASE("misuse: a second Stack per process aborts") {
    auto& env = NetEnv::get();
    CHECK(aborts([&] {
        net::StackConfig config;
        config.addresses = {*IpAddress::parse("10.9.0.1")};
        (void)net::Stack::create(config, env.sink, env.rng, env.clock.now_mono());
    }));
}

TEST_CASE("misuse: calling back into lwIP from the egress hook aborts") {
    auto& env = NetEnv::get();
    RecordingUdpHandler handler;
    auto s = UdpSocket::bind(*env.stack, 5401, handler);
    REQUIRE(s.has_value());
    UdpSocket& sock = *s.value();
    const Bytes ping = ip::echo_request(env.peer4, env.addr4, 1, 1, text("x"));
    SUBCASE("inject from the egress") {
        CHECK(aborts([&] {
            env.sink.hook = [&] { (void)env.inject(ping); };
            (void)sock.send_to(env.peer4, 1, text("x"));
        }));
    }
    SUBCASE("send from the egress") {
        CHECK(aborts([&] {
            env.sink.hook = [&] { (void)sock.send_to(env.peer4, 1, text("again")); };
            (void)env.inject(ping);
        }));
    }
    SUBCASE("control: the same calls outside the egress are fine") {
        CHECK_FALSE(aborts([&] {
            (void)sock.send_to(env.peer4, 1, text("x"));
            (void)env.inject(ping);
        }));
    }
    env.sink.packets.clear();
}

TEST_CASE("misuse: inject() from inside a netstack callback aborts") {
    auto& env = NetEnv::get();
    RecordingUdpHandler handler;
    auto s = UdpSocket::bind(*env.stack, 5402, handler);
    REQUIRE(s.has_value());
    handler.hook = [&](UdpSocket&, const net::UdpDatagramInfo&) {
        (void)env.inject(ip::echo_request(env.peer4, env.addr4, 1, 1, {}));
    };
    CHECK(aborts([&] {
        (void)env.inject(ip::udp_packet(env.peer4, env.addr4, 1, 5402, text("x")));
    }));
}

TEST_CASE("misuse: destroying a connection inside its own callback aborts") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    RecordingTcpHandler handler;
    RecordingAcceptHandler acceptor;
    acceptor.handler = &handler;
    net::TcpListener::Options options;
    options.port = 8101;
    auto l = net::TcpListener::listen(*env.stack, options, acceptor);
    REQUIRE(l.has_value());
    ScriptedPeer peer(env.peer4, 41001, env.addr4, 8101);
    peer.handshake();
    REQUIRE(acceptor.accepted.size() == 1);
    handler.on_readable_hook = [&](net::TcpConnection&) { acceptor.accepted.clear(); };
    CHECK(aborts([&] { peer.send(ip::kAck | ip::kPsh, text("boom")); }));
    handler.on_readable_hook = nullptr;
}

TEST_CASE("misuse: using the Stack from another thread aborts") {
    auto& env = NetEnv::get();
    CHECK(aborts([&] {
        std::thread other([&] { env.stack->on_timer(env.clock.now_mono()); });
        other.join();
    }));
}

}  // namespace tunless::test
