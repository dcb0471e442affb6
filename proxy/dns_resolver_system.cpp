// DnsResolver's system-resolver path (no DNS= servers): the lookup goes to io::HostResolver
// (glibc getaddrinfo_a, polled from a loop timer); its answer is ordered by the preferred
// family and handed to the caller from on_timer, like a mesh answer.
#include <algorithm>

#include "proxy/dns_resolver.hpp"
#include "proxy/dns_resolver_state.hpp"

namespace tunless::proxy {

// system_ is destroyed first (last member): it drops its callbacks and keeps or leaks what
// glibc still runs.
DnsResolver::~DnsResolver() = default;

void DnsResolver::start_system(Lookup& l) {
    if (!system_) {
        finish(l, fail(Errc::kUnsupported, "resolve " + l.text + ": no system resolver"));
        return;
    }
    ++stats_.system_lookups;
    const io::HostFamily family = l.pref == FamilyPreference::kOnlyV4   ? io::HostFamily::kV4
                                  : l.pref == FamilyPreference::kOnlyV6 ? io::HostFamily::kV6
                                                                        : io::HostFamily::kAny;
    l.system_id = system_->submit(l.name.view(), {.family = family},
                                  [this, id = l.id](Result<std::vector<IpAddress>> r) {
                                      on_system_answer(id, std::move(r));
                                  });
}

void DnsResolver::on_system_answer(Id id, Result<std::vector<IpAddress>> result) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;
    Lookup& l = *it->second;
    l.system_id = 0;
    if (!result) {
        finish(l, fail(result.error().code, "resolve " + result.error().message));
        return;
    }
    // The preferred family first, at most dns::kMaxAddresses of each.
    const bool want_v6 =
        l.pref == FamilyPreference::kPreferV6 || l.pref == FamilyPreference::kOnlyV6;
    std::vector<IpAddress> preferred;
    std::vector<IpAddress> other;
    for (const IpAddress& ip : *result) {
        auto& list = ip.is_v6() == want_v6 ? preferred : other;
        if (list.size() < dns::kMaxAddresses) list.push_back(ip);
    }
    preferred.insert(preferred.end(), other.begin(), other.end());
    finish(l, std::move(preferred));
}

}  // namespace tunless::proxy
