// SOCKS5 server (RFC 1928, RFC 1929 username/password) for local clients: negotiates with
// the socks5 codec, CONNECTs through the mesh (MeshDialer) and splices. BIND is answered
// 0x07. UDP ASSOCIATE is handed, with its control connection, to a Socks5UdpAssociateHandler
// when one is installed (the UDP services), else answered 0x07. Reply codes per outcome are
// listed in docs/proxy.md. Created by proxy::Services from a [Socks5] section.
#pragma once

#include <memory>

#include "core/base/ip_address.hpp"
#include "proxy/local_proxy.hpp"
#include "proxy/target.hpp"

namespace tunless::proxy {

// A UDP ASSOCIATE request whose negotiation (and authentication) succeeded.
struct UdpAssociateRequest {
    io::UniqueFd control;    // the client's TCP connection; not registered with the loop
    Endpoint client;         // its source address (the UDP client is expected on this IP)
    Target requested;        // DST.ADDR/DST.PORT of the request (RFC 1928 §4: may be 0s)
    Bytes early;             // bytes the client sent after the request (normally none)
};

// Extension point for SOCKS5 UDP ASSOCIATE (RFC 1928 §7). The handler owns the control
// connection from the call on: it sends the reply (socks5::build_reply with BND = its relay
// socket, or a failure reply), keeps the association alive while the control connection
// lives (RFC 1928 §7: the association terminates when it closes) and closes it. Called on the
// loop thread from inside the SOCKS5 server's fd handler; it must not destroy the server.
class Socks5UdpAssociateHandler {
public:
    virtual ~Socks5UdpAssociateHandler() = default;
    virtual void on_udp_associate(UdpAssociateRequest request) = 0;
};

class Socks5Server final : public LocalProxy {
public:
    using Options = LocalProxy::Options;  // credentials: RFC 1929 required when set
    // `ctx` must outlive the server.
    static Result<std::unique_ptr<Socks5Server>> create(ServiceContext& ctx,
                                                        const Options& options);
    ~Socks5Server();

    // nullptr: UDP ASSOCIATE gets 0x07. The handler must outlive the server or be reset first.
    void set_udp_associate_handler(Socks5UdpAssociateHandler* handler) { udp_handler_ = handler; }

private:
    class Session;
    Socks5Server(ServiceContext& ctx, const Options& options);

    Socks5UdpAssociateHandler* udp_handler_ = nullptr;
};

}  // namespace tunless::proxy
