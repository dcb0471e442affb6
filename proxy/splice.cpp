// Flow control follows engineering notes §6.4; lifetime rules §7.3.6 (the owner destroys the
// splice from a posted task; inside lwIP callbacks we only close()/abort() the connection).
#include "proxy/splice.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "proxy/host_socket.hpp"
#include "tools/log/log.hpp"

namespace tunless::proxy {

// ---- SpliceRuntime ---------------------------------------------------------------------------

SpliceRuntime::SpliceRuntime(io::EventLoop& loop, const SpliceOptions& options)
    : loop_(loop),
      options_(options),
      scratch_(std::max<std::size_t>(options.io_chunk, 4096)),
      alive_(std::make_shared<bool>(true)) {}

SpliceRuntime::~SpliceRuntime() { *alive_ = false; }

void SpliceRuntime::schedule(Splice* splice) {
    if (splice->scheduled_) {
        return;
    }
    splice->scheduled_ = true;
    pending_.push_back(splice);
    if (!posted_) {
        posted_ = true;
        loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
            if (auto a = alive.lock(); a && *a) {
                run();
            }
        });
    }
}

void SpliceRuntime::cancel(Splice* splice) {
    std::replace(pending_.begin(), pending_.end(), splice, static_cast<Splice*>(nullptr));
}

void SpliceRuntime::run() {
    posted_ = false;
    std::vector<Splice*> batch;
    batch.swap(pending_);
    for (Splice* s : batch) {
        if (s != nullptr) {
            s->scheduled_ = false;
            s->flush_to_host();
        }
    }
    if (pending_.empty()) {
        batch.clear();
        pending_.swap(batch);  // keep the capacity: no allocation per round
    }
}

const char* splice_end_name(SpliceEnd e) {
    switch (e) {
        case SpliceEnd::kClosed: return "closed";
        case SpliceEnd::kHostReset: return "host_reset";
        case SpliceEnd::kMeshReset: return "mesh_reset";
        case SpliceEnd::kIdle: return "idle";
        case SpliceEnd::kAborted: return "aborted";
    }
    return "?";
}

// ---- Splice: setup and teardown --------------------------------------------------------------

Splice::Splice(SpliceRuntime& runtime, TrafficCounters& counters, SpliceObserver& observer,
               io::UniqueFd host, std::unique_ptr<net::TcpConnection> mesh)
    : rt_(runtime), counters_(counters), observer_(observer),
      fd_(runtime.loop(), std::move(host)), mesh_(std::move(mesh)) {}

Splice::~Splice() {
    rt_.cancel(this);
    if (mesh_) {
        mesh_->set_handler(nullptr);
        if (!ended_) {
            mesh_->abort();
            close_with_reset(fd_.release());
        }
    }
}

void Splice::start(Bytes to_mesh_first, Bytes to_host_first) {
    pending_to_mesh_ = std::move(to_mesh_first);
    pending_to_host_ = std::move(to_host_first);
    mesh_->set_handler(this);
    interest_ = io::kRead;
    if (!fd_.watch(interest_, *this)) {
        end(SpliceEnd::kHostReset);
        return;
    }
    pump_to_mesh();
    if (!ended_) {
        rt_.schedule(this);  // data or a FIN may already be queued on the mesh side
    }
}

bool Splice::check_idle(Instant now) {
    if (ended_ || now - mesh_->last_activity() < rt_.options().idle_timeout) {
        return false;
    }
    end(SpliceEnd::kIdle);
    return true;
}

void Splice::end(SpliceEnd how) {
    if (ended_) {
        return;
    }
    ended_ = true;
    if (how == SpliceEnd::kClosed) {
        fd_.reset();
        mesh_->close();  // both FINs are done and every received byte consumed: no RST
    } else {
        close_with_reset(fd_.release());
        mesh_->abort();
    }
    observer_.on_splice_end(*this, how);
}

void Splice::check_done() {
    if (!ended_ && host_eof_ && mesh_fin_sent_ && host_wr_shut_ && pending_to_mesh_.empty()) {
        end(SpliceEnd::kClosed);
    }
}

void Splice::update_interest() {
    if (!fd_.watched()) {
        return;
    }
    const std::uint32_t want = (reading_ && !host_eof_ ? io::kRead : 0U) |
                               (want_write_ ? io::kWrite : 0U);
    if (want != interest_) {
        interest_ = want;
        if (!fd_.set_interest(want)) {
            host_failed();
        }
    }
}

// ---- host -> mesh ----------------------------------------------------------------------------

bool Splice::flush_pending_to_mesh() {
    if (pending_to_mesh_.empty()) {
        return true;
    }
    const std::size_t n = mesh_->write(pending_to_mesh_);
    counters_.to_mesh += n;
    pending_to_mesh_.erase(pending_to_mesh_.begin(),
                           pending_to_mesh_.begin() + static_cast<std::ptrdiff_t>(n));
    if (!pending_to_mesh_.empty()) {
        return false;  // write() asked for on_writable itself
    }
    if (host_eof_ && !mesh_fin_sent_) {
        host_eof();
    }
    return true;
}

void Splice::pump_to_mesh() {
    if (!flush_pending_to_mesh()) {
        reading_ = false;
        update_interest();
        return;
    }
    std::size_t budget = kMaxBytesPerEvent;
    MutByteView scratch = rt_.scratch();
    while (!host_eof_ && budget > 0) {
        const std::size_t cap = mesh_->write_capacity();
        if (cap == 0) {
            reading_ = false;
            mesh_->request_writable();
            update_interest();
            return;
        }
        const std::size_t want = std::min({cap, scratch.size(), budget});
        const ssize_t n = ::recv(fd_.get(), scratch.data(), want, 0);
        if (n > 0) {
            const auto got = static_cast<std::size_t>(n);
            const std::size_t took = mesh_->write(ByteView(scratch.data(), got));
            counters_.to_mesh += took;
            budget -= got;
            if (took < got) {  // lwIP out of memory: keep the rest, wait for on_writable
                pending_to_mesh_.assign(scratch.begin() + static_cast<std::ptrdiff_t>(took),
                                        scratch.begin() + static_cast<std::ptrdiff_t>(got));
                reading_ = false;
                update_interest();
                return;
            }
            if (got < want && !parked()) {
                break;  // drained: skip the extra EAGAIN round trip (epoll reports more)
            }
        } else if (n == 0) {
            host_eof();
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (parked() && fd_.watch(io::kRead, *this)) {
                interest_ = io::kRead;  // not hung up after all: poll again
            }
            break;
        } else {
            host_failed();
            return;
        }
    }
    reading_ = true;
    if (parked() && budget == 0) {
        mesh_->request_writable();  // not polled any more: continue from the next ACK
    }
    update_interest();
}

void Splice::host_eof() {
    log::debug("splice fd {}: host EOF (pending {})", fd_.get(), pending_to_mesh_.size());
    host_eof_ = true;
    reading_ = false;
    update_interest();
    if (pending_to_mesh_.empty() && !mesh_fin_sent_) {
        if (!mesh_->shutdown_write()) {
            end(SpliceEnd::kMeshReset);
            return;
        }
        mesh_fin_sent_ = true;
    }
    check_done();
}

// ---- mesh -> host ----------------------------------------------------------------------------

bool Splice::flush_pending_to_host() {
    while (pending_to_host_off_ < pending_to_host_.size()) {
        const ssize_t n = ::send(fd_.get(), pending_to_host_.data() + pending_to_host_off_,
                                 pending_to_host_.size() - pending_to_host_off_,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pending_to_host_off_ += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_write_ = true;
            update_interest();
            return false;
        } else {
            host_failed();
            return false;
        }
    }
    Bytes().swap(pending_to_host_);
    pending_to_host_off_ = 0;
    return true;
}

void Splice::flush_to_host() {
    if (ended_ || !flush_pending_to_host()) {
        return;
    }
    std::array<ByteView, kMaxIovecRuns> runs;
    std::array<iovec, kMaxIovecRuns> iov;
    std::size_t budget = kMaxBytesPerEvent;
    while (budget > 0) {
        const std::size_t count = mesh_->peek_runs(runs);
        if (count == 0) {
            break;
        }
        std::size_t total = 0;
        for (std::size_t i = 0; i < count; ++i) {
            iov[i].iov_base = const_cast<std::uint8_t*>(runs[i].data());
            iov[i].iov_len = runs[i].size();
            total += runs[i].size();
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = count;
        const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            const auto sent = static_cast<std::size_t>(n);
            mesh_->consume(sent);  // reopens the peer's window by exactly what left
            counters_.to_host += sent;
            budget -= std::min(budget, sent);
            if (sent < total) {
                want_write_ = true;
                update_interest();
                return;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_write_ = true;
            update_interest();
            return;
        } else {
            host_failed();
            return;
        }
    }
    if (mesh_->readable_bytes() > 0) {
        rt_.schedule(this);  // budget used up: continue next round, others go first
        return;
    }
    want_write_ = false;
    if (mesh_->peer_finished() && !host_wr_shut_) {
        log::debug("splice fd {}: mesh FIN -> host SHUT_WR", fd_.get());
        ::shutdown(fd_.get(), SHUT_WR);
        host_wr_shut_ = true;
    }
    update_interest();
    check_done();
}

// ---- events ----------------------------------------------------------------------------------

void Splice::on_fd_ready(int fd, std::uint32_t events) {
    (void)fd;
    if ((events & io::kError) != 0) {
        host_failed();
        return;
    }
    if ((events & (io::kRead | io::kHangup)) != 0 && reading_ && !host_eof_) {
        pump_to_mesh();
    }
    if (!ended_ && (events & io::kWrite) != 0) {
        flush_to_host();
    }
    if (!ended_ && (events & io::kHangup) != 0 && fd_.watched() && (!reading_ || host_eof_)) {
        // Both directions of the socket are down and EPOLLHUP stays set (level-triggered):
        // stop polling instead of spinning. Reads still drain what the socket holds (resumed
        // from on_writable); sends now fail with EPIPE, which resets the mesh side. While
        // reading is on, the next rounds keep reading until EOF.
        fd_.unwatch();
    }
}

void Splice::on_readable(net::TcpConnection& conn) {
    (void)conn;
    if (!ended_) {
        rt_.schedule(this);
    }
}

void Splice::on_peer_fin(net::TcpConnection& conn) {
    (void)conn;
    if (!ended_) {
        rt_.schedule(this);
    }
}

void Splice::on_writable(net::TcpConnection& conn) {
    (void)conn;
    if (!ended_) {
        pump_to_mesh();
    }
}

void Splice::on_error(net::TcpConnection& conn, const Error& error) {
    (void)conn;
    (void)error;
    end(SpliceEnd::kMeshReset);
}

}  // namespace tunless::proxy
