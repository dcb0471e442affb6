// Asynchronous host-name lookup for proxy targets given by name (SOCKS5 DOMAIN, HTTP host,
// forward targets). The interface lets the daemon plug in DNS over the mesh (the [Interface]
// DNS= servers) when configured; SystemResolver is the fallback that asks the host's resolver
// (/etc/hosts, resolv.conf) through io::HostResolver (getaddrinfo_a polled from a loop timer),
// so the loop never blocks. IP literals never reach a resolver.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::proxy {

class NameResolver {
public:
    using RequestId = std::uint64_t;
    // Called once, on the loop thread, never from inside resolve(). Success: at least one
    // address. Errors: kNotFound, kTimedOut, kLimitReached, kIo.
    using Callback = std::function<void(Result<std::vector<IpAddress>> addresses)>;

    virtual ~NameResolver() = default;
    virtual RequestId resolve(std::string_view name, Callback cb) = 0;
    // The callback of `id` will not run. Unknown/finished ids are ignored.
    virtual void cancel(RequestId id) = 0;
};

// The host's resolver through io::HostResolver (getaddrinfo_a, polled every
// kResolvePollInterval while lookups are pending). At most kMaxPendingResolves lookups (more:
// kLimitReached), each abandoned after kResolveTimeout.
class SystemResolver final : public NameResolver {
public:
    // `loop` must outlive the resolver.
    explicit SystemResolver(io::EventLoop& loop);

    RequestId resolve(std::string_view name, Callback cb) override {
        return resolver_.submit(name, {}, std::move(cb));
    }
    void cancel(RequestId id) override { resolver_.cancel(id); }
    std::size_t pending() const { return resolver_.in_flight(); }

private:
    io::HostResolver resolver_;
};

}  // namespace tunless::proxy
