// TcpListener: one dual-stack listening pcb (IPADDR_TYPE_ANY bound to IP_ANY_TYPE, so every
// IPv4 and IPv6 node address), per-listener connection caps, and the accept trampoline.
#include <algorithm>
#include <vector>

#include "lwip/tcp.h"
#include "netstack/errors.hpp"
#include "netstack/invariant.hpp"
#include "netstack/stack.hpp"
#include "netstack/stack_access.hpp"
#include "netstack/tcp.hpp"
#include "netstack/tcp_callbacks.hpp"

namespace tunless::net {
namespace {

// Ports our listeners hold. SOF_REUSEADDR (needed to re-listen while accepted or TIME_WAIT
// connections still use the port) would also let lwIP bind a second listener to the same
// port, so duplicates are refused here. One Stack per process, hence one list.
std::vector<std::uint16_t>& listening_ports() {
    static std::vector<std::uint16_t> ports;
    return ports;
}

bool port_taken(std::uint16_t port) {
    const auto& ports = listening_ports();
    return std::find(ports.begin(), ports.end(), port) != ports.end();
}

}  // namespace

Result<std::unique_ptr<TcpListener>> TcpListener::listen(Stack& stack, const Options& options,
                                                         TcpAcceptHandler& handler) {
    if (options.port != 0 && port_taken(options.port)) {
        return fail(Errc::kAlreadyExists, "tcp listen: port already has a listener");
    }
    struct tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
    if (pcb == nullptr) {
        return fail(Errc::kLimitReached, "tcp listen: no memory for a pcb");
    }
    ip_set_option(pcb, SOF_REUSEADDR);
    err_t err = tcp_bind(pcb, IP_ANY_TYPE, options.port);
    if (err != ERR_OK) {
        tcp_close(pcb);  // unconnected pcb: freed at once
        return to_error(err, "tcp listen");
    }
    struct tcp_pcb* lpcb = tcp_listen_with_backlog_and_err(pcb, options.backlog, &err);
    if (lpcb == nullptr) {
        tcp_close(pcb);  // on failure the original pcb is still ours
        return to_error(err, "tcp listen");
    }
    std::unique_ptr<TcpListener> listener(new TcpListener(stack, lpcb, options, handler));
    tcp_arg(lpcb, listener.get());
    tcp_accept(lpcb, TcpCallbacks::accept);
    return listener;
}

TcpListener::TcpListener(Stack& stack, struct tcp_pcb* pcb, const Options& options,
                         TcpAcceptHandler& handler)
    : stack_(stack), pcb_(pcb), handler_(handler), options_(options), port_(pcb->local_port) {
    listening_ports().push_back(port_);
    StackAccess::listener_opened(stack_);
}

TcpListener::~TcpListener() {
    TUNLESS_NET_INVARIANT(!in_accept_, "TcpListener destroyed inside its own on_accept");
    for (TcpConnection* c = connections_; c != nullptr;) {
        TcpConnection* next = c->listener_next_;
        c->listener_ = nullptr;
        c->listener_prev_ = nullptr;
        c->listener_next_ = nullptr;
        c = next;
    }
    tcp_arg(pcb_, nullptr);
    tcp_close(pcb_);  // a listening pcb is freed at once; half-open children lose their listener
    auto& ports = listening_ports();
    ports.erase(std::find(ports.begin(), ports.end(), port_));
    StackAccess::listener_closed(stack_);
}

// Returning ERR_VAL (not ERR_ABRT) before we own the new pcb lets lwIP abort it (RST) itself;
// once a TcpConnection owns it, a rejection is our own tcp_abort and the result is ERR_ABRT.
err_t TcpCallbacks::accept(void* arg, struct tcp_pcb* newpcb, err_t err) {
    auto* l = static_cast<TcpListener*>(arg);
    if (l == nullptr) {
        return ERR_VAL;
    }
    if (newpcb == nullptr || err != ERR_OK) {  // lwIP could not allocate the child pcb
        ++l->rejected_total_;
        return ERR_VAL;
    }
    if (l->connection_count_ >= l->options_.max_connections ||
        !StackAccess::acquire_tcp_slot(l->stack_)) {
        ++l->rejected_total_;
        return ERR_VAL;
    }
    std::unique_ptr<TcpConnection> conn(new TcpConnection(l->stack_, newpcb, nullptr, l));
    conn->state_ = TcpConnection::State::kEstablished;
    conn->endpoints_ = endpoints_of(newpcb);
    conn->attach();
    TcpConnection* raw = conn.get();
    l->in_accept_ = true;
    {
        Scope scope(*raw);
        l->handler_.on_accept(*l, conn);
        if (conn != nullptr) {
            conn->abort();  // left in place: rejected (inside the scope, so ERR_ABRT follows)
        }
    }
    l->in_accept_ = false;
    const auto result = static_cast<err_t>(raw->callback_result());
    if (conn != nullptr) {
        ++l->rejected_total_;
        conn.reset();
    } else {
        ++l->accepted_total_;
    }
    return result;
}

}  // namespace tunless::net
