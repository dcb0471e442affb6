// What the two proxies for local apps (SOCKS5, HTTP) share: the listener with its counters,
// session table and reloadable options (LocalProxy), and the life of one client
// (LocalProxySession): read its request while a negotiation deadline runs, dial the mesh,
// answer, then hand the socket to a Splice. Each protocol supplies only its parsing and its
// answers. Forwards have no negotiation and do not use this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/base/ip_address.hpp"
#include "proxy/credentials.hpp"
#include "proxy/host_socket.hpp"
#include "proxy/mesh_dialer.hpp"
#include "proxy/session.hpp"
#include "proxy/splice.hpp"
#include "proxy/target.hpp"
#include "transports/watched_fd.hpp"

namespace tunless::proxy {

class LocalProxy {
public:
    struct Options {
        Endpoint bind;                            // loopback by default (config)
        std::optional<Credentials> credentials;   // required from clients when set
        std::uint32_t max_connections = 0;        // 0: kDefaultMaxConnections
    };

    LocalProxy(const LocalProxy&) = delete;
    LocalProxy& operator=(const LocalProxy&) = delete;

    const ListenerStats& stats() const { return stats_; }
    const Endpoint& local() const { return listener_->local(); }
    const Options& options() const { return options_; }
    // Config reload: credentials and MaxConnections for connections accepted from now on;
    // accepted ones finish with the credentials they were accepted under. `options.bind`
    // must be the running one (another bind is another listener).
    void reconfigure(const Options& options);
    // Stops accepting and resets every session (SIGTERM).
    void shutdown();

protected:
    // `ctx` must outlive the proxy.
    LocalProxy(ServiceContext& ctx, const Options& options);
    ~LocalProxy();

    // Opens the listener; every accepted client becomes an S(owner, fd, client) under the
    // session table's MaxConnections policy. `kind` names the listener in status and logs.
    template <typename S, typename Owner>
    Status listen(Owner& owner, std::string_view kind) {
        auto l = HostListener::open(ctx_.loop, options_.bind,
                                    [this, &owner](io::UniqueFd fd, const Endpoint& client) {
                                        sessions_.start_host_session<S>(owner, std::move(fd),
                                                                        client);
                                    });
        if (!l) return l.error();
        listener_ = std::move(*l);
        stats_.name = std::string(kind) + " " + listener_->local().to_string();
        return {};
    }

    ServiceContext& ctx_;

private:
    friend class LocalProxySession;

    Options options_;
    ListenerStats stats_;
    SessionTable sessions_;
    std::unique_ptr<HostListener> listener_;  // declared last: it stops accepting first
};

class LocalProxySession : public Session, public io::FdHandler, public SpliceObserver {
public:
    ~LocalProxySession() override;
    LocalProxySession(const LocalProxySession&) = delete;
    LocalProxySession& operator=(const LocalProxySession&) = delete;

    void begin();
    // Over MaxConnections: negotiate as usual, then answer with the protocol's refusal
    // (refusing() tells the protocol so).
    void begin_refusal() {
        refusing_ = true;
        begin();
    }

    void on_fd_ready(int fd, std::uint32_t events) final;
    void on_splice_end(Splice& splice, SpliceEnd how) final;
    void on_tick(Instant now) final;
    void abort() final;

protected:
    LocalProxySession(LocalProxy& proxy, io::UniqueFd fd, const Endpoint& client);

    // The client socket is readable while the request is still being negotiated.
    virtual void on_client_readable(int fd) = 0;
    // The negotiation deadline passed before a request was complete.
    virtual void on_negotiation_timeout() = 0;
    // The dial started by dial() ended; on kConnected `conn` is the mesh connection.
    virtual void on_dialed(DialOutcome outcome, std::unique_ptr<net::TcpConnection> conn) = 0;

    // Stops reading the client (what it sends next waits in its socket) and connects to
    // `target` through the mesh.
    void dial(const Target& target);
    // Sends `reply` (may be empty) and splices the client with `conn`, `to_mesh` first.
    void start_splice(std::unique_ptr<net::TcpConnection> conn, ByteView reply, Bytes to_mesh);
    // Hands the client socket over to someone else; the session then only has to finish().
    io::UniqueFd release_client();
    // Closes the client socket (if still ours) and ends the session. Idempotent.
    void finish();

    bool refusing() const { return refusing_; }
    ListenerStats& stats() { return proxy_.stats_; }

    ServiceContext& ctx_;
    io::WatchedFd fd_;
    const Endpoint client_;
    const std::optional<Credentials> credentials_;  // as configured when the client was accepted

private:
    LocalProxy& proxy_;
    Instant deadline_;
    bool refusing_ = false;
    std::unique_ptr<MeshDialer> dialer_;
    std::unique_ptr<Splice> splice_;
};

}  // namespace tunless::proxy
