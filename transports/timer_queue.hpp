// TimerQueue: one-shot and periodic callbacks keyed by id, ordered by deadline. Pure: it never
// reads a clock; the owner (EventLoop) passes `now`. It is for the simple, off-data-path uses
// (retry a bind, periodic stats); protocol timers use the DeadlineProvider interface instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "core/base/time.hpp"

namespace tunless::io {

using TimerId = std::uint64_t;
inline constexpr TimerId kNoTimer = 0;

class TimerQueue {
public:
    using Callback = std::function<void()>;

    // Schedules `cb` at `at`; with period > 0 it repeats every period (missed periods are
    // skipped, not replayed in a burst). Returns a non-zero id for cancel().
    TimerId add(Instant at, Callback cb, Duration period = Duration::zero());
    // True if the timer existed. Safe to call from inside a timer callback (also on itself).
    bool cancel(TimerId id);
    bool contains(TimerId id) const { return index_.count(id) != 0; }

    // Earliest deadline, kNever when empty.
    Instant next_deadline() const;
    // Runs every timer due at `now` in deadline order (ties: creation order). Timers added by a
    // callback are not run in the same call even if already due, so a callback that re-arms
    // itself with zero delay cannot starve the loop. Returns how many callbacks ran.
    std::size_t fire_due(Instant now);

    std::size_t size() const { return index_.size(); }

private:
    struct Entry {
        Callback cb;
        Duration period;
    };
    using Key = std::pair<Instant, TimerId>;

    std::map<Key, Entry> by_deadline_;
    std::unordered_map<TimerId, Instant> index_;
    TimerId next_id_ = 1;
};

}  // namespace tunless::io
