// TCP over the mesh: TcpListener (accepts on every node address) and TcpConnection (one stream),
// pinned RAII wrappers over lwIP tcp_pcbs with backpressure both ways: received bytes stay
// queued -- and the window withheld -- until consume(); write() accepts only what fits lwIP's
// send buffer. Not sockets: nothing blocks, events arrive through handlers on the loop thread.
// Used by proxy/ (SOCKS/HTTP splices, port forwards).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "netstack/rx_queue.hpp"

struct tcp_pcb;

namespace tunless::net {

class Stack;
class TcpConnection;
class TcpListener;

struct TcpEndpoints {
    IpAddress local_ip;   // which of our node addresses the stream uses
    std::uint16_t local_port = 0;
    IpAddress remote_ip;  // the mesh peer (or, for outbound, the destination)
    std::uint16_t remote_port = 0;
};

// Events of one connection. Every callback runs synchronously inside lwIP on the loop thread.
// Inside a callback the handler may call any method of any TcpConnection (including this one:
// read/consume/write/shutdown_write/close/abort) and create new ones, but it must NOT destroy
// the connection it is called for (checked: aborts) -- close()/abort() it and destroy it later,
// e.g. from the loop's reap list -- and must not call Stack::inject()/on_timer() (checked).
class TcpHandler {
public:
    virtual ~TcpHandler() = default;
    // An outbound connect() completed its handshake (state() is now kEstablished).
    virtual void on_connected(TcpConnection& conn) { (void)conn; }
    // readable_bytes() grew. The bytes stay queued and the peer's window stays closed by that
    // much until consume()/read().
    virtual void on_readable(TcpConnection& conn) = 0;
    // The peer sent FIN: no data follows what is queued. Fired once.
    virtual void on_peer_fin(TcpConnection& conn) = 0;
    // After a write() that accepted less than offered (or request_writable()): a quarter of the
    // send buffer is free again, or all of it, so writers move large chunks, not one ACK's worth.
    virtual void on_writable(TcpConnection& conn) { (void)conn; }
    // lwIP freed the connection: reset by the peer (Errc::kRefused), retransmission/SYN timeout
    // or reclaimed under memory pressure (kTimedOut), or closed (kClosed). state() is kClosed;
    // queued received bytes stay readable. At most once; never after close()/abort().
    virtual void on_error(TcpConnection& conn, const Error& error) = 0;
};

class TcpConnection {
public:
    enum class State : std::uint8_t {
        kConnecting,   // outbound SYN sent, no answer yet
        kEstablished,  // data flows (also after FINs, until both directions are done)
        kClosed,       // no pcb any more: closed, aborted, failed, or both directions finished
    };

    // Opens a connection to dst:port (IPv4, IPv6, or IPv4-mapped) from our node address of the
    // same family; the SYN leaves through the egress before this returns. The outcome arrives
    // as on_connected or on_error (kRefused on RST, kTimedOut after ~13 s of SYN retries).
    // A shorter connect timeout is the caller's: abort() at its own deadline.
    // Errors: kLimitReached (max_tcp_connections or memory), kUnreachable (no address of that
    // family). `stack` and `handler` must outlive the connection.
    static Result<std::unique_ptr<TcpConnection>> connect(Stack& stack, const IpAddress& dst,
                                                          std::uint16_t port, TcpHandler& handler);

    // close()s a connection still open (FIN, or RST if received bytes were left unconsumed).
    // Never call it from inside this connection's own callback (checked).
    ~TcpConnection();
    TcpConnection(const TcpConnection&) = delete;  // pinned: its address is the tcp_arg
    TcpConnection& operator=(const TcpConnection&) = delete;

    // Accepted connections start without a handler: set one in TcpAcceptHandler::on_accept.
    // Events that arrive while no handler is set are not replayed (state and data still are).
    void set_handler(TcpHandler* handler) { handler_ = handler; }

    State state() const { return state_; }
    const TcpEndpoints& endpoints() const { return endpoints_; }
    bool peer_finished() const { return peer_fin_; }   // FIN received
    bool write_shut() const { return write_shut_; }    // our FIN queued (shutdown_write done)
    TcpListener* listener() const { return listener_; } // null for outbound / after listener died
    // Last time data moved either way (or the connection was created), per Stack::now().
    // Idle timeouts are the caller's.
    Instant last_activity() const { return last_activity_; }

    // ---- receiving (peer -> us) ----
    std::size_t readable_bytes() const { return rx_.size(); }
    // The first contiguous run of queued bytes, zero-copy (e.g. for send(2)); valid until the
    // next call on this connection or the next return to lwIP.
    ByteView peek_contiguous() const { return rx_.front(); }
    std::size_t peek(MutByteView out) const { return rx_.peek(out); }
    // Up to out.size() contiguous runs from the head (zero-copy gather for one sendmsg(2));
    // same validity as peek_contiguous(). Returns the count filled.
    std::size_t peek_runs(std::span<ByteView> out) const { return rx_.peek_runs(out); }
    // Drops up to n queued bytes and reopens the peer's window by exactly that much (tcp_recved
    // is called for consumed bytes only). Returns the count dropped.
    std::size_t consume(std::size_t n);
    // peek() + consume().
    std::size_t read(MutByteView out);

    // ---- sending (us -> peer) ----
    // Bytes write() would accept now (bounded by lwIP's send buffer and segment queue).
    std::size_t write_capacity() const;
    // Copies as much of `data` into lwIP as fits (TCP_WRITE_FLAG_COPY) and transmits. Returns
    // the count accepted; if that is less than data.size(), on_writable fires when space frees.
    // 0 when closed or after shutdown_write().
    std::size_t write(ByteView data);
    // Asks for on_writable (same terms as above) without offering bytes (a caller
    // that reads its source only as far as the capacity allows found it at 0). No-op when
    // closed or after shutdown_write().
    void request_writable();
    // Half-close: our FIN follows the queued data (retried by itself if lwIP is out of
    // memory, or sent once a pending connect completes). The peer may keep sending. Once both
    // directions are finished the connection releases its pcb: state() becomes kClosed without
    // on_error; queued received bytes stay readable. Error only when already closed.
    Status shutdown_write();
    // Ends the connection: detaches every callback (no event fires after this returns) and
    // hands the pcb to lwIP, which sends the remaining data and FIN -- or RST if received bytes
    // were left unconsumed (like close(2)). Drops the receive queue. Falls back to abort() when
    // lwIP has no memory for the FIN. Idempotent.
    void close();
    // Sends RST now and frees the pcb; drops the receive queue. Idempotent.
    void abort();
    // Nagle's algorithm is off by default (a proxy forwards whole writes); true enables it.
    void set_nagle(bool enabled);

private:
    friend struct TcpCallbacks;
    friend class TcpListener;
    TcpConnection(Stack& stack, struct tcp_pcb* pcb, TcpHandler* handler, TcpListener* listener);
    void attach();
    void detach();
    void release_pcb();
    struct tcp_pcb* forget_pcb();
    void abort_pcb(struct tcp_pcb* pcb);
    int callback_result();
    void try_send_fin();
    void note_activity();
    void unlink_listener();

    Stack& stack_;
    struct tcp_pcb* pcb_;
    TcpHandler* handler_;
    TcpListener* listener_;
    TcpConnection* listener_prev_ = nullptr;  // intrusive list of the listener's connections
    TcpConnection* listener_next_ = nullptr;
    RxQueue rx_;
    TcpEndpoints endpoints_;
    Instant last_activity_;
    State state_;
    bool peer_fin_ = false;
    bool write_shut_ = false;
    bool fin_pending_ = false;
    bool want_writable_ = false;
    bool aborted_in_callback_ = false;
    int callback_depth_ = 0;
};

class TcpAcceptHandler {
public:
    virtual ~TcpAcceptHandler() = default;
    // A peer completed a handshake to the listener's port on one of our node addresses;
    // conn->endpoints() tells which peer and which local address. To accept, set conn's
    // handler and move the unique_ptr out. Leaving `conn` in place rejects it (RST); do not
    // reset() it (that destroys it inside its own callback: checked). Must not destroy the
    // listener. Same re-entrancy rules as TcpHandler.
    virtual void on_accept(TcpListener& listener, std::unique_ptr<TcpConnection>& conn) = 0;
};

class TcpListener {
public:
    struct Options {
        std::uint16_t port = 0;                // 0: lwIP picks a free port (see port())
        std::uint32_t max_connections = 256;  // live accepted TcpConnection objects; more get RST
        std::uint8_t backlog = 32;             // half-open (SYN received) connections
    };

    // Listens on `options.port` on every node address, IPv4 and IPv6. Errors: kAlreadyExists
    // (port in use), kLimitReached (memory). `stack` and `handler` must outlive the listener.
    static Result<std::unique_ptr<TcpListener>> listen(Stack& stack, const Options& options,
                                                       TcpAcceptHandler& handler);
    // Stops listening; accepted connections live on (they forget this listener).
    // Never call it from inside on_accept (checked).
    ~TcpListener();
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    std::uint16_t port() const { return port_; }
    // The cap for connections accepted from now on; live ones stay even above a lower cap.
    void set_max_connections(std::uint32_t n) { options_.max_connections = n; }
    std::uint32_t connection_count() const { return connection_count_; }
    std::uint64_t accepted_total() const { return accepted_total_; }
    std::uint64_t rejected_total() const { return rejected_total_; }  // limits, handler, memory

private:
    friend struct TcpCallbacks;
    friend class TcpConnection;
    TcpListener(Stack& stack, struct tcp_pcb* pcb, const Options& options,
                TcpAcceptHandler& handler);

    Stack& stack_;
    struct tcp_pcb* pcb_;
    TcpAcceptHandler& handler_;
    Options options_;
    std::uint16_t port_;
    TcpConnection* connections_ = nullptr;  // head of the intrusive list
    std::uint32_t connection_count_ = 0;
    std::uint64_t accepted_total_ = 0;
    std::uint64_t rejected_total_ = 0;
    bool in_accept_ = false;
};

}  // namespace tunless::net
