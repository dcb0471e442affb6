// ClientStream: an outgoing byte stream on the EventLoop: host name lookup (HostResolver),
// non-blocking TCP connect over IPv4/IPv6 with fallback across the addresses, optional TLS
// (TlsSession), then bounded, backpressured reads and writes. Carries the Tailscale control
// connection (HTTP/1.1 upgrade, then Noise) and DERP relay connections (tailscale
// derp/derphttp/derphttp_client.go). Not a server side, no proxy support, no HTTP.
// (unix_socket.hpp's StreamConnection is the accepted-socket counterpart for the UAPI.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"
#include "transports/tls_session.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

struct ClientStreamOptions {
    std::string host;  // name or IP literal ("::1", not "[::1]")
    std::uint16_t port = 0;
    TlsOptions tls;
    // Name lookup + TCP connect + TLS handshake together. DERP servers give a client 10 s
    // for its handshake (tailscale derp/derpserver/derpserver.go, accept).
    Duration connect_timeout = std::chrono::seconds(15);
    std::size_t max_send_buffer = 256 * 1024;
    HostFamily family = HostFamily::kAny;
};

// Callbacks run on the loop thread, never inside start() or the call that caused them
// (write, pause_reading). The handler must not destroy the ClientStream inside a callback:
// post the destruction to the loop (EventLoop::post). close() inside a callback is fine.
class ClientStreamHandler {
public:
    // TCP (and TLS, peer verified) is up. Bytes written before this are sent now.
    virtual void on_connected() = 0;
    // Bytes from the peer, valid during the call only.
    virtual void on_data(ByteView bytes) = 0;
    // A write refused with kLimitReached fits now (and at least half the buffer is free).
    virtual void on_writable() = 0;
    // Once, then nothing more: kClosed when the peer closed, kTimedOut, kRefused,
    // kUnreachable, kNotFound (name), kAuthFailed (certificate), kProtocol, kIo. Not called
    // after close() or destruction.
    virtual void on_closed(const Error& why) = 0;
    virtual ~ClientStreamHandler() = default;
};

struct ClientStreamStats {
    std::uint64_t bytes_received = 0;  // application bytes (after TLS)
    std::uint64_t bytes_sent = 0;      // application bytes handed to the kernel / TLS
    std::uint32_t connect_attempts = 0;
};

class ClientStream final : private FdHandler {
public:
    // Starts the lookup and returns; the outcome arrives as on_connected or on_closed. Errors
    // here are the synchronous ones only: bad options, unreadable CA file. `loop`,
    // `resolver` and `handler` must outlive the stream.
    static Result<std::unique_ptr<ClientStream>> start(EventLoop& loop, HostResolver& resolver,
                                                       const ClientStreamOptions& options,
                                                       ClientStreamHandler& handler);
    ~ClientStream() override;  // like close()
    ClientStream(const ClientStream&) = delete;
    ClientStream& operator=(const ClientStream&) = delete;

    // Queues all of `bytes` or nothing; sent from the loop after the current round (so a
    // burst of writes coalesces, and errors come back through on_closed). kLimitReached: the
    // send buffer is full, wait for on_writable. kInvalidArgument: larger than the whole
    // buffer. kClosed after close() or on_closed. Allowed before on_connected.
    Status write(ByteView bytes);
    std::size_t send_buffer_free() const;
    std::size_t send_buffer_used() const { return send_buf_.size() - send_off_; }
    // While paused nothing is read (the kernel's window then pushes back on the server).
    void pause_reading(bool paused);
    // Drops unsent bytes, sends a best-effort TLS close_notify, closes. No callbacks after.
    void close();

    bool connected() const { return phase_ == Phase::kOpen; }
    bool closed() const { return phase_ == Phase::kClosed; }
    // The address connected to (or being tried).
    std::optional<Endpoint> remote() const;
    const ClientStreamStats& stats() const { return stats_; }

private:
    enum class Phase : std::uint8_t { kResolving, kConnecting, kHandshaking, kOpen, kClosed };
    static constexpr std::size_t kReadChunk = 16384;            // one TLS record of plaintext
    static constexpr std::size_t kMaxReadPerWakeup = 256 * 1024;  // then let others run

    ClientStream(EventLoop& loop, HostResolver& resolver, const ClientStreamOptions& options,
                 ClientStreamHandler& handler);
    void on_fd_ready(int fd, std::uint32_t events) override;

    // Connecting (client_stream_connect.cpp).
    void on_resolved(Result<std::vector<IpAddress>> addresses);
    void connect_next();
    void finish_connect();
    void drop_socket();
    void arm_timer();
    void on_timeout();
    void step_handshake();
    void opened();

    // Established.
    void flush();
    void read_some();
    void schedule(bool flush, bool drain);
    void run_scheduled();
    void notify_writable();
    void update_interest();
    Error socket_error(const char* what, int err) const;

    Error closed_by_peer() const;
    void teardown();
    void close_with(Error why);  // teardown, then on_closed(why)

    EventLoop& loop_;
    HostResolver& resolver_;
    ClientStreamHandler& handler_;
    ClientStreamOptions options_;
    Phase phase_ = Phase::kResolving;
    HostResolver::RequestId lookup_ = 0;
    std::vector<IpAddress> addresses_;
    std::size_t next_address_ = 0;
    std::optional<Error> last_attempt_error_;
    UniqueFd fd_;
    IpAddress remote_ip_;
    std::unique_ptr<TlsSession> tls_;
    TlsWant handshake_want_ = TlsWant::kNothing;
    TlsWant write_want_ = TlsWant::kNothing;  // what the blocked flush waits for
    TlsWant read_want_ = TlsWant::kNothing;   // a TLS read that needs writability
    Instant deadline_{};
    TimerId timer_ = kNoTimer;
    Bytes send_buf_;
    std::size_t send_off_ = 0;
    std::size_t refused_size_ = 0;  // > 0: a write was refused, on_writable owed
    bool reading_paused_ = false;
    bool hung_up_ = false;  // EPOLLHUP while paused: fd out of epoll, drained on resume
    bool flush_scheduled_ = false;
    bool drain_scheduled_ = false;
    bool post_pending_ = false;
    std::shared_ptr<ClientStream*> self_;  // posted work holds a weak_ptr: no use after free
    std::unique_ptr<std::uint8_t[]> read_buf_;
    ClientStreamStats stats_;
};

}  // namespace tunless::io
