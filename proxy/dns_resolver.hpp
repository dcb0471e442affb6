// DnsResolver: asynchronous, non-blocking name -> address lookups for the proxy services
// (SOCKS5 domain targets, HTTP proxy hosts, forward targets given by name). With `DNS=` servers
// configured it is a stub resolver that queries them OVER THE MESH (net::UdpSocket, A/AAAA,
// random ID and source port per query, retries, strict response checks, bounded cache and
// in-flight count). Without servers it uses the system resolver through io::HostResolver
// (glibc getaddrinfo_a, polled from a loop timer; answers are handed out from on_timer).
// IP literals short-circuit. Not a recursive resolver, no TCP fallback (a TC
// answer fails the lookup), no search domains. Owned by the daemon; registered with the loop
// as a DeadlineProvider. Callbacks always run from on_timer(), never inside resolve().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::net {
class Stack;
}

namespace tunless::proxy {

enum class FamilyPreference : std::uint8_t { kPreferV4, kPreferV6, kOnlyV4, kOnlyV6 };

struct DnsResolverConfig {
    std::vector<IpAddress> servers;  // [Interface] DNS=; empty: system resolver
    std::uint16_t server_port = 53;
    Duration attempt_timeout = std::chrono::seconds(2);
    int attempts = 3;                // per query, rotating over the servers
    std::size_t max_in_flight = 64;  // lookups (each up to one A + one AAAA query)
    std::size_t max_cache_entries = 256;
    std::uint32_t max_ttl_s = 300;     // cache TTL cap
    std::uint32_t negative_ttl_s = 5;  // NXDOMAIN / no address cached this long
    Duration system_poll_interval = std::chrono::milliseconds(5);
};

struct DnsResolverStats {
    std::uint64_t lookups = 0;   // resolve() calls that needed a name lookup
    std::uint64_t literals = 0;  // IP literals answered without lookup
    std::uint64_t cache_hits = 0;
    std::uint64_t queries_sent = 0;    // DNS datagrams sent over the mesh (incl. retries)
    std::uint64_t responses = 0;       // accepted responses
    std::uint64_t bad_responses = 0;   // dropped: wrong source, ID, question, malformed
    std::uint64_t timeouts = 0;        // queries that used up all attempts
    std::uint64_t failures = 0;        // lookups that ended with an error
    std::uint64_t refused_busy = 0;    // resolve() refused: max_in_flight reached
    std::uint64_t system_lookups = 0;  // getaddrinfo_a requests
    std::size_t in_flight = 0;
    std::size_t cache_entries = 0;
};

class DnsResolver final : public io::DeadlineProvider {
public:
    using Callback = std::function<void(Result<IpAddress>)>;
    using AllCallback = std::function<void(Result<std::vector<IpAddress>>)>;
    using Clock = std::function<Instant()>;
    using Id = std::uint64_t;

    // Cancels the lookup when destroyed (the requester went away): the callback never runs.
    class Handle {
    public:
        Handle() = default;
        Handle(DnsResolver* r, Id id) : resolver_(r), id_(id) {}
        Handle(Handle&& o) noexcept : resolver_(o.resolver_), id_(o.id_) { o.resolver_ = nullptr; }
        Handle& operator=(Handle&& o) noexcept;
        ~Handle() { cancel(); }
        void cancel();
        bool active() const { return resolver_ != nullptr; }

    private:
        DnsResolver* resolver_ = nullptr;
        Id id_ = 0;
    };

    // `stack` may be null only when config.servers is empty; `loop` (for the system resolver)
    // only when it is not (without it, names then fail with kUnsupported). `stack`, `rng`,
    // `loop` must outlive this; every Handle must be gone before the resolver is destroyed.
    DnsResolver(DnsResolverConfig config, net::Stack* stack, Rng& rng, Clock clock,
                io::EventLoop* loop = nullptr);
    ~DnsResolver() override;
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // Resolves `name` (an IP literal or a host name) to one address of the wanted family. The
    // callback runs later, from on_timer(), exactly once unless the Handle is destroyed or
    // cancelled first. Errors: kInvalidArgument (not a host name), kNotFound (NXDOMAIN, no
    // address), kTimedOut, kLimitReached (too many lookups), kProtocol (truncated/SERVFAIL).
    [[nodiscard]] Handle resolve(std::string_view name, FamilyPreference pref, Callback cb);
    // Like resolve(), but every address found (never empty on success), the preferred family
    // first (with DNS= servers: the other family only if its answer was already in), for
    // callers that pick among them (e.g. the first address the mesh routes).
    [[nodiscard]] Handle resolve_all(std::string_view name, FamilyPreference pref, AllCallback cb);

    Instant next_deadline() const override;
    void on_timer(Instant now) override;

    DnsResolverStats stats() const;
    bool uses_mesh() const { return !config_.servers.empty(); }

private:
    struct Lookup;
    struct Query;
    struct CacheEntry;
    class QuerySocket;
    friend class QuerySocket;

    void cancel(Id id);
    Id add_lookup(std::unique_ptr<Lookup> lookup);
    void start_mesh(Lookup& l);
    void start_system(Lookup& l);
    bool send_attempt(Lookup& l, Query& q);
    void on_response(Lookup& l, Query& q, ByteView payload);
    void decide(Lookup& l);
    static std::vector<IpAddress> collect(const Lookup& l, std::size_t first);
    void finish(Lookup& l, Result<std::vector<IpAddress>> result);
    void on_system_answer(Id id, Result<std::vector<IpAddress>> result);
    void cache_store(const std::string& key, std::vector<IpAddress> addrs, std::uint32_t ttl_s,
                     Instant now);

    DnsResolverConfig config_;
    net::Stack* stack_;
    Rng& rng_;
    Clock clock_;
    Id next_id_ = 1;
    std::map<Id, std::unique_ptr<Lookup>> lookups_;
    std::map<std::string, CacheEntry> cache_;
    std::list<std::string> cache_order_;  // insertion order, oldest first (eviction)
    std::size_t next_server_ = 0;
    bool has_ready_ = false;
    DnsResolverStats stats_;
    std::unique_ptr<io::HostResolver> system_;  // last: destroyed first, drops its callbacks
};

}  // namespace tunless::proxy
