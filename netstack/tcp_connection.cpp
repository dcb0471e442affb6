// TcpConnection: lifetime rules of engineering notes §6.3/§6.4 and §7.3.5-6 in one place.
//  * tcp_arg is `this`; every exit path (close, abort, release, lwIP error) detaches first.
//  * tcp_err only marks the pcb gone; lwIP has freed it already.
//  * ERR_ABRT is returned only after our own tcp_abort in that callback (abort_pcb +
//    callback_result are the single pair that does it).
//  * tcp_recved is called for consumed bytes only, so the window withholds unread data.
#include <algorithm>

#include "lwip/tcp.h"
#include "netstack/errors.hpp"
#include "netstack/invariant.hpp"
#include "netstack/ip_convert.hpp"
#include "netstack/stack.hpp"
#include "netstack/stack_access.hpp"
#include "netstack/tcp.hpp"
#include "netstack/tcp_callbacks.hpp"

namespace tunless::net {
namespace {

// lwIP polls every kPollTicks coarse-timer ticks (2 x 100 ms): retries a FIN that hit ERR_MEM
// and reports writability when space came back without a `sent` (heap budget relief).
constexpr u8_t kPollTicks = 2;
constexpr std::size_t kMaxChunk = 0xFFFF;  // tcp_write/tcp_recved take u16_t lengths
// on_writable waits until this much send buffer is free: every ACK frees a few KB, and waking
// the writer for each made it read its source 8 KB at a time (126 recv calls per MB in the
// SOCKS5 upload benchmark). A quarter of the buffer keeps 3/4 of it in flight meanwhile.
constexpr std::size_t kWritableLowWater = TCP_SND_BUF / 4;

}  // namespace

// ---- lifetime -------------------------------------------------------------------------------

TcpConnection::TcpConnection(Stack& stack, struct tcp_pcb* pcb, TcpHandler* handler,
                             TcpListener* listener)
    : stack_(stack),
      pcb_(pcb),
      handler_(handler),
      listener_(listener),
      last_activity_(stack.now()),
      state_(State::kConnecting) {
    if (listener_ != nullptr) {
        listener_next_ = listener_->connections_;
        if (listener_next_ != nullptr) {
            listener_next_->listener_prev_ = this;
        }
        listener_->connections_ = this;
        ++listener_->connection_count_;
    }
}

TcpConnection::~TcpConnection() {
    TUNLESS_NET_INVARIANT(callback_depth_ == 0,
                          "TcpConnection destroyed inside its own callback (defer it)");
    close();
    unlink_listener();
    StackAccess::release_tcp_slot(stack_);
}

Result<std::unique_ptr<TcpConnection>> TcpConnection::connect(Stack& stack, const IpAddress& dst,
                                                              std::uint16_t port,
                                                              TcpHandler& handler) {
    if (!StackAccess::acquire_tcp_slot(stack)) {
        return fail(Errc::kLimitReached, "tcp connect: max_tcp_connections reached");
    }
    const ip_addr_t remote = to_lwip(dst);
    struct tcp_pcb* pcb = tcp_new_ip_type(static_cast<u8_t>(IP_GET_TYPE(&remote)));
    if (pcb == nullptr) {
        StackAccess::release_tcp_slot(stack);
        return fail(Errc::kLimitReached, "tcp connect: no memory for a pcb");
    }
    // From here the slot belongs to the object (its destructor releases it).
    std::unique_ptr<TcpConnection> conn(new TcpConnection(stack, pcb, &handler, nullptr));
    conn->attach();
    const err_t err = tcp_connect(pcb, &remote, port, TcpCallbacks::connected);
    if (err != ERR_OK) {
        conn->detach();
        conn->pcb_ = nullptr;
        conn->state_ = State::kClosed;
        if (tcp_close(pcb) != ERR_OK) {  // an unconnected pcb is freed at once
            tcp_abort(pcb);
        }
        return to_error(err, "tcp connect");
    }
    conn->endpoints_ = TcpCallbacks::endpoints_of(pcb);
    return conn;
}

void TcpConnection::attach() {
    tcp_arg(pcb_, this);
    tcp_recv(pcb_, TcpCallbacks::recv);
    tcp_sent(pcb_, TcpCallbacks::sent);
    tcp_err(pcb_, TcpCallbacks::error);
    tcp_poll(pcb_, TcpCallbacks::poll, kPollTicks);
    tcp_nagle_disable(pcb_);
}

void TcpConnection::detach() {
    if (pcb_ == nullptr) {
        return;
    }
    tcp_arg(pcb_, nullptr);
    tcp_recv(pcb_, nullptr);
    tcp_sent(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    tcp_poll(pcb_, nullptr, 0);
}

void TcpConnection::unlink_listener() {
    if (listener_ == nullptr) {
        return;
    }
    if (listener_prev_ != nullptr) {
        listener_prev_->listener_next_ = listener_next_;
    } else {
        listener_->connections_ = listener_next_;
    }
    if (listener_next_ != nullptr) {
        listener_next_->listener_prev_ = listener_prev_;
    }
    --listener_->connection_count_;
    listener_ = nullptr;
    listener_prev_ = nullptr;
    listener_next_ = nullptr;
}

// The one place that calls tcp_abort on a live connection; inside one of this connection's
// callbacks it arranges for that callback to return ERR_ABRT (tcp.c's rule).
void TcpConnection::abort_pcb(struct tcp_pcb* pcb) {
    tcp_abort(pcb);
    if (callback_depth_ > 0) {
        aborted_in_callback_ = true;
    }
}

int TcpConnection::callback_result() {
    if (aborted_in_callback_) {
        aborted_in_callback_ = false;
        return ERR_ABRT;
    }
    return ERR_OK;
}

// Both FINs are out: nothing more can happen that the user needs, so the pcb goes back to lwIP
// (which finishes LAST_ACK/CLOSING/TIME_WAIT on its own and frees TIME_WAIT pcbs silently --
// one more reason not to keep a pointer to it).
void TcpConnection::release_pcb() {
    struct tcp_pcb* pcb = pcb_;
    detach();
    pcb_ = nullptr;
    state_ = State::kClosed;
    if (tcp_close(pcb) != ERR_OK) {  // FIN already sent: no allocation, cannot fail in practice
        abort_pcb(pcb);
    }
}

void TcpConnection::close() {
    if (struct tcp_pcb* pcb = forget_pcb()) {
        if (tcp_close(pcb) != ERR_OK) {  // ERR_MEM: no memory for the FIN segment
            abort_pcb(pcb);
        }
    }
}

void TcpConnection::abort() {
    if (struct tcp_pcb* pcb = forget_pcb()) {
        abort_pcb(pcb);
    }
}

// What close() and abort() share: nothing pending stays, no callback fires any more, and the
// pcb (null when lwIP had already freed it) is handed back for the caller's way of ending it.
struct tcp_pcb* TcpConnection::forget_pcb() {
    rx_.clear();
    fin_pending_ = false;
    want_writable_ = false;
    state_ = State::kClosed;
    struct tcp_pcb* pcb = pcb_;
    detach();
    pcb_ = nullptr;
    return pcb;
}

// ---- data -----------------------------------------------------------------------------------

void TcpConnection::note_activity() {
    last_activity_ = stack_.now();
}

std::size_t TcpConnection::consume(std::size_t n) {
    const std::size_t dropped = rx_.consume(n);
    if (dropped == 0) {
        return 0;
    }
    note_activity();
    if (pcb_ != nullptr) {
        for (std::size_t left = dropped; left > 0;) {
            const std::size_t chunk = std::min(left, kMaxChunk);
            tcp_recved(pcb_, static_cast<u16_t>(chunk));
            left -= chunk;
        }
    }
    return dropped;
}

std::size_t TcpConnection::read(MutByteView out) {
    return consume(rx_.peek(out));
}

std::size_t TcpConnection::write_capacity() const {
    if (pcb_ == nullptr || write_shut_ || fin_pending_) {
        return 0;
    }
    // tcp_write needs at most one pbuf per MSS plus one; it refuses past TCP_SND_QUEUELEN.
    const std::size_t queued = tcp_sndqueuelen(pcb_);
    if (queued + 2 > TCP_SND_QUEUELEN) {
        return 0;
    }
    const std::size_t by_queue = (TCP_SND_QUEUELEN - queued - 1) * std::size_t{tcp_mss(pcb_)};
    // pcb->snd_buf, not tcp_sndbuf(): the macro clamps to 16 bits even with window scaling.
    return std::min<std::size_t>(pcb_->snd_buf, by_queue);
}

std::size_t TcpConnection::write(ByteView data) {
    std::size_t total = 0;
    while (total < data.size()) {
        const std::size_t n = std::min({data.size() - total, write_capacity(), kMaxChunk});
        if (n == 0) {
            break;
        }
        u8_t flags = TCP_WRITE_FLAG_COPY;
        if (total + n < data.size()) {
            flags |= TCP_WRITE_FLAG_MORE;
        }
        if (tcp_write(pcb_, data.data() + total, static_cast<u16_t>(n), flags) != ERR_OK) {
            break;  // ERR_MEM (heap budget): retried when `sent` or `poll` reports space
        }
        total += n;
    }
    if (total < data.size() && pcb_ != nullptr && !write_shut_ && !fin_pending_) {
        want_writable_ = true;
    }
    if (total > 0) {
        note_activity();
        tcp_output(pcb_);
    }
    return total;
}

void TcpConnection::request_writable() {
    if (pcb_ != nullptr && !write_shut_ && !fin_pending_) {
        want_writable_ = true;
    }
}

Status TcpConnection::shutdown_write() {
    if (pcb_ == nullptr) {
        return fail(Errc::kClosed, "tcp shutdown_write: connection is closed");
    }
    if (!write_shut_ && !fin_pending_) {
        fin_pending_ = true;
        want_writable_ = false;
        try_send_fin();
    }
    return {};
}

void TcpConnection::try_send_fin() {
    if (!fin_pending_ || pcb_ == nullptr || state_ == State::kConnecting) {
        return;  // a FIN waiting for the handshake goes out from the connected callback
    }
    const err_t err = tcp_shutdown(pcb_, 0, 1);
    if (err == ERR_MEM) {
        return;  // retried from sent/poll
    }
    fin_pending_ = false;
    write_shut_ = true;  // ERR_OK, or a state without a send side left (nothing to send)
    if (peer_fin_) {
        release_pcb();
    }
}

void TcpConnection::set_nagle(bool enabled) {
    if (pcb_ == nullptr) {
        return;
    }
    if (enabled) {
        tcp_nagle_enable(pcb_);
    } else {
        tcp_nagle_disable(pcb_);
    }
}

// ---- lwIP callbacks -------------------------------------------------------------------------

TcpEndpoints TcpCallbacks::endpoints_of(const struct tcp_pcb* pcb) {
    return TcpEndpoints{from_lwip(pcb->local_ip), pcb->local_port, from_lwip(pcb->remote_ip),
                        pcb->remote_port};
}

void TcpCallbacks::on_data(TcpConnection& c, struct pbuf* p) {
    c.rx_.push(p);  // ours now (notes §6.3): freed as it is consumed
    c.note_activity();
    if (c.handler_ != nullptr) {
        c.handler_->on_readable(c);
    }
}

void TcpCallbacks::on_peer_fin(TcpConnection& c) {
    if (c.peer_fin_) {
        return;
    }
    c.peer_fin_ = true;
    c.note_activity();
    if (c.write_shut_) {
        c.release_pcb();
    }
    if (c.handler_ != nullptr) {
        c.handler_->on_peer_fin(c);
    }
}

void TcpCallbacks::on_space(TcpConnection& c) {
    c.try_send_fin();
    // All of the buffer free also counts: the segment queue can bind before snd_buf does.
    const std::size_t capacity = c.write_capacity();
    if (c.want_writable_ && capacity > 0 &&
        (capacity >= kWritableLowWater || tcp_sndqueuelen(c.pcb_) == 0)) {
        c.want_writable_ = false;
        if (c.handler_ != nullptr) {
            c.handler_->on_writable(c);
        }
    }
}

err_t TcpCallbacks::recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (c == nullptr || err != ERR_OK) {  // not ours any more: behave like tcp_recv_null
        if (p != nullptr) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    Scope scope(*c);
    if (p == nullptr) {
        on_peer_fin(*c);
    } else {
        on_data(*c, p);
    }
    return static_cast<err_t>(c->callback_result());
}

err_t TcpCallbacks::sent(void* arg, struct tcp_pcb* /*pcb*/, u16_t /*len*/) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (c == nullptr) {
        return ERR_OK;
    }
    Scope scope(*c);
    c->note_activity();
    on_space(*c);
    return static_cast<err_t>(c->callback_result());
}

err_t TcpCallbacks::poll(void* arg, struct tcp_pcb* /*pcb*/) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (c == nullptr) {
        return ERR_OK;
    }
    Scope scope(*c);
    on_space(*c);
    return static_cast<err_t>(c->callback_result());
}

void TcpCallbacks::error(void* arg, err_t err) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (c == nullptr) {
        return;
    }
    c->pcb_ = nullptr;  // already freed by lwIP (tcp.h): never touch it
    c->state_ = TcpConnection::State::kClosed;
    c->fin_pending_ = false;
    c->want_writable_ = false;
    Scope scope(*c);
    if (c->handler_ != nullptr) {
        c->handler_->on_error(*c, to_error(err, "tcp"));
    }
}

err_t TcpCallbacks::connected(void* arg, struct tcp_pcb* pcb, err_t /*err: always ERR_OK*/) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (c == nullptr) {
        return ERR_OK;
    }
    Scope scope(*c);
    c->state_ = TcpConnection::State::kEstablished;
    c->endpoints_ = endpoints_of(pcb);
    c->note_activity();
    c->try_send_fin();
    if (c->handler_ != nullptr && c->pcb_ != nullptr) {
        c->handler_->on_connected(*c);
    }
    return static_cast<err_t>(c->callback_result());
}

}  // namespace tunless::net
