#include "tools/tunless/app/uapi_server.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/log/log.hpp"
#include "tools/tunless/app/node.hpp"
#include "tools/tunless/app/uapi_apply.hpp"
#include "tools/tunless/app/uapi_counters.hpp"

namespace tunless::app {
namespace {

// mkdir that tolerates an existing directory.
Status ensure_dir(const std::string& dir, mode_t mode) {
    if (::mkdir(dir.c_str(), mode) == 0 || errno == EEXIST) return {};
    return fail(Errc::kIo, "mkdir " + dir + ": " + std::strerror(errno));
}

// The fallback directory for unprivileged runs, if $XDG_RUNTIME_DIR is set.
std::optional<std::string> user_run_dir() {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg == nullptr || xdg[0] != '/') return std::nullopt;
    return std::string(xdg) + "/tunless";
}

Result<std::unique_ptr<io::UnixListener>> bind_socket(io::EventLoop& loop, const std::string& name,
                                                      io::UnixListener::AcceptFn accept) {
    Status st = ensure_dir(kWireguardRunDir, 0755);
    if (st) {
        return io::UnixListener::listen(loop, std::string(kWireguardRunDir) + "/" + name + ".sock",
                                        std::move(accept));
    }
    auto dir = user_run_dir();
    if (!dir) return st.error();
    log::warn("{}; using {} instead (wg(8) only looks in {})", st.error().message, *dir,
              kWireguardRunDir);
    if (Status d = ensure_dir(*dir, 0700); !d) return d.error();
    return io::UnixListener::listen(loop, *dir + "/" + name + ".sock", std::move(accept));
}

}  // namespace

bool valid_interface_name(const std::string& name) {
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '=' || c == '+' || c == '.' || c == '-';
    });
}

std::string default_interface_name(const std::string& config_path) {
    std::string base = config_path.substr(config_path.rfind('/') + 1);
    if (const std::size_t dot = base.rfind('.'); dot != std::string::npos && dot > 0) {
        base.resize(dot);
    }
    return valid_interface_name(base) ? base : "tunless";
}

std::vector<std::string> control_socket_candidates(const std::string& name) {
    std::vector<std::string> out{std::string(kWireguardRunDir) + "/" + name + ".sock"};
    if (auto dir = user_run_dir()) out.push_back(*dir + "/" + name + ".sock");
    return out;
}

UapiServer::UapiServer(Node& node, std::string name) : node_(node), name_(std::move(name)) {}

UapiServer::~UapiServer() {
    if (sweep_timer_ != io::kNoTimer) node_.loop().cancel_timer(sweep_timer_);
    conns_.clear();
    listener_.reset();  // unlinks the socket file if it is still ours
}

Result<std::unique_ptr<UapiServer>> UapiServer::start(Node& node, const std::string& name,
                                                      std::function<void()> on_socket_removed) {
    std::unique_ptr<UapiServer> s(new UapiServer(node, name));
    UapiServer* self = s.get();
    auto l =
        bind_socket(node.loop(), name, [self](io::UniqueFd fd) { self->on_accept(std::move(fd)); });
    if (!l) return l.error();
    s->listener_ = std::move(*l);
    if (Status st = s->listener_->watch_removal(std::move(on_socket_removed)); !st) {
        log::warn("control socket: cannot watch for its removal: {}", st.error().message);
    }
    s->sweep_timer_ =
        node.loop().add_periodic(std::chrono::seconds(5), [self] { self->sweep_idle(); });
    log::info("control socket: {} (wg show {})", s->listener_->path(), name);
    return s;
}

void UapiServer::on_accept(io::UniqueFd fd) {
    if (conns_.size() >= kMaxControlConnections) {
        log::warn("control socket: {} connections open, refusing another", conns_.size());
        return;  // fd closes here
    }
    io::StreamConnection::Limits limits;
    limits.max_input = uapi::kMaxRequestBytes;
    auto c = io::StreamConnection::adopt(node_.loop(), std::move(fd), *this, limits);
    if (!c) {
        log::warn("control socket: {}", c.error().message);
        return;
    }
    conns_.push_back(std::move(*c));
}

void UapiServer::on_input(io::StreamConnection& c) {
    // One request at a time: while a reply is still being written, the rest waits.
    while (!c.closed() && !c.output_pending()) {
        uapi::Framed f = uapi::take_request(c.input(), c.eof());
        switch (f.kind) {
            case uapi::Framed::Kind::kIncomplete:
                if (c.eof()) c.close_after_flush();
                return;
            case uapi::Framed::Kind::kClose:
                log::debug("control socket: {}; closing",
                           f.failure.message.empty() ? "incomplete request" : f.failure.message);
                c.close();
                return;
            case uapi::Framed::Kind::kReject:
                log::warn("control socket: {}", f.failure.message);
                c.send(uapi::errno_reply(f.failure.errno_value));
                c.close_after_flush();
                return;
            case uapi::Framed::Kind::kRequest:
                c.consume(f.consumed);
                if (!serve(c, f.request)) {
                    c.close_after_flush();
                    return;
                }
                break;
        }
    }
}

bool UapiServer::serve(io::StreamConnection& c, const uapi::Request& r) {
    switch (r.op) {
        case uapi::Operation::kGet:
            c.send(uapi::serialize_get(device_info(node_)) + uapi::errno_reply(0));
            return true;
        case uapi::Operation::kGetTunless:
            c.send(uapi::serialize_pairs(tunless_counters(node_, name_)) + uapi::errno_reply(0));
            return true;
        case uapi::Operation::kSet:
            break;
    }
    uapi::SetParse parsed = uapi::parse_set(r.lines);
    ApplyResult applied = apply_set(node_, parsed.ops);
    int err = applied.errno_value;
    std::string message = applied.message;
    if (err == 0 && parsed.failure) {
        err = parsed.failure->errno_value;
        message = parsed.failure->message;
    }
    if (err != 0) log::warn("control socket: set failed (errno={}): {}", err, message);
    c.send(uapi::errno_reply(err));
    // wireguard-go stops reading the request at a bad line; the rest of it would be taken as
    // a new operation and end the connection. We end it directly.
    return err == 0;
}

void UapiServer::on_closed(io::StreamConnection& c) {
    // Destroyed after this callback returns (we are inside its event handler).
    node_.loop().post([this, p = &c] {
        auto it =
            std::find_if(conns_.begin(), conns_.end(), [p](const auto& u) { return u.get() == p; });
        if (it != conns_.end()) conns_.erase(it);
    });
}

void UapiServer::sweep_idle() {
    const Instant now = node_.loop().now();
    for (auto& c : conns_) {
        if (!c->closed() && now - c->last_activity() > kControlIdleTimeout) {
            log::debug("control socket: closing an idle connection");
            c->close();
        }
    }
}

}  // namespace tunless::app
