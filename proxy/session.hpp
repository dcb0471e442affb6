// What every TCP service (SOCKS5, HTTP proxy, forwards) shares: the ServiceContext of
// borrowed daemon parts, per-listener counters (the status line), and the SessionTable that
// owns a listener's live sessions, enforces MaxConnections (with a protocol-level refusal
// where the protocol has one), checks their deadlines once a second, and destroys finished
// sessions from a posted task (never inside a callback: engineering notes §7.3.6).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/time.hpp"
#include "netstack/stack.hpp"
#include "proxy/host_socket.hpp"
#include "proxy/limits.hpp"
#include "proxy/mesh_routes.hpp"
#include "proxy/name_resolver.hpp"
#include "proxy/splice.hpp"
#include "tools/log/log.hpp"
#include "transports/event_loop.hpp"

namespace tunless::proxy {

// Daemon parts the services borrow; all must outlive every service.
struct ServiceContext {
    io::EventLoop& loop;
    net::Stack& stack;
    const MeshRoutes& routes;
    NameResolver& resolver;       // names of mesh destinations (DNS over the mesh if set)
    SpliceRuntime& splices;
    Duration connect_timeout = kDefaultConnectTimeout;
    Duration negotiation_timeout = kNegotiationTimeout;
    // Names of host-side targets ([TCPServerTunnel] Target): the host's own resolver, never
    // the mesh DNS. Null: `resolver`.
    NameResolver* host_resolver = nullptr;
    NameResolver& host_names() { return host_resolver != nullptr ? *host_resolver : resolver; }
};

struct ListenerStats {
    std::string name;             // "socks5 127.0.0.1:1080", "tcp-forward mesh:23"
    std::uint32_t active = 0;     // live sessions
    std::uint64_t total = 0;      // sessions accepted
    std::uint64_t refused = 0;    // turned away at MaxConnections (reply or reset)
    std::uint64_t failed = 0;     // could not connect to the destination
    std::uint64_t rejected = 0;   // bad protocol input, failed auth, not allowed, unsupported
    TrafficCounters traffic;
    // Why sessions were rejected, by name (snake_case static strings: codec fault names,
    // "auth_failed", "not_allowed"...). A fixed table: names beyond it count as "other".
    static constexpr std::size_t kMaxReasons = 24;
    std::array<std::pair<const char*, std::uint64_t>, kMaxReasons> reasons{};

    void reject(const char* reason);
    // "name: active=.. total=.. ... to_mesh=.. to_host=.. [rejects: reason=n ...]"
    std::string to_line() const;
};

class Session {
public:
    virtual ~Session() = default;
    // Once per kSweepInterval while alive: negotiation/connect/idle deadlines.
    virtual void on_tick(Instant now) = 0;
    // Shutdown: reset everything now; the session then finishes itself.
    virtual void abort() = 0;
};

class SessionTable {
public:
    // `loop` and `stats` must outlive the table. `max_sessions` 0 means kDefaultMaxConnections.
    SessionTable(io::EventLoop& loop, ListenerStats& stats, std::uint32_t max_sessions);
    ~SessionTable();
    SessionTable(const SessionTable&) = delete;
    SessionTable& operator=(const SessionTable&) = delete;

    enum class Admission : std::uint8_t {
        kAdmitted,  // fits under MaxConnections
        kRefuse,    // over it: negotiate, then answer with the protocol's refusal
        kReset,     // over it and no refusal slot left (or no refusal in the protocol)
    };

    bool full() const { return active_ >= max_; }
    // Accept policy of every listener: kAdmitted when a new session fits under MaxConnections;
    // otherwise counts the refusal and logs it (rate limited, naming `who`). Over the cap,
    // kRefuse while `can_answer` and fewer than kMaxRefusingSessions are refusing, else kReset.
    Admission admission(const std::string& who, bool can_answer);
    bool admit(const std::string& who) { return admission(who, false) == Admission::kAdmitted; }
    // The accept path of every host-side listener: admit `client` and start a session
    // S(owner, fd, client) with begin(). Over MaxConnections, an S that has begin_refusal()
    // (its protocol can say "no": SOCKS5 0x01, HTTP 503) starts with that instead; otherwise,
    // or when the refusal slots are taken, the socket is reset.
    template <typename S, typename Owner>
    void start_host_session(Owner& owner, io::UniqueFd fd, const Endpoint& client) {
        constexpr bool kCanAnswer = requires(S& s) { s.begin_refusal(); };
        const Admission a = admission(client.to_string(), kCanAnswer);
        if (a == Admission::kReset) {
            close_with_reset(std::move(fd));
            return;
        }
        auto session = std::make_unique<S>(owner, std::move(fd), client);
        S& ref = *session;
        add(std::move(session), a == Admission::kRefuse);
        if constexpr (kCanAnswer) {
            if (a == Admission::kRefuse) {
                ref.begin_refusal();
                return;
            }
        }
        ref.begin();
    }
    std::uint32_t max_sessions() const { return max_; }
    // Reload: the new cap applies to admissions from now on (0 means kDefaultMaxConnections);
    // sessions above a lowered cap keep running.
    void set_max_sessions(std::uint32_t max_sessions) {
        max_ = max_sessions == 0 ? kDefaultMaxConnections : max_sessions;
    }
    std::size_t size() const { return active_; }        // admitted sessions
    std::size_t refusing() const { return refusing_; }  // over-limit sessions being refused
    // `refusing`: an over-limit session (admission() said kRefuse); it is kept apart from the
    // active count and from MaxConnections.
    Session& add(std::unique_ptr<Session> session, bool refusing = false);
    // The session is done: it stops counting as active and is destroyed after this round.
    // Idempotent; safe inside any callback.
    void finish(Session& session);
    void abort_all();

private:
    void tick();
    void reap();

    struct Entry {
        std::unique_ptr<Session> session;
        bool refusing = false;
    };

    io::EventLoop& loop_;
    ListenerStats& stats_;
    std::uint32_t max_;
    std::size_t active_ = 0;
    std::size_t refusing_ = 0;
    std::unordered_map<Session*, Entry> live_;
    std::vector<std::unique_ptr<Session>> dead_;
    io::TimerId tick_timer_ = io::kNoTimer;
    bool reap_posted_ = false;
    log::RateLimit refusal_log_{10, std::chrono::seconds(10)};
    // post() cannot be cancelled; the posted reap checks this flag (justified shared_ptr).
    std::shared_ptr<bool> alive_;
};

}  // namespace tunless::proxy
