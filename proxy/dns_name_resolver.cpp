#include "proxy/dns_name_resolver.hpp"

#include <utility>
#include <vector>

namespace tunless::proxy {

NameResolver::RequestId DnsNameResolver::resolve(std::string_view name, Callback cb) {
    const RequestId id = next_id_++;
    auto handle = resolver_.resolve_all(
        name, pref_, [this, id, cb = std::move(cb)](Result<std::vector<IpAddress>> r) {
            pending_.erase(id);  // the lookup is over: its Handle has nothing left to cancel
            cb(std::move(r));
        });
    pending_.emplace(id, std::move(handle));
    return id;
}

}  // namespace tunless::proxy
