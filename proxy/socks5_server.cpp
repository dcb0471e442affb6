// One Session per client connection: greeting -> [auth] -> request -> connect -> splice.
// Every fault answers as docs/proxy-protocols.md says, then closes; the reply code for each
// connect outcome is socks_reply() below (docs/proxy.md has the table).
#include "proxy/socks5_server.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "proxy/mesh_dialer.hpp"
#include "proxy/socks5_codec.hpp"
#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

socks5::Reply socks_reply(DialOutcome o) {
    switch (o) {
        case DialOutcome::kConnected: return socks5::Reply::kSucceeded;
        case DialOutcome::kNotAllowed: return socks5::Reply::kNotAllowed;
        case DialOutcome::kNoAddress: return socks5::Reply::kNetworkUnreachable;
        case DialOutcome::kResolveFailed: return socks5::Reply::kHostUnreachable;
        case DialOutcome::kRefused: return socks5::Reply::kConnectionRefused;
        case DialOutcome::kTimedOut: return socks5::Reply::kTtlExpired;
        case DialOutcome::kNoSession: return socks5::Reply::kHostUnreachable;
        case DialOutcome::kLimitReached: return socks5::Reply::kGeneralFailure;
        case DialOutcome::kFailed: return socks5::Reply::kGeneralFailure;
    }
    return socks5::Reply::kGeneralFailure;
}

log::RateLimit g_log_limit(10, 10s);

}  // namespace

class Socks5Server::Session final : public proxy::Session,
                                    public io::FdHandler,
                                    public SpliceObserver {
public:
    Session(Socks5Server& server, io::UniqueFd fd, const Endpoint& client)
        : server_(server), ctx_(server.ctx_), fd_(std::move(fd)), client_(client),
          credentials_(server.options_.credentials),
          buf_(std::make_unique<std::array<std::uint8_t, socks5::kMaxClientMessageSize>>()),
          deadline_(ctx_.loop.now() + ctx_.negotiation_timeout) {}

    ~Session() override {
        if (registered_) {
            ctx_.loop.remove_fd(fd_.get());
        }
    }

    void begin() {
        if (!ctx_.loop.add_fd(fd_.get(), io::kRead, *this)) {
            finish();
            return;
        }
        registered_ = true;
    }
    // Over MaxConnections: negotiate as usual, then answer the request with 0x01 (general
    // SOCKS server failure, RFC 1928 §6) and close, so the client sees a SOCKS error.
    void begin_refusal() {
        refusing_ = true;
        begin();
    }

    void on_fd_ready(int fd, std::uint32_t events) override {
        if (phase_ != Phase::kGreeting && phase_ != Phase::kAuth && phase_ != Phase::kRequest) {
            if ((events & (io::kError | io::kHangup)) != 0) {
                finish();  // the client left while we were connecting
            }
            return;
        }
        const ssize_t n = ::recv(fd, buf_->data() + size_, buf_->size() - size_, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            finish();
            return;
        }
        if (n > 0) {
            size_ += static_cast<std::size_t>(n);
            process();
        }
    }

    void on_splice_end(Splice& splice, SpliceEnd how) override {
        (void)splice;
        (void)how;
        server_.sessions_.finish(*this);
    }

    void on_tick(Instant now) override {
        if (splice_) {
            splice_->check_idle(ctx_.stack.now());
        } else if (phase_ != Phase::kConnecting && now >= deadline_) {
            reject("negotiation_timeout");
        }
    }

    void abort() override {
        if (splice_) {
            splice_->abort();
        } else {
            close_with_reset(fd_);
            finish();
        }
    }

private:
    enum class Phase : std::uint8_t { kGreeting, kAuth, kRequest, kConnecting, kSplicing, kDone };

    ByteView pending() const { return ByteView(buf_->data(), size_); }
    void drop_front(std::size_t n) {
        std::memmove(buf_->data(), buf_->data() + n, size_ - n);
        size_ -= n;
    }
    void reject(const char* what) {
        log::debug_limited(g_log_limit, ctx_.loop.now(), "socks5 {}: {}", client_.to_string(),
                           what);
        server_.stats_.reject(what);
        finish();
    }
    void finish() {
        if (registered_) {
            ctx_.loop.remove_fd(fd_.get());
            registered_ = false;
        }
        phase_ = Phase::kDone;
        fd_.reset();
        server_.sessions_.finish(*this);
    }

    void process() {
        while (phase_ == Phase::kGreeting || phase_ == Phase::kAuth || phase_ == Phase::kRequest) {
            if (phase_ == Phase::kGreeting) {
                auto r = socks5::parse_greeting(pending());
                if (r.need_more()) return;
                if (r.failed()) return reject(socks5::fault_name(r.fault));  // no reply (§3)
                const bool need_auth = credentials_.has_value();
                const socks5::Method m = socks5::select_method(r.value, need_auth);
                const auto sel = socks5::build_method_selection(m);
                if (!send_all_small(fd_.get(), sel) || m == socks5::Method::kNoAcceptable) {
                    return reject("no_acceptable_method");
                }
                drop_front(r.consumed);
                phase_ = m == socks5::Method::kUserPass ? Phase::kAuth : Phase::kRequest;
            } else if (phase_ == Phase::kAuth) {
                auto r = socks5::parse_auth_request(pending());
                if (r.need_more()) return;
                const bool ok = r.done() && credentials_ &&
                                credentials_->matches(r.value.username, r.value.password);
                const auto status = socks5::build_auth_status(ok);
                if (!send_all_small(fd_.get(), status) || !ok) {
                    return reject(r.failed() ? socks5::fault_name(r.fault) : "auth_failed");
                }
                drop_front(r.consumed);
                phase_ = Phase::kRequest;
            } else {
                auto r = socks5::parse_request(pending());
                if (r.need_more()) return;
                if (r.failed()) {
                    const auto reply = socks5::build_failure_reply(socks5::reply_for(r.fault));
                    (void)send_all_small(fd_.get(), reply.view());
                    return reject(socks5::fault_name(r.fault));
                }
                drop_front(r.consumed);
                return handle(r.value);
            }
        }
    }

    void handle(const socks5::Request& req) {
        if (refusing_) {
            (void)send_all_small(
                fd_.get(), socks5::build_failure_reply(socks5::Reply::kGeneralFailure).view());
            return finish();  // counted as refused when it was accepted
        }
        if (req.command == socks5::Command::kUdpAssociate && server_.udp_handler_ != nullptr) {
            ctx_.loop.remove_fd(fd_.get());
            registered_ = false;
            UdpAssociateRequest assoc{std::move(fd_), client_, req.target,
                                      Bytes(pending().begin(), pending().end())};
            phase_ = Phase::kDone;
            server_.sessions_.finish(*this);
            server_.udp_handler_->on_udp_associate(std::move(assoc));
            return;
        }
        if (req.command != socks5::Command::kConnect) {  // BIND, or UDP without a handler
            (void)send_all_small(
                fd_.get(),
                socks5::build_failure_reply(socks5::Reply::kCommandNotSupported).view());
            return reject(req.command == socks5::Command::kBind ? "bind_unsupported"
                                                                : "udp_associate_unsupported");
        }
        phase_ = Phase::kConnecting;
        target_ = req.target;
        (void)ctx_.loop.modify_fd(fd_.get(), 0);  // early data waits in the socket
        dialer_ = std::make_unique<MeshDialer>(
            ctx_, [this](DialOutcome o, std::unique_ptr<net::TcpConnection> c) {
                on_dialed(o, std::move(c));
            });
        dialer_->start(req.target);
    }

    void on_dialed(DialOutcome o, std::unique_ptr<net::TcpConnection> conn) {
        if (o != DialOutcome::kConnected) {
            ++server_.stats_.failed;
            log::debug_limited(g_log_limit, ctx_.loop.now(), "socks5 {}: connect {}: {}",
                               client_.to_string(), target_.to_string(), dial_outcome_name(o));
            (void)send_all_small(fd_.get(), socks5::build_failure_reply(socks_reply(o)).view());
            return finish();
        }
        const net::TcpEndpoints& ep = conn->endpoints();
        const auto reply = socks5::build_reply(socks5::Reply::kSucceeded,
                                               Target::from_ip(ep.local_ip, ep.local_port));
        ctx_.loop.remove_fd(fd_.get());
        registered_ = false;
        const bool sent = send_all_small(fd_.get(), reply.view());
        Bytes early(pending().begin(), pending().end());
        buf_.reset();
        size_ = 0;
        phase_ = Phase::kSplicing;
        splice_ = std::make_unique<Splice>(ctx_.splices, server_.stats_.traffic, *this,
                                           std::move(fd_), std::move(conn));
        if (!sent) {
            splice_->abort();
            return;
        }
        splice_->start(std::move(early));
    }

    Socks5Server& server_;
    ServiceContext& ctx_;
    io::UniqueFd fd_;
    Endpoint client_;
    std::optional<Credentials> credentials_;  // as configured when the client was accepted
    std::unique_ptr<std::array<std::uint8_t, socks5::kMaxClientMessageSize>> buf_;
    std::size_t size_ = 0;
    Instant deadline_;
    Phase phase_ = Phase::kGreeting;
    bool registered_ = false;
    bool refusing_ = false;
    Target target_;
    std::unique_ptr<MeshDialer> dialer_;
    std::unique_ptr<Splice> splice_;
};

Result<std::unique_ptr<Socks5Server>> Socks5Server::create(ServiceContext& ctx,
                                                           const Options& options) {
    std::unique_ptr<Socks5Server> s(new Socks5Server(ctx, options));
    auto l = HostListener::open(ctx.loop, options.bind,
                                [srv = s.get()](io::UniqueFd fd, const Endpoint& client) {
                                    srv->on_accept(std::move(fd), client);
                                });
    if (!l) {
        return l.error();
    }
    s->listener_ = std::move(*l);
    s->stats_.name = "socks5 " + s->listener_->local().to_string();
    return s;
}

Socks5Server::Socks5Server(ServiceContext& ctx, const Options& options)
    : ctx_(ctx), options_(options), sessions_(ctx.loop, stats_, options.max_connections) {}

Socks5Server::~Socks5Server() = default;

void Socks5Server::on_accept(io::UniqueFd fd, const Endpoint& client) {
    sessions_.start_host_session<Session>(*this, std::move(fd), client);
}

void Socks5Server::reconfigure(const Options& options) {
    options_ = options;
    sessions_.set_max_sessions(options.max_connections);
}

void Socks5Server::shutdown() {
    listener_.reset();
    sessions_.abort_all();
}

}  // namespace tunless::proxy
