#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/unit/transports/transport_test_support.hpp"
#include "transports/clock.hpp"
#include "transports/event_loop.hpp"
#include "transports/watched_fd.hpp"

using namespace tunless;
using namespace tunless::io;
using namespace tunless::io::test;

namespace {

struct Pipe {
    Pipe() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
        r.reset(fds[0]);
        w.reset(fds[1]);
    }
    void put(char c = 'x') { REQUIRE(::write(w.get(), &c, 1) == 1); }
    UniqueFd r, w;
};

struct Recorder final : FdHandler {
    void on_fd_ready(int fd, std::uint32_t events) override {
        calls.push_back({fd, events});
        if (action) {
            action(fd, events);
        }
    }
    struct Call {
        int fd;
        std::uint32_t events;
    };
    std::vector<Call> calls;
    std::function<void(int, std::uint32_t)> action;
};

struct FixedDeadline final : DeadlineProvider {
    Instant next_deadline() const override { return deadline; }
    void on_timer(Instant now) override {
        fired_at.push_back(now);
        deadline = kNever;
    }
    Instant deadline = kNever;
    std::vector<Instant> fired_at;
};

// Runs rounds until `done` or the bound; each round waits at most 1 s.
template <typename Pred>
int run_until(EventLoop& loop, Pred done, int max_rounds = 50) {
    int rounds = 0;
    while (!done() && rounds < max_rounds) {
        REQUIRE(loop.run_once(std::chrono::seconds(1)));
        ++rounds;
    }
    return rounds;
}

}  // namespace

TEST_CASE("timeout_ms rounds up so a not-yet-due deadline never becomes a 0 ms spin") {
    const Instant now = Instant{} + std::chrono::hours(1);
    CHECK(EventLoop::timeout_ms(now, kNever) == -1);
    CHECK(EventLoop::timeout_ms(now, now) == 0);
    CHECK(EventLoop::timeout_ms(now, now - 5ms) == 0);
    CHECK(EventLoop::timeout_ms(now, now + 1ns) == 1);
    CHECK(EventLoop::timeout_ms(now, now + 200us) == 1);
    CHECK(EventLoop::timeout_ms(now, now + 1ms) == 1);
    CHECK(EventLoop::timeout_ms(now, now + 1001us) == 2);
    CHECK(EventLoop::timeout_ms(now, now + std::chrono::hours(24 * 365 * 100)) == INT_MAX);
}

TEST_CASE("loop timers fire in deadline order") {
    auto loop = make_loop();
    std::string order;
    loop->add_timer(6ms, [&] { order += 'c'; });
    loop->add_timer(2ms, [&] { order += 'a'; });
    loop->add_timer(4ms, [&] { order += 'b'; });
    TimerId cancelled = loop->add_timer(3ms, [&] { order += 'X'; });
    CHECK(loop->cancel_timer(cancelled));
    run_until(*loop, [&] { return order.size() == 3; });
    CHECK(order == "abc");
    CHECK(loop->next_deadline() == kNever);
}

TEST_CASE("the loop sleeps until a provider's deadline instead of spinning, never fires early") {
    auto loop = make_loop();
    FixedDeadline p;
    const Instant start = mono_now();
    p.deadline = start + 25ms;
    loop->add_deadline_provider(p);
    const auto rounds_before = loop->stats().rounds;
    const int rounds = run_until(*loop, [&] { return !p.fired_at.empty(); });
    REQUIRE(p.fired_at.size() == 1);
    CHECK(p.fired_at[0] >= start + 25ms);
    // One sleep is enough; allow one extra wakeup for scheduler slack, but no busy loop.
    CHECK(rounds <= 2);
    CHECK(loop->stats().rounds - rounds_before <= 2);
    // Idle with nothing scheduled: the loop would sleep forever (-1), not poll.
    CHECK(loop->next_deadline() == kNever);
    CHECK(EventLoop::timeout_ms(loop->now(), loop->next_deadline()) == -1);
    loop->remove_deadline_provider(p);
}

TEST_CASE("periodic loop timer repeats until cancelled") {
    auto loop = make_loop();
    int fired = 0;
    TimerId id = kNoTimer;
    id = loop->add_periodic(1ms, [&] {
        if (++fired == 3) {
            loop->cancel_timer(id);
        }
    });
    run_until(*loop, [&] { return fired == 3; });
    CHECK(fired == 3);
    CHECK(loop->next_deadline() == kNever);
}

TEST_CASE("fd readiness reaches the handler; interest changes are honoured") {
    auto loop = make_loop();
    Pipe p;
    Recorder h;
    REQUIRE(loop->add_fd(p.r.get(), kRead, h));
    CHECK_FALSE(loop->add_fd(p.r.get(), kRead, h));  // duplicate registration
    REQUIRE(loop->run_once(0ms));
    CHECK(h.calls.empty());

    p.put();
    REQUIRE(loop->run_once(1s));
    REQUIRE(h.calls.size() == 1);
    CHECK(h.calls[0].fd == p.r.get());
    CHECK(h.calls[0].events == kRead);

    // Backpressure: with kRead off the pending byte is not reported.
    REQUIRE(loop->modify_fd(p.r.get(), 0));
    CHECK(*loop->interest(p.r.get()) == 0);
    REQUIRE(loop->run_once(5ms));
    CHECK(h.calls.size() == 1);
    REQUIRE(loop->modify_fd(p.r.get(), kRead));
    REQUIRE(loop->run_once(1s));
    CHECK(h.calls.size() == 2);

    loop->remove_fd(p.r.get());
    CHECK_FALSE(loop->interest(p.r.get()));
    REQUIRE(loop->run_once(0ms));
    CHECK(h.calls.size() == 2);
    CHECK_FALSE(loop->modify_fd(p.r.get(), kRead));
}

TEST_CASE("WatchedFd leaves the loop before its fd closes, so the number can be polled again") {
    auto loop = make_loop();
    Recorder h;
    Pipe p;
    const int number = p.r.get();
    {
        WatchedFd w(*loop, std::move(p.r));
        CHECK(w.set_interest(kRead));  // not watched yet: nothing to change
        REQUIRE(w.watch(kRead, h));
        CHECK_FALSE(w.watch(kRead, h));
        REQUIRE(w.set_interest(0));
        CHECK(*loop->interest(number) == 0);
        w.reset();  // unwatch, then close
        CHECK_FALSE(w);
        CHECK_FALSE(w.watched());
        CHECK_FALSE(loop->interest(number));
        CHECK_FALSE(w.watch(kRead, h));  // no fd
    }
    // The next pipe gets the lowest free number, the one just closed.
    Pipe q;
    REQUIRE(q.r.get() == number);
    {
        WatchedFd w(*loop, std::move(q.r));
        REQUIRE(w.watch(kRead, h));
        q.put();
        REQUIRE(loop->run_once(1s));
        REQUIRE(h.calls.size() == 1);
        CHECK(h.calls[0].fd == number);
        // release() hands the fd on unwatched and still open.
        UniqueFd taken = w.release();
        CHECK(taken.get() == number);
        CHECK_FALSE(loop->interest(number));
        CHECK(::fcntl(number, F_GETFD) >= 0);
        CHECK_FALSE(w);
        q.r = std::move(taken);
    }
    {
        WatchedFd w(*loop, std::move(q.r));
        REQUIRE(w.watch(kRead, h));
    }  // the destructor unwatches too
    CHECK_FALSE(loop->interest(number));
}

TEST_CASE("write interest and hangup are reported") {
    auto loop = make_loop();
    Pipe p;
    Recorder h;
    REQUIRE(loop->add_fd(p.w.get(), kWrite, h));
    REQUIRE(loop->run_once(1s));
    REQUIRE(h.calls.size() == 1);
    CHECK(h.calls[0].events == kWrite);
    loop->remove_fd(p.w.get());

    // Reader with no interest at all still learns that the writer is gone.
    Recorder r;
    REQUIRE(loop->add_fd(p.r.get(), 0, r));
    p.w.reset();
    REQUIRE(loop->run_once(1s));
    REQUIRE(r.calls.size() == 1);
    CHECK((r.calls[0].events & kHangup) != 0);
    loop->remove_fd(p.r.get());
}

TEST_CASE("a handler removing another fd suppresses that fd's pending event this round") {
    auto loop = make_loop();
    Pipe a, b;
    Recorder ha, hb;
    REQUIRE(loop->add_fd(a.r.get(), kRead, ha));
    REQUIRE(loop->add_fd(b.r.get(), kRead, hb));
    ha.action = [&](int, std::uint32_t) { loop->remove_fd(b.r.get()); };
    hb.action = [&](int, std::uint32_t) { loop->remove_fd(a.r.get()); };
    a.put();
    b.put();
    REQUIRE(loop->run_once(1s));
    // Whichever ran first removed the other: exactly one handler ran.
    CHECK(ha.calls.size() + hb.calls.size() == 1);
}

TEST_CASE("post() runs after the dispatch round; work posted by posted work runs next round") {
    auto loop = make_loop();
    Pipe p;
    Recorder h;
    std::string log;
    h.action = [&](int, std::uint32_t) {
        log += "fd;";
        loop->post([&] {
            log += "posted;";
            loop->post([&] { log += "second;"; });
        });
        log += "fd-end;";
    };
    REQUIRE(loop->add_fd(p.r.get(), kRead, h));
    p.put();
    REQUIRE(loop->run_once(1s));
    CHECK(log == "fd;fd-end;posted;");
    // Pending posted work means the next round does not sleep even with max_wait unset.
    const Instant before = mono_now();
    REQUIRE(loop->modify_fd(p.r.get(), 0));
    REQUIRE(loop->run_once());
    CHECK(log == "fd;fd-end;posted;second;");
    CHECK(mono_now() - before < 500ms);
    loop->remove_fd(p.r.get());
}

TEST_CASE("deferred destruction through post(): the object outlives its own callback") {
    auto loop = make_loop();
    Pipe p;
    struct SelfClosing final : FdHandler {
        EventLoop* loop = nullptr;
        std::unique_ptr<SelfClosing>* owner = nullptr;
        int fd = -1;
        void on_fd_ready(int, std::uint32_t) override {
            loop->remove_fd(fd);
            loop->post([o = owner] { o->reset(); });
        }
    };
    auto obj = std::make_unique<SelfClosing>();
    obj->loop = loop.get();
    obj->owner = &obj;
    obj->fd = p.r.get();
    REQUIRE(loop->add_fd(p.r.get(), kRead, *obj));
    p.put();
    REQUIRE(loop->run_once(1s));
    CHECK(obj == nullptr);
}

TEST_CASE("request_stop ends run()") {
    auto loop = make_loop();
    int ticks = 0;
    loop->add_periodic(1ms, [&] {
        if (++ticks == 2) {
            loop->request_stop();
        }
    });
    REQUIRE(loop->run());
    CHECK(ticks == 2);
    CHECK(loop->stop_requested());
}
