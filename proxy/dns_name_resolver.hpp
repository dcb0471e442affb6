// DnsNameResolver: proxy::NameResolver (the interface the SOCKS5/HTTP servers and TCP forwards
// call) implemented by DnsResolver, so names resolve over the mesh when [Interface] DNS= is set
// and through the system resolver otherwise. Returns every address DnsResolver found, in
// the configured family preference, preferred family first. Owned by the daemon next to the
// DnsResolver.
#pragma once

#include <map>
#include <string_view>

#include "proxy/dns_resolver.hpp"
#include "proxy/name_resolver.hpp"

namespace tunless::proxy {

class DnsNameResolver final : public NameResolver {
public:
    // `resolver` must outlive this adapter.
    DnsNameResolver(DnsResolver& resolver, FamilyPreference pref)
        : resolver_(resolver), pref_(pref) {}

    RequestId resolve(std::string_view name, Callback cb) override;
    void cancel(RequestId id) override { pending_.erase(id); }

private:
    DnsResolver& resolver_;
    FamilyPreference pref_;
    RequestId next_id_ = 1;
    std::map<RequestId, DnsResolver::Handle> pending_;  // destroying a Handle cancels the lookup
};

}  // namespace tunless::proxy
