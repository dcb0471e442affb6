#include <doctest/doctest.h>

#include <signal.h>

#include "transports/event_loop.hpp"

using namespace tunless;
using namespace tunless::io;

TEST_CASE("SIGTERM through signalfd stops the loop; SIGHUP and SIGUSR1 call their handlers") {
    auto created = EventLoop::create();
    REQUIRE(created);
    EventLoop& loop = **created;
    int reloads = 0;
    int status = 0;
    int stop_sig = 0;
    REQUIRE(
        loop.enable_signals({[&] { ++reloads; }, [&](int s) { stop_sig = s; }, [&] { ++status; }}));
    CHECK_FALSE(loop.enable_signals({}));

    // Blocked signals stay pending and show up as signalfd readiness, not as async handlers.
    REQUIRE(::raise(SIGHUP) == 0);
    REQUIRE(::raise(SIGUSR1) == 0);
    REQUIRE(loop.run_once(std::chrono::seconds(1)));
    CHECK(reloads == 1);
    CHECK(status == 1);
    CHECK_FALSE(loop.stop_requested());

    REQUIRE(::raise(SIGTERM) == 0);
    REQUIRE(loop.run());  // returns because SIGTERM requested a stop
    CHECK(stop_sig == SIGTERM);
    CHECK(loop.stats().signals == 3);
}

TEST_CASE("destroying the loop restores the signal mask") {
    {
        auto loop = EventLoop::create();
        REQUIRE(loop);
        REQUIRE((*loop)->enable_signals({}));
        sigset_t now;
        REQUIRE(::sigprocmask(SIG_BLOCK, nullptr, &now) == 0);
        CHECK(sigismember(&now, SIGTERM) == 1);
    }
    sigset_t after;
    REQUIRE(::sigprocmask(SIG_BLOCK, nullptr, &after) == 0);
    CHECK(sigismember(&after, SIGTERM) == 0);
    CHECK(sigismember(&after, SIGHUP) == 0);
}
