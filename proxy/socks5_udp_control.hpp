// Socks5UdpControl: the SOCKS5 server's UDP ASSOCIATE extension point
// (Socks5UdpAssociateHandler, proxy/socks5_server.hpp) implemented over Socks5UdpRelay. It
// takes over each control connection, creates the association (bound on the control
// connection's local IP), sends the RFC 1928 §6 reply, and ends the association when the
// control connection closes or errs (RFC 1928 §7). Bytes the client sends on the control
// connection afterwards are read and discarded. Owned by proxy::UdpServices' owner (daemon).
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "proxy/socks5_server.hpp"
#include "proxy/socks5_udp.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::proxy {

class Socks5UdpControl final : public Socks5UdpAssociateHandler, public io::FdHandler {
public:
    // `loop` and `relay` must outlive this object.
    Socks5UdpControl(io::EventLoop& loop, UdpAssociateHandler& relay)
        : loop_(loop), relay_(relay) {}
    ~Socks5UdpControl() override;
    Socks5UdpControl(const Socks5UdpControl&) = delete;
    Socks5UdpControl& operator=(const Socks5UdpControl&) = delete;

    void on_udp_associate(UdpAssociateRequest request) override;
    void on_fd_ready(int fd, std::uint32_t events) override;
    // Ends every association (SIGTERM).
    void shutdown();
    std::size_t active() const { return sessions_.size(); }

private:
    struct Session {
        io::UniqueFd control;
        std::unique_ptr<UdpAssociation> association;
    };

    io::EventLoop& loop_;
    UdpAssociateHandler& relay_;
    std::map<int, Session> sessions_;  // by control fd
};

}  // namespace tunless::proxy
