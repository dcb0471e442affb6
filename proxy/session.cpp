#include "proxy/session.hpp"

#include <fmt/format.h>

#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tunless::proxy {

void ListenerStats::reject(const char* reason) {
    ++rejected;
    for (auto& [known, count] : reasons) {
        if (known == nullptr) {
            known = reason;
        }
        if (std::strcmp(known, reason) == 0) {
            ++count;
            return;
        }
    }
    reasons.back().first = "other";  // table full: the last slot absorbs the rest
    ++reasons.back().second;
}

std::string ListenerStats::to_line() const {
    std::string line = fmt::format(
        "{}: active={} total={} refused={} failed={} rejected={} to_mesh={} to_host={}", name,
        active, total, refused, failed, rejected, traffic.to_mesh, traffic.to_host);
    if (rejected != 0) {
        line += " rejects:";
        for (const auto& [reason, count] : reasons) {
            if (reason != nullptr) {
                line += fmt::format(" {}={}", reason, count);
            }
        }
    }
    return line;
}

SessionTable::SessionTable(io::EventLoop& loop, ListenerStats& stats, std::uint32_t max_sessions)
    : loop_(loop),
      stats_(stats),
      max_(max_sessions == 0 ? kDefaultMaxConnections : max_sessions),
      alive_(std::make_shared<bool>(true)) {}

SessionTable::~SessionTable() {
    *alive_ = false;
    if (tick_timer_ != io::kNoTimer) {
        loop_.cancel_timer(tick_timer_);
    }
    dead_.clear();
    live_.clear();
}

Session& SessionTable::add(std::unique_ptr<Session> session, bool refusing) {
    Session& s = *session;
    live_.emplace(&s, Entry{std::move(session), refusing});
    if (refusing) {
        ++refusing_;
    } else {
        ++active_;
        ++stats_.active;
        ++stats_.total;
    }
    if (tick_timer_ == io::kNoTimer) {
        tick_timer_ = loop_.add_periodic(kSweepInterval, [this] { tick(); });
    }
    return s;
}

SessionTable::Admission SessionTable::admission(const std::string& who, bool can_answer) {
    if (!full()) {
        return Admission::kAdmitted;
    }
    ++stats_.refused;
    if (refusal_log_.allow(loop_.now())) {
        log::warn("{}: {} connections (MaxConnections), refusing {}", stats_.name, max_, who);
    }
    return can_answer && refusing_ < kMaxRefusingSessions ? Admission::kRefuse
                                                          : Admission::kReset;
}

void SessionTable::finish(Session& session) {
    auto it = live_.find(&session);
    if (it == live_.end()) {
        return;
    }
    if (it->second.refusing) {
        --refusing_;
    } else {
        --active_;
        --stats_.active;
    }
    dead_.push_back(std::move(it->second.session));
    live_.erase(it);
    if (!reap_posted_) {
        reap_posted_ = true;
        loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
            if (auto a = alive.lock(); a && *a) {
                reap();
            }
        });
    }
}

void SessionTable::reap() {
    reap_posted_ = false;
    std::vector<std::unique_ptr<Session>> batch;
    batch.swap(dead_);
    batch.clear();  // destructors may finish() others: they land in the fresh dead_
    if (live_.empty() && tick_timer_ != io::kNoTimer) {
        loop_.cancel_timer(tick_timer_);
        tick_timer_ = io::kNoTimer;
#if defined(__GLIBC__)
        // The listener went idle: hand the freed pbuf/segment memory of its connections back
        // to the system (glibc keeps freed heap otherwise; RSS would stay at the peak).
        ::malloc_trim(0);
#endif
    }
}

void SessionTable::tick() {
    std::vector<Session*> snapshot;
    snapshot.reserve(live_.size());
    for (auto& [ptr, entry] : live_) {
        snapshot.push_back(ptr);
    }
    const Instant now = loop_.now();
    for (Session* s : snapshot) {
        if (live_.count(s) != 0) {
            s->on_tick(now);
        }
    }
}

void SessionTable::abort_all() {
    std::vector<Session*> snapshot;
    for (auto& [ptr, entry] : live_) {
        snapshot.push_back(ptr);
    }
    for (Session* s : snapshot) {
        if (live_.count(s) != 0) {
            s->abort();
        }
    }
}

}  // namespace tunless::proxy
