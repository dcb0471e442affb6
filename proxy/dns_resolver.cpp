#include "proxy/dns_resolver.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "netstack/udp.hpp"
#include "proxy/dns_message.hpp"
#include "proxy/dns_resolver_state.hpp"

namespace tunless::proxy {
namespace {

constexpr std::uint16_t kEphemeralFirst = 49152;  // RFC 6335 §6 dynamic ports
constexpr std::uint32_t kEphemeralCount = 16384;
constexpr int kBindTries = 8;

}  // namespace

void DnsResolver::QuerySocket::on_datagram(net::UdpSocket&, const net::UdpDatagramInfo& info,
                                           ByteView payload) {
    if (query_.state != QueryState::kPending || info.src_ip != query_.server ||
        info.src_port != resolver_.config_.server_port) {
        ++resolver_.stats_.bad_responses;
        return;
    }
    resolver_.on_response(lookup_, query_, payload);
}

DnsResolver::Handle& DnsResolver::Handle::operator=(Handle&& o) noexcept {
    if (this != &o) {
        cancel();
        resolver_ = o.resolver_;
        id_ = o.id_;
        o.resolver_ = nullptr;
    }
    return *this;
}

void DnsResolver::Handle::cancel() {
    if (resolver_ != nullptr) resolver_->cancel(id_);
    resolver_ = nullptr;
}

DnsResolver::DnsResolver(DnsResolverConfig config, net::Stack* stack, Rng& rng, Clock clock,
                         io::EventLoop* loop)
    : config_(std::move(config)), stack_(stack), rng_(rng), clock_(std::move(clock)) {
    if (stack_ == nullptr) config_.servers.clear();
    config_.attempts = std::max(config_.attempts, 1);
    if (loop != nullptr && config_.servers.empty()) {
        // No timeout of ours: glibc's resolv.conf timeouts bound a system lookup.
        system_ = std::make_unique<io::HostResolver>(
            *loop, io::HostResolverConfig{.poll_interval = config_.system_poll_interval,
                                          .timeout = Duration::max(),
                                          .max_in_flight = config_.max_in_flight});
    }
}

DnsResolver::Handle DnsResolver::resolve(std::string_view name, FamilyPreference pref,
                                         Callback cb) {
    return resolve_all(name, pref, [cb = std::move(cb)](Result<std::vector<IpAddress>> r) {
        if (!r) {
            cb(r.error());
            return;
        }
        cb(r->front());
    });
}

DnsResolver::Handle DnsResolver::resolve_all(std::string_view name, FamilyPreference pref,
                                             AllCallback cb) {
    auto l = std::make_unique<Lookup>();
    l->text = std::string(name.substr(0, dns::kMaxNameOctets));
    l->pref = pref;
    l->cb = std::move(cb);
    std::string_view literal = name;
    if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']') {
        literal = literal.substr(1, literal.size() - 2);
    }
    if (auto ip = IpAddress::parse(literal)) {
        ++stats_.literals;
        const bool wrong = (pref == FamilyPreference::kOnlyV4 && !ip->is_v4()) ||
                           (pref == FamilyPreference::kOnlyV6 && !ip->is_v6());
        using R = Result<std::vector<IpAddress>>;
        l->result = wrong ? R(fail(Errc::kNotFound, l->text + ": wrong address family"))
                          : R(std::vector<IpAddress>{*ip});
        return Handle(this, add_lookup(std::move(l)));
    }
    auto host = dns::HostName::parse(name);
    if (!host) {
        ++stats_.failures;
        l->result = fail(Errc::kInvalidArgument, "not a host name: " + l->text);
        return Handle(this, add_lookup(std::move(l)));
    }
    l->name = *host;
    if (lookups_.size() + (system_ ? system_->orphans() : 0) >= config_.max_in_flight) {
        ++stats_.refused_busy;
        ++stats_.failures;
        l->result =
            fail(Errc::kLimitReached, "resolve " + l->text + ": too many lookups in flight");
        return Handle(this, add_lookup(std::move(l)));
    }
    ++stats_.lookups;
    return Handle(this, add_lookup(std::move(l)));
}

DnsResolver::Id DnsResolver::add_lookup(std::unique_ptr<Lookup> lookup) {
    const Id id = next_id_++;
    lookup->id = id;
    has_ready_ = true;
    lookups_.emplace(id, std::move(lookup));
    return id;
}

void DnsResolver::cancel(Id id) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;
    auto& l = *it->second;
    l.cb = nullptr;
    for (std::size_t i = 0; i < l.query_count; ++i) {
        auto& qs = l.queries[i].socket;
        if (qs && qs->socket) qs->socket->close();
    }
    if (l.system_id != 0 && system_) system_->cancel(l.system_id);
    lookups_.erase(it);
}

// --- mesh (DNS= servers) --------------------------------------------------------------------

void DnsResolver::start_mesh(Lookup& l) {
    using dns::RecordType;
    const Instant now = clock_();
    std::array<RecordType, 2> order{};
    switch (l.pref) {
        case FamilyPreference::kOnlyV4:
            order = {RecordType::kA, RecordType::kA};
            l.query_count = 1;
            break;
        case FamilyPreference::kOnlyV6:
            order = {RecordType::kAaaa, RecordType::kAaaa};
            l.query_count = 1;
            break;
        case FamilyPreference::kPreferV4:
            order = {RecordType::kA, RecordType::kAaaa};
            l.query_count = 2;
            break;
        case FamilyPreference::kPreferV6:
            order = {RecordType::kAaaa, RecordType::kA};
            l.query_count = 2;
            break;
    }
    for (std::size_t i = 0; i < l.query_count; ++i) {
        Query& q = l.queries[i];
        q.type = order[i];
        const std::string key =
            std::string(l.name.view()) + (q.type == RecordType::kA ? "|A" : "|AAAA");
        auto hit = cache_.find(key);
        if (hit != cache_.end() && hit->second.expires > now) {
            ++stats_.cache_hits;
            q.state = hit->second.addresses.empty() ? QueryState::kFailed : QueryState::kAnswered;
            q.error = Errc::kNotFound;
            for (const auto& a : hit->second.addresses) {
                if (q.response.address_count < dns::kMaxAddresses) {
                    q.response.addresses[q.response.address_count++] = a;
                }
            }
            has_ready_ = true;
            continue;
        }
        if (!send_attempt(l, q)) has_ready_ = true;
    }
}

// Sends (or re-sends) one query from a fresh random source port with a fresh random ID
// (RFC 5452 §9.2: both make blind spoofing expensive). False when it could not be sent.
bool DnsResolver::send_attempt(Lookup& l, Query& q) {
    q.socket = std::make_unique<QuerySocket>(*this, l, q);
    Result<std::unique_ptr<net::UdpSocket>> bound = fail(Errc::kAlreadyExists, "");
    for (int i = 0; i < kBindTries && !bound; ++i) {
        const auto port =
            static_cast<std::uint16_t>(kEphemeralFirst + rng_.uniform(kEphemeralCount));
        bound = net::UdpSocket::bind(*stack_, port, *q.socket);
        if (!bound && bound.error().code != Errc::kAlreadyExists) break;
    }
    q.state = QueryState::kFailed;
    q.error = Errc::kLimitReached;
    if (!bound) return false;
    q.socket->socket = std::move(*bound);
    q.id = static_cast<std::uint16_t>(rng_.next_u32());
    q.server = config_.servers[next_server_++ % config_.servers.size()];
    ++q.attempts;
    const auto msg = dns::build_query(q.id, l.name, q.type);
    auto sent = q.socket->socket->send_to(q.server, config_.server_port, msg.view());
    ++stats_.queries_sent;
    // A send error (no route yet, memory) is treated like a lost datagram: the timeout retries.
    (void)sent;
    q.state = QueryState::kPending;
    q.deadline = clock_() + config_.attempt_timeout;
    return true;
}

void DnsResolver::on_response(Lookup& l, Query& q, ByteView payload) {
    auto parsed = dns::parse_response(payload, q.id, l.name, q.type);
    if (!parsed.ok() && parsed.fault != dns::Fault::kTruncated) {
        ++stats_.bad_responses;  // possibly spoofed or garbage: keep waiting for the real one
        return;
    }
    q.socket->socket->close();  // allowed from inside its own callback; destroyed later
    q.deadline = kNever;
    has_ready_ = true;
    if (!parsed.ok()) {
        q.state = QueryState::kFailed;
        q.error = Errc::kProtocol;  // TC=1: the answer needs TCP, which we do not do
        return;
    }
    ++stats_.responses;
    const auto& r = parsed.response;
    const bool empty = r.rcode == 0 && r.address_count == 0;
    if (r.rcode != 0 && r.rcode != 3) {
        q.state = QueryState::kFailed;
        q.error = Errc::kProtocol;  // SERVFAIL, REFUSED, ...: not cached
        return;
    }
    q.response = r;
    q.state = (r.rcode == 3 || empty) ? QueryState::kFailed : QueryState::kAnswered;
    q.error = Errc::kNotFound;
    std::vector<IpAddress> addrs(r.addresses.begin(),
                                 r.addresses.begin() + static_cast<long>(r.address_count));
    const std::uint32_t ttl = q.state == QueryState::kAnswered
                                  ? std::min(r.ttl_s, config_.max_ttl_s)
                                  : config_.negative_ttl_s;
    cache_store(std::string(l.name.view()) + (q.type == dns::RecordType::kA ? "|A" : "|AAAA"),
                std::move(addrs), ttl, clock_());
}

void DnsResolver::cache_store(const std::string& key, std::vector<IpAddress> addrs,
                              std::uint32_t ttl_s, Instant now) {
    if (ttl_s == 0 || config_.max_cache_entries == 0) return;
    auto it = cache_.find(key);
    if (it == cache_.end()) {
        while (cache_.size() >= config_.max_cache_entries && !cache_order_.empty()) {
            cache_.erase(cache_order_.front());
            cache_order_.pop_front();
        }
        cache_order_.push_back(key);
        it = cache_.emplace(key, CacheEntry{}).first;
    }
    it->second.addresses = std::move(addrs);
    it->second.expires = now + std::chrono::seconds(ttl_s);
}

// --- completion -----------------------------------------------------------------------------

void DnsResolver::finish(Lookup& l, Result<std::vector<IpAddress>> result) {
    if (!l.result) l.result = std::move(result);
    has_ready_ = true;
}

// The addresses of query `first` (the most preferred family that has some), then those of
// the queries after it that have already answered.
std::vector<IpAddress> DnsResolver::collect(const Lookup& l, std::size_t first) {
    std::vector<IpAddress> out;
    for (std::size_t i = first; i < l.query_count; ++i) {
        const dns::Response& r = l.queries[i].response;
        if (l.queries[i].state != QueryState::kAnswered) continue;
        out.insert(out.end(), r.addresses.begin(),
                   r.addresses.begin() + static_cast<std::ptrdiff_t>(r.address_count));
    }
    return out;
}

// Decides a mesh lookup once the preferred family answered, or every family is done.
void DnsResolver::decide(Lookup& l) {
    Errc worst = Errc::kNotFound;
    bool all_done = true;
    for (std::size_t i = 0; i < l.query_count; ++i) {
        const Query& q = l.queries[i];
        if (q.state == QueryState::kPending) {
            all_done = false;
            break;  // a more preferred family is still out: wait for it
        }
        if (q.state == QueryState::kAnswered && q.response.address_count > 0) {
            finish(l, collect(l, i));
            return;
        }
        if (q.error != Errc::kNotFound) worst = q.error;
    }
    if (!all_done) return;
    finish(l, fail(worst, "resolve " + l.text +
                              (worst == Errc::kNotFound   ? ": no address"
                               : worst == Errc::kTimedOut ? ": no answer from DNS= servers"
                                                          : ": DNS server failure")));
}

Instant DnsResolver::next_deadline() const {
    if (has_ready_) return Instant::min();
    Instant next = kNever;
    for (const auto& [id, l] : lookups_) {
        for (std::size_t i = 0; i < l->query_count; ++i) {
            next = std::min(next, l->queries[i].deadline);
        }
    }
    return next;
}

void DnsResolver::on_timer(Instant now) {
    for (auto& [id, lp] : lookups_) {
        Lookup& l = *lp;
        if (!l.started && !l.result) {
            l.started = true;
            if (uses_mesh()) {
                start_mesh(l);
            } else {
                start_system(l);
            }
        }
        for (std::size_t i = 0; i < l.query_count; ++i) {
            Query& q = l.queries[i];
            if (q.state != QueryState::kPending || q.deadline > now) continue;
            if (q.attempts < config_.attempts) {
                send_attempt(l, q);
            } else {
                ++stats_.timeouts;
                q.state = QueryState::kFailed;
                q.error = Errc::kTimedOut;
                q.deadline = kNever;
            }
        }
        if (!l.result && l.query_count > 0) decide(l);
    }
    // Callbacks may call resolve() or cancel(): collect the finished lookups first.
    std::vector<std::unique_ptr<Lookup>> done;
    for (auto it = lookups_.begin(); it != lookups_.end();) {
        if (it->second->result) {
            done.push_back(std::move(it->second));
            it = lookups_.erase(it);
        } else {
            ++it;
        }
    }
    has_ready_ = false;  // a callback's resolve() sets it again
    for (auto& l : done) {
        if (!*l->result) ++stats_.failures;
        if (l->cb) l->cb(std::move(*l->result));
    }
}

DnsResolverStats DnsResolver::stats() const {
    DnsResolverStats s = stats_;
    s.in_flight = lookups_.size() + (system_ ? system_->orphans() : 0);
    s.cache_entries = cache_.size();
    return s;
}

}  // namespace tunless::proxy
