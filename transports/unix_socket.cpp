#include "transports/unix_socket.hpp"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace tunless::io {
namespace {

constexpr int kMaxAcceptPerWakeup = 16;
constexpr std::size_t kReadChunk = 4096;

Unexpected errno_fail(const std::string& what, int err) {
    return fail(Errc::kIo, what + ": " + std::strerror(err));
}

Result<sockaddr_un> make_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path) {
        return fail(Errc::kInvalidArgument, "socket path too long: " + path);
    }
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

std::string dir_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Existing file at `path`: stale socket -> removed; live socket or other file -> error.
Status clear_stale(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};  // nothing there
    if (!S_ISSOCK(st.st_mode)) {
        return fail(Errc::kAlreadyExists, path + " exists and is not a socket; not touching it");
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe) return errno_fail("socket(AF_UNIX)", errno);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        return fail(Errc::kAlreadyExists, "another process is listening on " + path);
    }
    if (errno != ECONNREFUSED) return errno_fail("probe " + path, errno);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_fail("unlink " + path, errno);
    return {};
}

}  // namespace

UnixListener::UnixListener(EventLoop& loop, std::string path, AcceptFn on_accept)
    : loop_(loop), path_(std::move(path)), on_accept_(std::move(on_accept)) {}

UnixListener::~UnixListener() {
    if (inotify_) loop_.remove_fd(inotify_.get());
    if (fd_) {
        loop_.remove_fd(fd_.get());
        if (still_ours()) ::unlink(path_.c_str());
    }
}

Result<std::unique_ptr<UnixListener>> UnixListener::listen(EventLoop& loop, const std::string& path,
                                                           AcceptFn on_accept) {
    auto addr = make_address(path);
    if (!addr) return addr.error();
    if (Status st = clear_stale(path, *addr); !st) return st.error();
    std::unique_ptr<UnixListener> l(new UnixListener(loop, path, std::move(on_accept)));
    l->fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!l->fd_) return errno_fail("socket(AF_UNIX)", errno);
    // Single-threaded process: nothing else creates files while the umask is narrowed.
    const mode_t old_mask = ::umask(0177);  // socket files are created 0777 & ~umask: 0600
    const int rc = ::bind(l->fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
    const int bind_errno = errno;
    ::umask(old_mask);
    if (rc != 0) {
        return fail(bind_errno == EADDRINUSE ? Errc::kAlreadyExists : Errc::kIo,
                    "bind " + path + ": " + std::strerror(bind_errno));
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_fail("stat " + path, errno);
    l->dev_ = st.st_dev;
    l->ino_ = st.st_ino;
    if (::listen(l->fd_.get(), 16) != 0) return errno_fail("listen " + path, errno);
    if (Status s = loop.add_fd(l->fd_.get(), kRead, *l); !s) return s.error();
    return l;
}

Status UnixListener::watch_removal(std::function<void()> on_removed) {
    on_removed_ = std::move(on_removed);
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) return errno_fail("inotify_init1", errno);
    const std::string dir = dir_of(path_);
    if (::inotify_add_watch(inotify_.get(), dir.c_str(),
                            IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF |
                                IN_MOVE_SELF) < 0) {
        const int err = errno;
        inotify_.reset();
        return errno_fail("inotify_add_watch " + dir, err);
    }
    return loop_.add_fd(inotify_.get(), kRead, *this);
}

bool UnixListener::still_ours() const {
    struct stat st {};
    return ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
}

void UnixListener::on_fd_ready(int fd, std::uint32_t events) {
    if (fd == fd_.get()) {
        accept_pending();
        return;
    }
    if (inotify_ && fd == inotify_.get()) {
        (void)events;
        check_removed();
    }
}

void UnixListener::accept_pending() {
    for (int i = 0; i < kMaxAcceptPerWakeup; ++i) {
        UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!c) return;  // EAGAIN, or a connection reset before we got it
        on_accept_(std::move(c));
    }
}

void UnixListener::check_removed() {
    // Drain the events; which file they name does not matter, the inode check decides.
    alignas(inotify_event) char buf[4096];
    while (::read(inotify_.get(), buf, sizeof buf) > 0) {
    }
    if (still_ours() || !on_removed_) return;
    loop_.remove_fd(inotify_.get());
    inotify_.reset();
    auto cb = std::move(on_removed_);
    on_removed_ = nullptr;
    cb();
}

// ---- StreamConnection ---------------------------------------------------------------------

StreamConnection::StreamConnection(EventLoop& loop, UniqueFd fd, Handler& handler, Limits limits)
    : loop_(loop),
      fd_(std::move(fd)),
      handler_(handler),
      limits_(limits),
      last_activity_(loop.now()) {}

StreamConnection::~StreamConnection() {
    if (fd_) loop_.remove_fd(fd_.get());
}

Result<std::unique_ptr<StreamConnection>> StreamConnection::adopt(EventLoop& loop, UniqueFd fd,
                                                                  Handler& handler, Limits limits) {
    std::unique_ptr<StreamConnection> c(new StreamConnection(loop, std::move(fd), handler, limits));
    if (Status st = loop.add_fd(c->fd_.get(), kRead, *c); !st) return st.error();
    return c;
}

void StreamConnection::consume(std::size_t n) { in_.erase(0, std::min(n, in_.size())); }

bool StreamConnection::send(std::string_view bytes) {
    if (closed()) return false;
    if (out_.size() - out_off_ + bytes.size() > limits_.max_output) {
        close();  // a reply larger than the cap: cut the client off rather than grow
        return false;
    }
    out_.append(bytes);
    flush();
    return !closed();
}

void StreamConnection::close_after_flush() {
    close_after_flush_ = true;
    if (out_off_ == out_.size()) close();
}

void StreamConnection::close() {
    if (fd_) {
        loop_.remove_fd(fd_.get());
        fd_.reset();
    }
    if (!notified_closed_) {
        notified_closed_ = true;
        handler_.on_closed(*this);
    }
}

void StreamConnection::on_fd_ready(int /*fd*/, std::uint32_t events) {
    last_activity_ = loop_.now();
    if (events & kWrite) flush();
    if (closed()) return;
    if (events & kRead) {
        read_some();
    } else if (events & (kError | kHangup)) {
        close();
    }
}

void StreamConnection::read_some() {
    while (in_.size() <= limits_.max_input && !eof_) {
        char buf[kReadChunk];
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            eof_ = true;
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close();
        return;
    }
    handler_.on_input(*this);
    if (closed()) return;
    if (eof_ && out_off_ == out_.size()) {
        close();  // the client is done and has all its replies
        return;
    }
    update_interest();
}

void StreamConnection::flush() {
    while (out_off_ < out_.size()) {
        const ssize_t n =
            ::send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
        if (n > 0) {
            out_off_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        close();
        return;
    }
    if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
        // At EOF, requests still buffered are served first (update_interest hands them over).
        if (close_after_flush_ || (eof_ && in_.empty())) {
            close();
            return;
        }
    }
    update_interest();
}

void StreamConnection::update_interest() {
    if (closed()) return;
    const bool pending = out_off_ < out_.size();
    // Pending output: stop reading (backpressure). Otherwise read unless the buffer is full.
    std::uint32_t want = pending ? kWrite : (in_.size() <= limits_.max_input ? kRead : 0);
    if (loop_.interest(fd_.get()) != want) (void)loop_.modify_fd(fd_.get(), want);
    if (!pending && !in_.empty() && want == kRead) {
        // Pipelined requests already buffered: let the handler see them after this round.
        loop_.post([this] {
            if (!closed() && out_off_ == out_.size() && !in_.empty()) handler_.on_input(*this);
        });
    }
}

Result<UniqueFd> connect_unix(const std::string& path, Duration timeout) {
    auto addr = make_address(path);
    if (!addr) return addr.error();
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_fail("socket(AF_UNIX)", errno);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        const int err = errno;
        return fail(err == ENOENT || err == ECONNREFUSED ? Errc::kNotFound : Errc::kIo,
                    "connect " + path + ": " + std::strerror(err));
    }
    return fd;
}

}  // namespace tunless::io
