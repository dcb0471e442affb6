// HTTP proxy server for local clients (RFC 9110 §9.3.6 CONNECT, §7.6 forwarding): reads one
// request head with the http codec, checks Basic proxy credentials (407), connects through
// the mesh (MeshDialer) and then either answers "200 Connection established" and splices
// (CONNECT), or sends the rewritten origin-form head plus any body bytes and splices
// (absolute-form http:// requests, one request per connection: "Connection: close").
// Statuses: 400/403/407/414/431/501/502/504/505 as in docs/proxy.md. Created by Services.
#pragma once

#include <memory>

#include "proxy/local_proxy.hpp"

namespace tunless::proxy {

class HttpProxyServer final : public LocalProxy {
public:
    using Options = LocalProxy::Options;  // credentials: Basic auth required when set
    // `ctx` must outlive the server.
    static Result<std::unique_ptr<HttpProxyServer>> create(ServiceContext& ctx,
                                                           const Options& options);
    ~HttpProxyServer();

private:
    class Session;
    HttpProxyServer(ServiceContext& ctx, const Options& options);
};

}  // namespace tunless::proxy
