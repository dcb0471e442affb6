#include "proxy/name_resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "proxy/limits.hpp"
#include "transports/socket_address.hpp"

namespace tunless::proxy {

// One getaddrinfo_a request. glibc's helper thread writes into `cb` until gai_error() stops
// saying EAI_INPROGRESS, so an abandoned lookup that could not be cancelled is leaked on
// purpose (bounded by kMaxPendingResolves and rare) rather than freed under glibc's feet.
struct SystemResolver::Lookup {
    std::string name;
    addrinfo hints{};
    gaicb cb{};
    Callback done;
    Instant deadline;
};

SystemResolver::SystemResolver(io::EventLoop& loop) : loop_(loop) {}

SystemResolver::~SystemResolver() {
    if (timer_ != io::kNoTimer) {
        loop_.cancel_timer(timer_);
    }
    for (auto& [id, l] : lookups_) {
        if (::gai_cancel(&l->cb) == EAI_NOTCANCELED) {
            (void)l.release();
        }
    }
}

NameResolver::RequestId SystemResolver::resolve(std::string_view name, Callback cb) {
    const RequestId id = next_id_++;
    auto post_result = [this, cb](Result<std::vector<IpAddress>> r) mutable {
        loop_.post([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
    };
    if (lookups_.size() >= kMaxPendingResolves) {
        post_result(fail(Errc::kLimitReached, "too many name lookups in flight"));
        return id;
    }
    auto l = std::make_unique<Lookup>();
    l->name = std::string(name);
    l->hints.ai_family = AF_UNSPEC;
    l->hints.ai_socktype = SOCK_STREAM;
    l->cb.ar_name = l->name.c_str();
    l->cb.ar_request = &l->hints;
    l->done = std::move(cb);
    l->deadline = loop_.now() + kResolveTimeout;
    gaicb* list[1] = {&l->cb};
    if (const int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
        post_result(fail(Errc::kIo, std::string("resolve: ") + ::gai_strerror(rc)));
        return id;
    }
    lookups_.emplace(id, std::move(l));
    arm();
    return id;
}

void SystemResolver::cancel(RequestId id) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) {
        return;
    }
    if (::gai_cancel(&it->second->cb) == EAI_NOTCANCELED) {
        (void)it->second.release();
    } else if (::gai_error(&it->second->cb) == 0) {
        ::freeaddrinfo(it->second->cb.ar_result);
    }
    lookups_.erase(it);
}

void SystemResolver::arm() {
    if (timer_ == io::kNoTimer && !lookups_.empty()) {
        timer_ = loop_.add_timer(kResolvePollInterval, [this] {
            timer_ = io::kNoTimer;
            poll();
            arm();
        });
    }
}

void SystemResolver::poll() {
    std::vector<RequestId> ready;
    for (auto& [id, l] : lookups_) {
        if (::gai_error(&l->cb) != EAI_INPROGRESS || loop_.now() >= l->deadline) {
            ready.push_back(id);
        }
    }
    for (RequestId id : ready) {
        auto it = lookups_.find(id);
        if (it == lookups_.end()) {
            continue;  // cancelled by an earlier callback of this round
        }
        Lookup& l = *it->second;
        const int rc = ::gai_error(&l.cb);
        if (rc == EAI_INPROGRESS) {
            finish(id, fail(Errc::kTimedOut, "resolve " + l.name + ": timed out"));
            continue;
        }
        if (rc != 0) {
            const Errc code = (rc == EAI_NONAME || rc == EAI_NODATA) ? Errc::kNotFound : Errc::kIo;
            finish(id, fail(code, "resolve " + l.name + ": " + ::gai_strerror(rc)));
            continue;
        }
        std::vector<IpAddress> out;
        for (const addrinfo* ai = l.cb.ar_result; ai != nullptr; ai = ai->ai_next) {
            auto ep = io::from_socket_address(ai->ai_addr, ai->ai_addrlen);
            if (ep && std::find(out.begin(), out.end(), ep->ip) == out.end()) {
                out.push_back(ep->ip);
            }
        }
        ::freeaddrinfo(l.cb.ar_result);
        l.cb.ar_result = nullptr;
        if (out.empty()) {
            finish(id, fail(Errc::kNotFound, "resolve " + l.name + ": no address"));
        } else {
            finish(id, std::move(out));
        }
    }
}

void SystemResolver::finish(RequestId id, Result<std::vector<IpAddress>> result) {
    auto it = lookups_.find(id);
    std::unique_ptr<Lookup> l = std::move(it->second);
    lookups_.erase(it);
    if (!result && result.error().code == Errc::kTimedOut) {
        const int c = ::gai_cancel(&l->cb);
        if (c == EAI_NOTCANCELED) {
            Callback done = std::move(l->done);
            (void)l.release();
            done(std::move(result));
            return;
        }
        if (c == EAI_ALLDONE && ::gai_error(&l->cb) == 0) {
            ::freeaddrinfo(l->cb.ar_result);
        }
    }
    l->done(std::move(result));
}

}  // namespace tunless::proxy
