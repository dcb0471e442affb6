// SOCKS5 UDP ASSOCIATE (RFC 1928 §4, §7): the relay between a local SOCKS client's UDP
// datagrams and the mesh. Each association has a host UDP socket bound on the IP the client
// reached the SOCKS listener on, accepts datagrams only from the client's address, strips the
// §7 header (FRAG != 0 dropped) and sends DATA from its own mesh socket; mesh replies get the
// header (with their source) prepended. It lives exactly as long as the TCP control connection.
// Not the SOCKS5 TCP server: that server calls this through UdpAssociateHandler.
//
// How the SOCKS5 server uses it (proxy/socks5_server.*):
//   1. After the request parsed with Command::kUdpAssociate, call
//        handler.associate(client_tcp_peer, control_local_address, request.target)
//      (the two Endpoints are the control connection's getpeername/getsockname).
//   2. On success reply build_reply(Reply::kSucceeded, Target::from_ip(a->bound().ip,
//      a->bound().port)) and keep the unique_ptr in the session; on error reply
//      build_failure_reply(reply_for_associate_error(error)).
//   3. Keep reading the control connection (data on it is ignored); when it closes or errors,
//      destroy the association (never from inside the association's own callbacks: they never
//      run the SOCKS session code, so destroying it from the session's fd callback is safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "proxy/dns_resolver.hpp"
#include "proxy/socks5_codec.hpp"
#include "proxy/target.hpp"
#include "transports/event_loop.hpp"

namespace tunless::net {
class Stack;
}

namespace tunless::proxy {

// One live association; destroying it ends it (closes both sockets, cancels lookups).
class UdpAssociation {
public:
    virtual ~UdpAssociation() = default;
    // BND.ADDR/BND.PORT for the reply: where the client must send its datagrams.
    virtual Endpoint bound() const = 0;
};

// The extension point the SOCKS5 server calls for UDP ASSOCIATE.
class UdpAssociateHandler {
public:
    virtual ~UdpAssociateHandler() = default;
    // `client`: the control connection's peer; `local`: its local address (the SOCKS listener
    // IP the client used); `requested`: DST.ADDR/DST.PORT from the request (the address the
    // client will send from; 0.0.0.0:0 or a domain = not known yet: the first datagram from the
    // client's IP fixes the port). Errors: kLimitReached (too many associations), kIo.
    virtual Result<std::unique_ptr<UdpAssociation>> associate(const Endpoint& client,
                                                              const Endpoint& local,
                                                              const Target& requested) = 0;
};

// REP for a failed associate(): kLimitReached/kIo -> 0x01 general failure.
socks5::Reply reply_for_associate_error(const Error& e);

struct Socks5UdpStats {
    std::uint64_t associations_total = 0;
    std::uint32_t associations_active = 0;
    std::uint64_t refused_limit = 0;
    std::uint64_t to_mesh_datagrams = 0;
    std::uint64_t to_mesh_bytes = 0;
    std::uint64_t from_mesh_datagrams = 0;
    std::uint64_t from_mesh_bytes = 0;
    std::uint64_t drop_foreign_source = 0;  // not from the client's address
    std::uint64_t drop_bad_header = 0;      // §7 header faults incl. FRAG != 0
    std::uint64_t drop_fragmented = 0;      // of which FRAG != 0
    std::uint64_t drop_unresolved = 0;      // domain did not resolve / too many waiting
    std::uint64_t drop_send_failed = 0;
};

struct Socks5UdpConfig {
    std::uint32_t max_associations = 64;
    std::size_t max_pending_per_association = 8;  // datagrams waiting for a name lookup
    std::size_t max_names_per_association = 16;   // resolved names remembered
};

class Socks5UdpRelay final : public UdpAssociateHandler {
public:
    // `loop`, `stack`, `resolver` must outlive the relay and every association it made.
    Socks5UdpRelay(io::EventLoop& loop, net::Stack& stack, DnsResolver& resolver,
                   FamilyPreference pref, Socks5UdpConfig config = {});
    ~Socks5UdpRelay() override;

    Result<std::unique_ptr<UdpAssociation>> associate(const Endpoint& client, const Endpoint& local,
                                                      const Target& requested) override;
    const Socks5UdpStats& stats() const { return stats_; }

private:
    class Association;
    friend class Association;

    io::EventLoop& loop_;
    net::Stack& stack_;
    DnsResolver& resolver_;
    FamilyPreference pref_;
    Socks5UdpConfig config_;
    Socks5UdpStats stats_;
};

}  // namespace tunless::proxy
