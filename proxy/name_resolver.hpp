// Asynchronous host-name lookup for proxy targets given by name (SOCKS5 DOMAIN, HTTP host,
// forward targets). The interface lets the daemon plug in DNS over the mesh (the [Interface]
// DNS= servers) when configured; SystemResolver is the fallback that asks the host's resolver
// (/etc/hosts, resolv.conf) through glibc's getaddrinfo_a, polled from a loop timer, so the
// loop never blocks. IP literals never reach a resolver.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "transports/event_loop.hpp"

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

// getaddrinfo_a(GAI_NOWAIT) per lookup, completion checked every kResolvePollInterval while
// lookups are pending (no signals, no threads of ours; glibc runs its own helper thread for
// the blocking part). At most kMaxPendingResolves lookups, each abandoned after
// kResolveTimeout.
class SystemResolver final : public NameResolver {
public:
    // `loop` must outlive the resolver.
    explicit SystemResolver(io::EventLoop& loop);
    ~SystemResolver() override;
    SystemResolver(const SystemResolver&) = delete;
    SystemResolver& operator=(const SystemResolver&) = delete;

    RequestId resolve(std::string_view name, Callback cb) override;
    void cancel(RequestId id) override;
    std::size_t pending() const { return lookups_.size(); }

private:
    struct Lookup;
    void poll();
    void arm();
    void finish(RequestId id, Result<std::vector<IpAddress>> result);

    io::EventLoop& loop_;
    std::unordered_map<RequestId, std::unique_ptr<Lookup>> lookups_;
    RequestId next_id_ = 1;
    io::TimerId timer_ = io::kNoTimer;
};

}  // namespace tunless::proxy
