// app::UapiServer: the control socket. Serves the WireGuard cross-platform userspace API
// (https://www.wireguard.com/xplatform/) on /var/run/wireguard/NAME.sock so the stock wg(8)
// tool works against tunless (`wg show NAME`, `wg set NAME ...`, `wg showconf NAME`), plus
// the `get=tunless` counter extension used by `tunless status`. Deleting the socket file
// stops the daemon, as with wireguard-go. Created by run_daemon after Node::start.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "core/uapi/uapi_protocol.hpp"
#include "transports/unix_socket.hpp"

namespace tunless::app {

class Node;

inline constexpr const char* kWireguardRunDir = "/var/run/wireguard";
inline constexpr std::size_t kMaxControlConnections = 16;
inline constexpr Duration kControlIdleTimeout = std::chrono::seconds(30);

// wg's interface-name rules: 1..15 characters of [A-Za-z0-9_=+.-].
bool valid_interface_name(const std::string& name);
// Like wg-quick: the config file's base name without ".conf"/extension; "tunless" when that
// is not a valid interface name.
std::string default_interface_name(const std::string& config_path);
// Where the socket for `name` may live, in the order `tunless status` tries them:
// /var/run/wireguard/NAME.sock (the only place wg(8) looks), then, for unprivileged runs,
// $XDG_RUNTIME_DIR/tunless/NAME.sock.
std::vector<std::string> control_socket_candidates(const std::string& name);

class UapiServer final : private io::StreamConnection::Handler {
public:
    // Creates the directory if needed (wireguard-go: 0755 for /var/run/wireguard; 0700 for
    // the fallback), binds the socket (0600) and starts accepting. `on_socket_removed` runs
    // when the socket file disappears. `node` must outlive the server.
    static Result<std::unique_ptr<UapiServer>> start(Node& node, const std::string& name,
                                                     std::function<void()> on_socket_removed);
    ~UapiServer() override;
    UapiServer(const UapiServer&) = delete;
    UapiServer& operator=(const UapiServer&) = delete;

    const std::string& path() const { return listener_->path(); }

private:
    UapiServer(Node& node, std::string name);
    void on_accept(io::UniqueFd fd);
    void on_input(io::StreamConnection& c) override;
    void on_closed(io::StreamConnection& c) override;
    // Serves one request; false when the connection must close afterwards.
    bool serve(io::StreamConnection& c, const uapi::Request& r);
    void sweep_idle();

    Node& node_;
    std::string name_;
    std::unique_ptr<io::UnixListener> listener_;
    std::vector<std::unique_ptr<io::StreamConnection>> conns_;
    io::TimerId sweep_timer_ = io::kNoTimer;
};

}  // namespace tunless::app
