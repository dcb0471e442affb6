#include "transports/timer_queue.hpp"

namespace tunless::io {

TimerId TimerQueue::add(Instant at, Callback cb, Duration period) {
    const TimerId id = next_id_++;
    by_deadline_.emplace(Key{at, id}, Entry{std::move(cb), period});
    index_.emplace(id, at);
    return id;
}

bool TimerQueue::cancel(TimerId id) {
    auto it = index_.find(id);
    if (it == index_.end()) {
        return false;
    }
    by_deadline_.erase(Key{it->second, id});
    index_.erase(it);
    return true;
}

Instant TimerQueue::next_deadline() const {
    return by_deadline_.empty() ? kNever : by_deadline_.begin()->first.first;
}

std::size_t TimerQueue::fire_due(Instant now) {
    const TimerId last_existing = next_id_ - 1;
    std::size_t fired = 0;
    auto it = by_deadline_.begin();
    while (it != by_deadline_.end() && it->first.first <= now) {
        const auto [at, id] = it->first;
        if (id > last_existing) {
            ++it;
            continue;
        }
        Entry entry = std::move(it->second);
        by_deadline_.erase(it);
        if (entry.period > Duration::zero()) {
            // Re-arm before running so the callback may cancel its own periodic timer.
            Instant next = at + entry.period;
            if (next <= now) {
                next = now + entry.period;
            }
            by_deadline_.emplace(Key{next, id}, Entry{entry.cb, entry.period});
            index_[id] = next;
        } else {
            index_.erase(id);
        }
        entry.cb();
        ++fired;
        // The callback may have added or cancelled anything: restart from the front.
        it = by_deadline_.begin();
    }
    return fired;
}

}  // namespace tunless::io
