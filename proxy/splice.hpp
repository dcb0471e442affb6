// Splice: the bidirectional pump between one host TCP socket (a local client or a local
// target) and one mesh net::TcpConnection, with backpressure both ways and no per-connection
// data buffer of its own:
//   host -> mesh: read(2) only as much as the mesh side's write_capacity() allows, into the
//     runtime's shared scratch, then straight into lwIP; EPOLLIN is off while lwIP's send
//     buffer is full and back on from on_writable.
//   mesh -> host: sendmsg(2) of the queued segments in place (peek_runs), consume() exactly
//     what the socket took (that is what reopens the peer's window: tcp_recved); EPOLLOUT
//     is armed while the socket is full. Received segments are flushed once per loop round.
// Half-close both ways, RST propagation, and deferred destruction (the owner destroys it
// from a posted task after on_splice_end). Used by the SOCKS5/HTTP servers and the forwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/time.hpp"
#include "netstack/tcp.hpp"
#include "proxy/limits.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"
#include "transports/watched_fd.hpp"

namespace tunless::proxy {

class Splice;

struct SpliceOptions {
    std::size_t io_chunk = kDefaultIoChunk;        // bytes per read/sendmsg call
    Duration idle_timeout = kDefaultIdleTimeout;   // no byte either way for this long: reset
};

// Bytes moved, summed per listener (for the status line).
struct TrafficCounters {
    std::uint64_t to_mesh = 0;
    std::uint64_t to_host = 0;
};

// State every splice of the process shares: the loop, the host->mesh scratch buffer and the
// once-per-round flush of mesh->host data. Must outlive every Splice that uses it.
class SpliceRuntime {
public:
    SpliceRuntime(io::EventLoop& loop, const SpliceOptions& options);
    ~SpliceRuntime();
    SpliceRuntime(const SpliceRuntime&) = delete;
    SpliceRuntime& operator=(const SpliceRuntime&) = delete;

    io::EventLoop& loop() { return loop_; }
    const SpliceOptions& options() const { return options_; }
    MutByteView scratch() { return scratch_; }
    // Runs splice->flush_to_host() after the current dispatch round (once per round).
    void schedule(Splice* splice);
    void cancel(Splice* splice);

private:
    void run();

    io::EventLoop& loop_;
    SpliceOptions options_;
    std::vector<std::uint8_t> scratch_;
    std::vector<Splice*> pending_;
    bool posted_ = false;
    std::shared_ptr<bool> alive_;  // posted work cannot be cancelled: it checks this first
};

enum class SpliceEnd : std::uint8_t {
    kClosed,     // both directions finished and flushed
    kHostReset,  // the host socket failed or was reset: the mesh side got RST
    kMeshReset,  // the mesh side was reset or timed out: the host side got RST
    kIdle,       // idle timeout: both sides got RST
    kAborted,    // abort() (shutdown): both sides got RST
};
const char* splice_end_name(SpliceEnd e);

class SpliceObserver {
public:
    virtual ~SpliceObserver() = default;
    // Called once; the splice has released both sides. Destroy it later (post), never here.
    virtual void on_splice_end(Splice& splice, SpliceEnd how) = 0;
};

class Splice final : public io::FdHandler, public net::TcpHandler {
public:
    // Takes both ends; `host` must be a connected non-blocking socket not registered with the
    // loop, `mesh` an established connection. `runtime`, `counters` and `observer` must
    // outlive the splice. Nothing happens until start().
    Splice(SpliceRuntime& runtime, TrafficCounters& counters, SpliceObserver& observer,
           io::UniqueFd host, std::unique_ptr<net::TcpConnection> mesh);
    ~Splice() override;
    Splice(const Splice&) = delete;
    Splice& operator=(const Splice&) = delete;

    // `to_mesh_first` (bytes the client sent early, a rewritten HTTP head) goes to the mesh
    // before anything read from the socket; `to_host_first` (a PROXY v2 header) to the host.
    void start(Bytes to_mesh_first = {}, Bytes to_host_first = {});
    // Resets both sides (shutdown); on_splice_end(kAborted) follows unless already ended.
    void abort() { end(SpliceEnd::kAborted); }
    // Resets both sides when nothing moved for the idle timeout. Returns true if it did.
    bool check_idle(Instant now);
    bool ended() const { return ended_; }
    const net::TcpConnection& mesh() const { return *mesh_; }

    // Called by SpliceRuntime.
    void flush_to_host();

    // io::FdHandler
    void on_fd_ready(int fd, std::uint32_t events) override;
    // net::TcpHandler
    void on_readable(net::TcpConnection& conn) override;
    void on_peer_fin(net::TcpConnection& conn) override;
    void on_writable(net::TcpConnection& conn) override;
    void on_error(net::TcpConnection& conn, const Error& error) override;

private:
    void pump_to_mesh();
    bool flush_pending_to_mesh();
    bool flush_pending_to_host();
    void host_eof();
    void update_interest();
    void check_done();
    void end(SpliceEnd how);
    void host_failed() { end(SpliceEnd::kHostReset); }
    // The host hung up, so the fd left the loop (EPOLLHUP is level-triggered) while the splice
    // lives on; reads resume from on_writable. No other path unwatches a live splice's fd.
    bool parked() const { return !ended_ && fd_ && !fd_.watched(); }

    SpliceRuntime& rt_;
    TrafficCounters& counters_;
    SpliceObserver& observer_;
    io::WatchedFd fd_;
    std::unique_ptr<net::TcpConnection> mesh_;
    Bytes pending_to_mesh_;  // early bytes, or what lwIP refused under memory pressure
    Bytes pending_to_host_;
    std::size_t pending_to_host_off_ = 0;
    std::uint32_t interest_ = 0;
    bool reading_ = true;        // EPOLLIN wanted (off while the mesh side is full)
    bool want_write_ = false;    // EPOLLOUT wanted (the socket was full)
    bool host_eof_ = false;      // the host sent FIN
    bool mesh_fin_sent_ = false; // shutdown_write() done on the mesh side
    bool host_wr_shut_ = false;  // shutdown(SHUT_WR) done on the host socket
    bool scheduled_ = false;
    bool ended_ = false;
    friend class SpliceRuntime;
};

}  // namespace tunless::proxy
