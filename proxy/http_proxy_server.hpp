// HTTP proxy server for local clients (RFC 9110 §9.3.6 CONNECT, §7.6 forwarding): reads one
// request head with the http codec, checks Basic proxy credentials (407), connects through
// the mesh (MeshDialer) and then either answers "200 Connection established" and splices
// (CONNECT), or sends the rewritten origin-form head plus any body bytes and splices
// (absolute-form http:// requests, one request per connection: "Connection: close").
// Statuses: 400/403/407/414/431/501/502/504/505 as in docs/proxy.md. Created by Services.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "proxy/credentials.hpp"
#include "proxy/host_socket.hpp"
#include "proxy/session.hpp"

namespace tunless::proxy {

class HttpProxyServer {
public:
    struct Options {
        Endpoint bind;
        std::optional<Credentials> credentials;  // Basic auth required when set
        std::uint32_t max_connections = 0;       // 0: kDefaultMaxConnections
    };
    // `ctx` must outlive the server.
    static Result<std::unique_ptr<HttpProxyServer>> create(ServiceContext& ctx,
                                                           const Options& options);
    ~HttpProxyServer();
    HttpProxyServer(const HttpProxyServer&) = delete;
    HttpProxyServer& operator=(const HttpProxyServer&) = delete;

    const ListenerStats& stats() const { return stats_; }
    const Endpoint& local() const { return listener_->local(); }
    const Options& options() const { return options_; }
    // Config reload: as Socks5Server::reconfigure (new connections get the new credentials and
    // MaxConnections; accepted ones keep theirs).
    void reconfigure(const Options& options);
    void shutdown();

private:
    class Session;
    HttpProxyServer(ServiceContext& ctx, const Options& options);
    void on_accept(io::UniqueFd fd, const Endpoint& client);

    ServiceContext& ctx_;
    Options options_;
    ListenerStats stats_;
    SessionTable sessions_;
    std::unique_ptr<HostListener> listener_;
};

}  // namespace tunless::proxy
