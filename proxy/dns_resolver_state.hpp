// Private to proxy/dns_resolver*.cpp: the resolver's per-lookup state, shared by the mesh
// (DNS= servers) part in dns_resolver.cpp and the system-resolver (io::HostResolver) part in
// dns_resolver_system.cpp. Not an API: nothing else includes it.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netstack/udp.hpp"
#include "proxy/dns_message.hpp"
#include "proxy/dns_resolver.hpp"

namespace tunless::proxy {

enum class QueryState : std::uint8_t { kIdle, kPending, kAnswered, kFailed };

class DnsResolver::QuerySocket final : public net::UdpHandler {
public:
    QuerySocket(DnsResolver& r, Lookup& l, Query& q) : resolver_(r), lookup_(l), query_(q) {}
    void on_datagram(net::UdpSocket& socket, const net::UdpDatagramInfo& info,
                     ByteView payload) override;
    std::unique_ptr<net::UdpSocket> socket;

private:
    DnsResolver& resolver_;
    Lookup& lookup_;
    Query& query_;
};

struct DnsResolver::Query {
    dns::RecordType type = dns::RecordType::kA;
    QueryState state = QueryState::kIdle;
    std::uint16_t id = 0;
    IpAddress server;
    int attempts = 0;
    Instant deadline = kNever;
    Errc error = Errc::kTimedOut;
    dns::Response response;
    std::unique_ptr<QuerySocket> socket;
};

struct DnsResolver::Lookup {
    Id id = 0;
    dns::HostName name;
    std::string text;  // as given, for error messages
    FamilyPreference pref = FamilyPreference::kPreferV4;
    AllCallback cb;
    std::array<Query, 2> queries;  // in preference order
    std::size_t query_count = 0;
    std::optional<Result<std::vector<IpAddress>>> result;  // set: deliver from on_timer
    io::HostResolver::RequestId system_id = 0;  // 0: no system lookup running
    bool started = false;  // queries go out from on_timer, never from inside resolve()
};

struct DnsResolver::CacheEntry {
    std::vector<IpAddress> addresses;  // empty: negative entry
    Instant expires;
};

}  // namespace tunless::proxy
