// HostResolver: asynchronous host name -> addresses through the system resolver (/etc/hosts,
// resolv.conf) with glibc getaddrinfo_a(GAI_NOWAIT), completion polled with gai_error() from a
// loop timer while lookups are pending, so the loop never blocks (glibc runs the blocking part
// on its own helper thread and writes only into our request). Not a DNS client, no cache.
// Used by app::EndpointRefresher (peer Endpoint names) and proxy::SystemResolver (proxy
// targets by name). For a blocking lookup at config load see transports/resolver.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "transports/event_loop.hpp"

namespace tunless::io {

enum class HostFamily : std::uint8_t { kAny, kV4, kV6 };
// getaddrinfo returns one entry per address and socket type; the type only avoids duplicates.
enum class HostSocketType : std::uint8_t { kStream, kDatagram };

struct HostQuery {
    HostFamily family = HostFamily::kAny;
    HostSocketType socket_type = HostSocketType::kStream;
};

struct HostResolverConfig {
    Duration poll_interval = std::chrono::milliseconds(5);
    // A lookup still running then is abandoned; Duration::max(): never (glibc's own resolver
    // timeouts from resolv.conf still apply).
    Duration timeout = std::chrono::seconds(5);
    std::size_t max_in_flight = 64;  // getaddrinfo_a requests glibc holds; more: kLimitReached
};

struct HostResolverStats {
    std::uint64_t lookups = 0;       // getaddrinfo_a requests started
    std::uint64_t resolved = 0;      // answered with at least one address
    std::uint64_t failures = 0;      // ended with an error (timeouts included)
    std::uint64_t timeouts = 0;      // abandoned after config.timeout
    std::uint64_t refused_busy = 0;  // refused: max_in_flight reached
    std::uint64_t cancelled = 0;     // cancelled before their callback ran
};

class HostResolver {
public:
    using RequestId = std::uint64_t;
    // Runs once, on the loop thread, never inside submit(); not after cancel() or destruction.
    // Success: at least one address, deduplicated, resolver order. Errors: kNotFound (no such
    // name / no address of the family), kTimedOut, kLimitReached (too many in flight), kIo.
    using Callback = std::function<void(Result<std::vector<IpAddress>>)>;

    // `loop` must outlive the resolver.
    HostResolver(EventLoop& loop, HostResolverConfig config);
    ~HostResolver();
    HostResolver(const HostResolver&) = delete;
    HostResolver& operator=(const HostResolver&) = delete;

    RequestId submit(std::string_view name, HostQuery query, Callback cb);
    // The callback of `id` will not run. Unknown or finished ids are ignored.
    void cancel(RequestId id);

    // Requests glibc still holds, abandoned ones (cancelled or timed out while running) too.
    std::size_t in_flight() const { return active_ + orphans_.size(); }
    std::size_t orphans() const { return orphans_.size(); }
    const HostResolverStats& stats() const { return stats_; }
    const HostResolverConfig& config() const { return config_; }

private:
    struct Lookup;
    void arm(Duration delay);
    void poll();
    Result<std::vector<IpAddress>> outcome(Lookup& l);
    void release(std::unique_ptr<Lookup>& l);
    void reap();
    using LookupList = std::vector<std::unique_ptr<Lookup>>;
    static void free_finished(LookupList& list);
    // Requests glibc still ran when their resolver was destroyed (shutdown, reload): owned
    // here, process-wide, until a later resolver finds them finished.
    static LookupList& outliving();

    EventLoop& loop_;
    HostResolverConfig config_;
    std::map<RequestId, std::unique_ptr<Lookup>> lookups_;  // refused ones too; id order
    LookupList orphans_;  // abandoned while glibc still runs them
    std::size_t active_ = 0;                        // started ones in lookups_
    RequestId next_id_ = 1;
    TimerId timer_ = kNoTimer;
    HostResolverStats stats_;
};

}  // namespace tunless::io
