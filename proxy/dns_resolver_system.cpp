// DnsResolver's system-resolver path (no DNS= servers): glibc getaddrinfo_a with SIGEV_NONE,
// completion polled with gai_error() from on_timer. glibc runs the blocking lookup on its own
// helper thread and writes only into the SystemRequest; our code never runs there.
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "proxy/dns_resolver.hpp"
#include "proxy/dns_resolver_state.hpp"
#include "transports/socket_address.hpp"

namespace tunless::proxy {

DnsResolver::~DnsResolver() {
    for (auto& [id, l] : lookups_) {
        if (l->system) orphans_.push_back(std::move(l));
    }
    lookups_.clear();
    // glibc may still write into requests it could not cancel; they are leaked on purpose
    // rather than freed under its helper thread (only at shutdown).
    for (auto& o : orphans_) {
        if (::gai_cancel(&o->system->cb) == EAI_NOTCANCELED &&
            ::gai_error(&o->system->cb) == EAI_INPROGRESS) {
            (void)o->system.release();
        } else if (o->system->cb.ar_result != nullptr) {
            ::freeaddrinfo(o->system->cb.ar_result);
        }
    }
}

// A cancelled lookup glibc still holds is kept (and polled by reap()) until glibc lets go.
void DnsResolver::cancel_system(std::unique_ptr<Lookup>& l) {
    if (::gai_cancel(&l->system->cb) == EAI_NOTCANCELED) {
        orphans_.push_back(std::move(l));
    } else if (l->system->cb.ar_result != nullptr) {
        ::freeaddrinfo(l->system->cb.ar_result);
    }
}

void DnsResolver::start_system(Lookup& l) {
    ++stats_.system_lookups;
    l.system = std::make_unique<SystemRequest>();
    auto& s = *l.system;
    const auto text = l.name.view();
    std::memcpy(s.host.data(), text.data(), text.size());
    s.hints.ai_family = l.pref == FamilyPreference::kOnlyV4   ? AF_INET
                        : l.pref == FamilyPreference::kOnlyV6 ? AF_INET6
                                                              : AF_UNSPEC;
    s.hints.ai_socktype = SOCK_STREAM;  // one entry per address
    s.cb.ar_name = s.host.data();
    s.cb.ar_request = &s.hints;
    gaicb* list[1] = {&s.cb};
    sigevent sev{};
    sev.sigev_notify = SIGEV_NONE;  // polled from on_timer (gai_error), never waited for
    if (int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, &sev); rc != 0) {
        l.system.reset();
        l.result = fail(Errc::kIo, "resolve " + l.text + ": " + ::gai_strerror(rc));
        return;
    }
    l.next_poll = clock_() + config_.system_poll_interval;
}

void DnsResolver::poll_system(Lookup& l, Instant now) {
    const int rc = ::gai_error(&l.system->cb);
    if (rc == EAI_INPROGRESS) {
        l.next_poll = now + config_.system_poll_interval;
        return;
    }
    l.next_poll = kNever;
    addrinfo* res = l.system->cb.ar_result;
    l.system->cb.ar_result = nullptr;
    std::vector<IpAddress> preferred;
    std::vector<IpAddress> other;
    const bool want_v6 =
        l.pref == FamilyPreference::kPreferV6 || l.pref == FamilyPreference::kOnlyV6;
    for (addrinfo* ai = (rc == 0 ? res : nullptr); ai != nullptr; ai = ai->ai_next) {
        auto ep = io::from_socket_address(ai->ai_addr, ai->ai_addrlen);
        if (!ep) continue;
        auto& list = ep->ip.is_v6() == want_v6 ? preferred : other;
        if (std::find(list.begin(), list.end(), ep->ip) == list.end() &&
            list.size() < dns::kMaxAddresses) {
            list.push_back(ep->ip);
        }
    }
    if (res != nullptr) ::freeaddrinfo(res);
    l.system.reset();
    if (!preferred.empty() || !other.empty()) {
        preferred.insert(preferred.end(), other.begin(), other.end());
        finish(l, std::move(preferred));
    } else if (rc == 0 || rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY) {
        finish(l, fail(Errc::kNotFound, "resolve " + l.text + ": no address"));
    } else {
        finish(l, fail(Errc::kIo, "resolve " + l.text + ": " + ::gai_strerror(rc)));
    }
}

void DnsResolver::reap() {
    for (auto it = orphans_.begin(); it != orphans_.end();) {
        auto& s = *(*it)->system;
        if (::gai_error(&s.cb) == EAI_INPROGRESS) {
            (*it)->next_poll = clock_() + config_.system_poll_interval;
            ++it;
            continue;
        }
        if (s.cb.ar_result != nullptr) ::freeaddrinfo(s.cb.ar_result);
        it = orphans_.erase(it);
    }
}

}  // namespace tunless::proxy
