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

// Over MaxConnections (begin_refusal) the negotiation runs as usual, then the request is
// answered with 0x01 (general SOCKS server failure, RFC 1928 §6) and the connection closed, so
// the client sees a SOCKS error.
class Socks5Server::Session final : public LocalProxySession {
public:
    Session(Socks5Server& server, io::UniqueFd fd, const Endpoint& client)
        : LocalProxySession(server, std::move(fd), client), server_(server),
          buf_(std::make_unique<std::array<std::uint8_t, socks5::kMaxClientMessageSize>>()) {}

private:
    // Only negotiation needs a phase: once the request is handled, LocalProxySession's dialer and
    // splice say where the session is.
    enum class Phase : std::uint8_t { kGreeting, kAuth, kRequest, kOver };

    void on_client_readable(int fd) override {
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

    void on_negotiation_timeout() override { reject("negotiation_timeout"); }

    ByteView pending() const { return ByteView(buf_->data(), size_); }
    void drop_front(std::size_t n) {
        std::memmove(buf_->data(), buf_->data() + n, size_ - n);
        size_ -= n;
    }
    void reject(const char* what) {
        log::debug_limited(g_log_limit, ctx_.loop.now(), "socks5 {}: {}", client_.to_string(),
                           what);
        stats().reject(what);
        done();
    }
    void done() {
        phase_ = Phase::kOver;
        finish();
    }

    void process() {
        while (phase_ != Phase::kOver) {
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
                phase_ = Phase::kOver;
                return handle(r.value);
            }
        }
    }

    void handle(const socks5::Request& req) {
        if (refusing()) {
            (void)send_all_small(
                fd_.get(), socks5::build_failure_reply(socks5::Reply::kGeneralFailure).view());
            return done();  // counted as refused when it was accepted
        }
        if (req.command == socks5::Command::kUdpAssociate && server_.udp_handler_ != nullptr) {
            UdpAssociateRequest assoc{release_client(), client_, req.target,
                                      Bytes(pending().begin(), pending().end())};
            done();
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
        target_ = req.target;
        dial(req.target);  // early data waits in the socket
    }

    void on_dialed(DialOutcome o, std::unique_ptr<net::TcpConnection> conn) override {
        if (o != DialOutcome::kConnected) {
            ++stats().failed;
            log::debug_limited(g_log_limit, ctx_.loop.now(), "socks5 {}: connect {}: {}",
                               client_.to_string(), target_.to_string(), dial_outcome_name(o));
            (void)send_all_small(fd_.get(), socks5::build_failure_reply(socks_reply(o)).view());
            return done();
        }
        const net::TcpEndpoints& ep = conn->endpoints();
        const auto reply = socks5::build_reply(socks5::Reply::kSucceeded,
                                               Target::from_ip(ep.local_ip, ep.local_port));
        Bytes early(pending().begin(), pending().end());
        buf_.reset();
        size_ = 0;
        start_splice(std::move(conn), reply.view(), std::move(early));
    }

    Socks5Server& server_;
    std::unique_ptr<std::array<std::uint8_t, socks5::kMaxClientMessageSize>> buf_;
    std::size_t size_ = 0;
    Phase phase_ = Phase::kGreeting;
    Target target_;
};

Result<std::unique_ptr<Socks5Server>> Socks5Server::create(ServiceContext& ctx,
                                                           const Options& options) {
    std::unique_ptr<Socks5Server> s(new Socks5Server(ctx, options));
    if (auto st = s->listen<Session>(*s, "socks5"); !st) return st.error();
    return s;
}

Socks5Server::Socks5Server(ServiceContext& ctx, const Options& options)
    : LocalProxy(ctx, options) {}

Socks5Server::~Socks5Server() = default;

}  // namespace tunless::proxy
