#include "proxy/mesh_dialer.hpp"

namespace tunless::proxy {

const char* dial_outcome_name(DialOutcome o) {
    switch (o) {
        case DialOutcome::kConnected: return "connected";
        case DialOutcome::kNotAllowed: return "not in any peer's AllowedIPs";
        case DialOutcome::kNoAddress: return "no mesh address of that family";
        case DialOutcome::kResolveFailed: return "name did not resolve";
        case DialOutcome::kRefused: return "connection refused";
        case DialOutcome::kTimedOut: return "connect timed out";
        case DialOutcome::kNoSession: return "peer unreachable (no WireGuard session)";
        case DialOutcome::kLimitReached: return "connection limit reached";
        case DialOutcome::kFailed: return "failed";
    }
    return "?";
}

MeshDialer::MeshDialer(ServiceContext& ctx, Done done) : ctx_(ctx), done_(std::move(done)) {}

MeshDialer::~MeshDialer() {
    if (resolving_) {
        ctx_.resolver.cancel(resolve_id_);
    }
    if (timer_ != io::kNoTimer) {
        ctx_.loop.cancel_timer(timer_);
    }
    if (conn_) {
        conn_->set_handler(nullptr);
        conn_->abort();
    }
}

void MeshDialer::start(const Target& target) {
    port_ = target.port;
    if (target.is_ip()) {
        connect_to({target.ip});
        return;
    }
    if (auto literal = IpAddress::parse(target.domain.view())) {
        connect_to({*literal});  // RFC 1928 DOMAIN may carry a literal; never resolve it
        return;
    }
    resolving_ = true;
    resolve_id_ = ctx_.resolver.resolve(
        target.domain.view(), [this](Result<std::vector<IpAddress>> r) {
            resolving_ = false;
            if (!r) {
                complete(r.error().code == Errc::kLimitReached ? DialOutcome::kLimitReached
                                                               : DialOutcome::kResolveFailed);
                return;
            }
            connect_to(*r);
        });
}

void MeshDialer::connect_to(const std::vector<IpAddress>& candidates) {
    // The first address the mesh routes: a name may also resolve to host-network addresses,
    // which the proxy must never use.
    const IpAddress* pick = nullptr;
    for (const IpAddress& a : candidates) {
        if (ctx_.routes.route(a).routed) {
            pick = &a;
            break;
        }
    }
    if (pick == nullptr) {
        if (!candidates.empty()) {
            ip_ = candidates.front();
        }
        complete(DialOutcome::kNotAllowed);
        return;
    }
    ip_ = *pick;
    auto c = net::TcpConnection::connect(ctx_.stack, ip_, port_, *this);
    if (!c) {
        const Errc code = c.error().code;
        complete(code == Errc::kLimitReached  ? DialOutcome::kLimitReached
                 : code == Errc::kUnreachable ? DialOutcome::kNoAddress
                                              : DialOutcome::kFailed);
        return;
    }
    conn_ = std::move(*c);
    timer_ = ctx_.loop.add_timer(ctx_.connect_timeout, [this] {
        timer_ = io::kNoTimer;
        on_timeout();
    });
}

void MeshDialer::on_timeout() {
    if (conn_) {
        conn_->abort();
    }
    complete(ctx_.routes.route(ip_).session ? DialOutcome::kTimedOut : DialOutcome::kNoSession);
}

void MeshDialer::on_connected(net::TcpConnection& conn) {
    (void)conn;
    if (timer_ != io::kNoTimer) {
        ctx_.loop.cancel_timer(timer_);
        timer_ = io::kNoTimer;
    }
    if (completed_) {
        return;
    }
    completed_ = true;
    std::unique_ptr<net::TcpConnection> handed = std::move(conn_);
    handed->set_handler(nullptr);
    done_(DialOutcome::kConnected, std::move(handed));
}

void MeshDialer::on_error(net::TcpConnection& conn, const Error& error) {
    (void)conn;
    if (error.code == Errc::kRefused) {
        complete(DialOutcome::kRefused);
    } else if (error.code == Errc::kTimedOut) {
        complete(ctx_.routes.route(ip_).session ? DialOutcome::kTimedOut
                                                : DialOutcome::kNoSession);
    } else {
        complete(DialOutcome::kFailed);
    }
}

void MeshDialer::complete(DialOutcome outcome) {
    if (completed_) {
        return;
    }
    completed_ = true;
    if (timer_ != io::kNoTimer) {
        ctx_.loop.cancel_timer(timer_);
        timer_ = io::kNoTimer;
    }
    done_(outcome, nullptr);  // conn_ (if any) stays ours until the dialer is destroyed
}

}  // namespace tunless::proxy
