// MeshDialer: the "connect to this target through the mesh" step shared by SOCKS5 CONNECT,
// the HTTP proxy and outbound forwards: resolve a name (NameResolver), keep only addresses
// the mesh routes (never the host network), open a net::TcpConnection, bound the wait by the
// connect timeout, and name the outcome so each protocol can answer with its own code.
// One dialer per attempt; owned by the session, destroyed outside callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "netstack/tcp.hpp"
#include "proxy/session.hpp"
#include "proxy/target.hpp"

namespace tunless::proxy {

enum class DialOutcome : std::uint8_t {
    kConnected,
    kNotAllowed,      // no peer's AllowedIPs contain the destination (SOCKS 0x02, HTTP 403)
    kNoAddress,       // our node has no mesh address of that family (0x03, 502)
    kResolveFailed,   // the name did not resolve (0x04, 502)
    kRefused,         // RST from the destination (0x05, 502)
    kTimedOut,        // the peer's session is up but no SYN/ACK in time (0x06, 504)
    kNoSession,       // timed out and the peer has no session: handshake failed (0x04, 504)
    kLimitReached,    // connection or lookup limits (0x01, 502)
    kFailed,          // anything else (0x01, 502)
};
const char* dial_outcome_name(DialOutcome o);

class MeshDialer final : public net::TcpHandler {
public:
    // On kConnected the connection is handed over (set your handler on it at once; it is
    // called from inside lwIP's connected callback). Otherwise `conn` is null. Called at most
    // once, possibly from inside start().
    using Done = std::function<void(DialOutcome outcome, std::unique_ptr<net::TcpConnection> conn)>;

    // `ctx` must outlive the dialer.
    MeshDialer(ServiceContext& ctx, Done done);
    ~MeshDialer() override;
    MeshDialer(const MeshDialer&) = delete;
    MeshDialer& operator=(const MeshDialer&) = delete;

    void start(const Target& target);
    // Where the dialer connected (or tried to), for logs.
    const IpAddress& address() const { return ip_; }

    void on_connected(net::TcpConnection& conn) override;
    void on_readable(net::TcpConnection& conn) override { (void)conn; }
    void on_peer_fin(net::TcpConnection& conn) override { (void)conn; }
    void on_error(net::TcpConnection& conn, const Error& error) override;

private:
    void connect_to(const std::vector<IpAddress>& candidates);
    void on_timeout();
    void complete(DialOutcome outcome);

    ServiceContext& ctx_;
    Done done_;
    std::uint16_t port_ = 0;
    IpAddress ip_;
    std::unique_ptr<net::TcpConnection> conn_;
    NameResolver::RequestId resolve_id_ = 0;
    io::TimerId timer_ = io::kNoTimer;
    bool resolving_ = false;
    bool completed_ = false;
};

}  // namespace tunless::proxy
