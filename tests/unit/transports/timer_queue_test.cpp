#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "transports/timer_queue.hpp"

using namespace tunless;
using namespace tunless::io;

namespace {
const Instant kT0 = Instant{} + std::chrono::hours(1);
}

TEST_CASE("timers fire in deadline order, ties in creation order") {
    TimerQueue q;
    std::string order;
    q.add(kT0 + 30ms, [&] { order += 'c'; });
    q.add(kT0 + 10ms, [&] { order += 'a'; });
    q.add(kT0 + 20ms, [&] { order += 'b'; });
    q.add(kT0 + 20ms, [&] { order += 'B'; });
    CHECK(q.next_deadline() == kT0 + 10ms);
    CHECK(q.fire_due(kT0 + 9ms) == 0);
    CHECK(q.fire_due(kT0 + 20ms) == 3);
    CHECK(order == "abB");
    CHECK(q.next_deadline() == kT0 + 30ms);
    CHECK(q.fire_due(kT0 + 1s) == 1);
    CHECK(order == "abBc");
    CHECK(q.next_deadline() == kNever);
    CHECK(q.size() == 0);
}

TEST_CASE("cancel removes a timer, also from inside another callback") {
    TimerQueue q;
    int fired = 0;
    TimerId second = kNoTimer;
    q.add(kT0 + 1ms, [&] {
        CHECK(q.cancel(second));
        ++fired;
    });
    second = q.add(kT0 + 2ms, [&] { ++fired; });
    TimerId third = q.add(kT0 + 3ms, [&] { ++fired; });
    CHECK(q.cancel(third));
    CHECK_FALSE(q.cancel(third));
    CHECK(q.fire_due(kT0 + 10ms) == 1);
    CHECK(fired == 1);
    CHECK(q.size() == 0);
}

TEST_CASE("periodic timers repeat and skip missed periods instead of bursting") {
    TimerQueue q;
    int fired = 0;
    TimerId id = q.add(
        kT0 + 10ms, [&] { ++fired; }, 10ms);
    CHECK(q.fire_due(kT0 + 10ms) == 1);
    CHECK(q.next_deadline() == kT0 + 20ms);
    // Late by 5 periods: one call, next deadline one period after now.
    CHECK(q.fire_due(kT0 + 65ms) == 1);
    CHECK(fired == 2);
    CHECK(q.next_deadline() == kT0 + 75ms);
    CHECK(q.contains(id));
    CHECK(q.cancel(id));
    CHECK(q.next_deadline() == kNever);
}

TEST_CASE("a periodic timer can cancel itself") {
    TimerQueue q;
    int fired = 0;
    TimerId id = kNoTimer;
    id = q.add(
        kT0,
        [&] {
            ++fired;
            q.cancel(id);
        },
        1ms);
    CHECK(q.fire_due(kT0 + 5ms) == 1);
    CHECK(q.fire_due(kT0 + 50ms) == 0);
    CHECK(fired == 1);
}

TEST_CASE("a timer added by a callback does not run in the same pass even if due") {
    TimerQueue q;
    int inner = 0;
    q.add(kT0, [&] { q.add(kT0, [&] { ++inner; }); });
    CHECK(q.fire_due(kT0) == 1);
    CHECK(inner == 0);
    CHECK(q.fire_due(kT0) == 1);
    CHECK(inner == 1);
}
