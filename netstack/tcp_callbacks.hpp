// The C trampolines lwIP calls for TcpConnection/TcpListener (tcp_arg is the object), shared by
// tcp_connection.cpp and tcp_listener.cpp. Internal to netstack/ (lwIP types).
#pragma once

#include "lwip/tcp.h"
#include "netstack/tcp.hpp"

namespace tunless::net {

struct TcpCallbacks {
    static err_t recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err);
    static err_t sent(void* arg, struct tcp_pcb* pcb, u16_t len);
    static err_t poll(void* arg, struct tcp_pcb* pcb);
    static void error(void* arg, err_t err);
    static err_t connected(void* arg, struct tcp_pcb* pcb, err_t err);
    static err_t accept(void* arg, struct tcp_pcb* newpcb, err_t err);

    // Marks "inside this connection's callback": destruction is refused and an abort() made
    // meanwhile turns the callback's return value into ERR_ABRT (callback_result()).
    class Scope {
    public:
        explicit Scope(TcpConnection& c) : c_(c) { ++c_.callback_depth_; }
        ~Scope() { --c_.callback_depth_; }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        TcpConnection& c_;
    };

    static TcpEndpoints endpoints_of(const struct tcp_pcb* pcb);
    static void on_data(TcpConnection& c, struct pbuf* p);
    static void on_peer_fin(TcpConnection& c);
    static void on_space(TcpConnection& c);
};

}  // namespace tunless::net
