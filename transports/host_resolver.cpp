#include "transports/host_resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>
#include <string>

#include "transports/socket_address.hpp"

namespace tunless::io {

// One request. Heap-allocated and never moved: glibc's helper thread writes into `cb` until
// gai_error() stops saying EAI_INPROGRESS, so a request it will not cancel is kept (orphans_,
// counted against max_in_flight, freed by reap()) rather than freed under its feet.
struct HostResolver::Lookup {
    std::string name;
    addrinfo hints{};
    gaicb cb{};
    Callback done;
    Instant deadline{};
    bool started = false;                                  // getaddrinfo_a accepted it
    std::optional<Result<std::vector<IpAddress>>> early;  // refused: delivered by poll()
};

HostResolver::HostResolver(EventLoop& loop, HostResolverConfig config)
    : loop_(loop), config_(config) {}

HostResolver::~HostResolver() {
    if (timer_ != kNoTimer) loop_.cancel_timer(timer_);
    free_finished(outliving());
    // A request glibc cannot cancel must outlive us: its helper thread still writes into `cb`.
    auto drop = [](std::unique_ptr<Lookup>& l) {
        if (!l->started) return;
        if (::gai_cancel(&l->cb) == EAI_NOTCANCELED && ::gai_error(&l->cb) == EAI_INPROGRESS) {
            l->done = nullptr;
            outliving().push_back(std::move(l));
        } else if (::gai_error(&l->cb) == 0 && l->cb.ar_result != nullptr) {
            ::freeaddrinfo(l->cb.ar_result);
        }
    };
    for (auto& [id, l] : lookups_) drop(l);
    for (auto& o : orphans_) drop(o);
}

HostResolver::LookupList& HostResolver::outliving() {
    // Never destroyed: glibc's threads may still write into these while the process exits.
    static auto* list = new LookupList();
    return *list;
}

HostResolver::RequestId HostResolver::submit(std::string_view name, HostQuery query,
                                             Callback cb) {
    const RequestId id = next_id_++;
    auto l = std::make_unique<Lookup>();
    l->name = std::string(name);
    l->done = std::move(cb);
    if (in_flight() >= config_.max_in_flight) {
        ++stats_.refused_busy;
        l->early = fail(Errc::kLimitReached, l->name + ": too many lookups in flight");
    } else {
        l->hints.ai_family = query.family == HostFamily::kV4   ? AF_INET
                             : query.family == HostFamily::kV6 ? AF_INET6
                                                               : AF_UNSPEC;
        l->hints.ai_socktype =
            query.socket_type == HostSocketType::kDatagram ? SOCK_DGRAM : SOCK_STREAM;
        l->cb.ar_name = l->name.c_str();
        l->cb.ar_request = &l->hints;
        l->deadline = config_.timeout == Duration::max() ? kNever : loop_.now() + config_.timeout;
        gaicb* list[1] = {&l->cb};
        if (const int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
            ++stats_.failures;
            l->early = fail(Errc::kIo, l->name + ": " + ::gai_strerror(rc));
        } else {
            l->started = true;
            ++active_;
            ++stats_.lookups;
        }
    }
    const bool now = l->early.has_value();
    lookups_.emplace(id, std::move(l));
    if (now && timer_ != kNoTimer) {
        loop_.cancel_timer(timer_);
        timer_ = kNoTimer;
    }
    arm(now ? Duration::zero() : config_.poll_interval);
    return id;
}

void HostResolver::cancel(RequestId id) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;
    ++stats_.cancelled;
    if (it->second->started) --active_;
    release(it->second);
    lookups_.erase(it);
}

void HostResolver::arm(Duration delay) {
    if (timer_ != kNoTimer || (lookups_.empty() && orphans_.empty())) return;
    timer_ = loop_.add_timer(delay, [this] {
        timer_ = kNoTimer;
        poll();
        arm(config_.poll_interval);
    });
}

void HostResolver::poll() {
    const Instant now = loop_.now();
    std::vector<RequestId> ready;
    for (auto& [id, l] : lookups_) {
        if (!l->started || ::gai_error(&l->cb) != EAI_INPROGRESS || now >= l->deadline) {
            ready.push_back(id);
        }
    }
    for (RequestId id : ready) {
        auto it = lookups_.find(id);
        if (it == lookups_.end()) continue;  // cancelled by an earlier callback of this round
        std::unique_ptr<Lookup> l = std::move(it->second);
        lookups_.erase(it);
        if (l->started) --active_;
        Result<std::vector<IpAddress>> result = outcome(*l);
        Callback done = std::move(l->done);
        release(l);
        done(std::move(result));
    }
    reap();
}

void HostResolver::reap() {
    free_finished(orphans_);
    free_finished(outliving());
}

void HostResolver::free_finished(LookupList& list) {
    for (auto it = list.begin(); it != list.end();) {
        if (::gai_error(&(*it)->cb) == EAI_INPROGRESS) {
            ++it;
            continue;
        }
        if ((*it)->cb.ar_result != nullptr) ::freeaddrinfo((*it)->cb.ar_result);
        it = list.erase(it);
    }
}

// The finished (or timed out) lookup's answer; frees glibc's list.
Result<std::vector<IpAddress>> HostResolver::outcome(Lookup& l) {
    if (l.early) return std::move(*l.early);
    const int rc = ::gai_error(&l.cb);
    if (rc == EAI_INPROGRESS) {
        ++stats_.timeouts;
        ++stats_.failures;
        return fail(Errc::kTimedOut, l.name + ": timed out");
    }
    if (rc != 0) {
        ++stats_.failures;
        const bool none = rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY;
        return fail(none ? Errc::kNotFound : Errc::kIo, l.name + ": " + ::gai_strerror(rc));
    }
    std::vector<IpAddress> out;
    for (const addrinfo* ai = l.cb.ar_result; ai != nullptr; ai = ai->ai_next) {
        auto ep = from_socket_address(ai->ai_addr, ai->ai_addrlen);
        if (ep && std::find(out.begin(), out.end(), ep->ip) == out.end()) out.push_back(ep->ip);
    }
    ::freeaddrinfo(l.cb.ar_result);
    l.cb.ar_result = nullptr;
    if (out.empty()) {
        ++stats_.failures;
        return fail(Errc::kNotFound, l.name + ": no address");
    }
    ++stats_.resolved;
    return out;
}

// Hands a request back: cancelled if glibc still runs it (kept in orphans_ if it cannot be),
// its answer freed if it finished unread.
void HostResolver::release(std::unique_ptr<Lookup>& l) {
    if (!l->started) return;
    if (::gai_cancel(&l->cb) == EAI_NOTCANCELED) {
        l->done = nullptr;
        orphans_.push_back(std::move(l));
        arm(config_.poll_interval);
        return;
    }
    if (::gai_error(&l->cb) == 0 && l->cb.ar_result != nullptr) {
        ::freeaddrinfo(l->cb.ar_result);
        l->cb.ar_result = nullptr;
    }
}

}  // namespace tunless::io
