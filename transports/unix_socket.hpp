// Unix-domain stream sockets on the EventLoop: a listener bound to a filesystem path (mode 0600,
// stale-socket replacement, removal watch via inotify) and non-blocking connections with
// bounded input/output buffers. Used by the UAPI control socket (app/uapi_server) and, as a
// blocking client, by `tunless status`. Not a general IPC framework: one listener per path,
// byte streams only, no fd passing.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

class UnixListener final : private FdHandler {
public:
    using AcceptFn = std::function<void(UniqueFd connection)>;  // non-blocking, CLOEXEC

    // Binds `path` (its directory must exist) with mode 0600: the umask is 0177 while bind
    // creates the file, so it is never reachable with wider permissions. An existing socket
    // nobody accepts on (connect: ECONNREFUSED) is stale and replaced; a live one, or a path
    // that is not a socket, is kAlreadyExists and left alone. `loop` must outlive the listener.
    static Result<std::unique_ptr<UnixListener>> listen(EventLoop& loop, const std::string& path,
                                                        AcceptFn on_accept);
    ~UnixListener() override;  // unregisters; unlinks the path if it is still our socket
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;

    // Calls `on_removed` (once) when the socket file is deleted or replaced by another file,
    // like wireguard-go's UAPI listener does (the signal to shut down). Watches the directory
    // with inotify.
    Status watch_removal(std::function<void()> on_removed);
    // Whether `path` still names the socket this listener bound (same device and inode).
    bool still_ours() const;
    const std::string& path() const { return path_; }

private:
    UnixListener(EventLoop& loop, std::string path, AcceptFn on_accept);
    void on_fd_ready(int fd, std::uint32_t events) override;
    void accept_pending();
    void check_removed();

    EventLoop& loop_;
    std::string path_;
    AcceptFn on_accept_;
    UniqueFd fd_;
    UniqueFd inotify_;
    std::function<void()> on_removed_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
};

// A non-blocking stream connection. Reads into a bounded input buffer the handler consumes;
// writes go through a bounded output buffer. While output is pending the connection does not
// read (a client that does not read its replies cannot make us buffer more than one reply).
class StreamConnection final : private FdHandler {
public:
    class Handler {
    public:
        // New input (or EOF) is available: inspect input(), consume() what was used.
        virtual void on_input(StreamConnection& c) = 0;
        // The connection closed (EOF after replies, error, or close()); the handler may
        // destroy the object, but only after this call returns (post it to the loop).
        virtual void on_closed(StreamConnection& c) = 0;
        virtual ~Handler() = default;
    };
    struct Limits {
        std::size_t max_input = 64 * 1024;
        std::size_t max_output = 8 * 1024 * 1024;  // one reply; beyond it the client is cut off
    };

    // `loop` and `handler` must outlive the connection. Registers `fd` for reading.
    static Result<std::unique_ptr<StreamConnection>> adopt(EventLoop& loop, UniqueFd fd,
                                                           Handler& handler, Limits limits);
    ~StreamConnection() override;
    StreamConnection(const StreamConnection&) = delete;
    StreamConnection& operator=(const StreamConnection&) = delete;

    std::string_view input() const { return in_; }
    void consume(std::size_t n);
    bool eof() const { return eof_; }
    bool closed() const { return !fd_.valid(); }
    // Queued output not yet written: a handler stops taking pipelined requests until it is.
    bool output_pending() const { return out_off_ < out_.size(); }
    // Queues bytes (cut off when over Limits::max_output). Returns false once closed.
    bool send(std::string_view bytes);
    // Closes once queued output is written.
    void close_after_flush();
    void close();
    Instant last_activity() const { return last_activity_; }

private:
    StreamConnection(EventLoop& loop, UniqueFd fd, Handler& handler, Limits limits);
    void on_fd_ready(int fd, std::uint32_t events) override;
    void read_some();
    void flush();
    void update_interest();

    EventLoop& loop_;
    UniqueFd fd_;
    Handler& handler_;
    Limits limits_;
    std::string in_;
    std::string out_;
    std::size_t out_off_ = 0;
    bool eof_ = false;
    bool close_after_flush_ = false;
    bool notified_closed_ = false;
    Instant last_activity_{};
};

// Blocking client side for command-line tools: connects to `path` with `timeout` applied to
// every later read/write (SO_RCVTIMEO/SO_SNDTIMEO). kNotFound when nothing listens there.
Result<UniqueFd> connect_unix(const std::string& path, Duration timeout);

}  // namespace tunless::io
