// app::run_daemon: builds the Node and the services on top of it, installs the signal
// handlers, opens the control socket, and runs until SIGINT/SIGTERM or the socket file is
// deleted.
#include "tools/tunless/app/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <optional>

#include "proxy/services.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/daemonize.hpp"
#include "tools/tunless/app/fd_budget.hpp"
#include "tools/tunless/app/node.hpp"
#include "tools/tunless/app/reload.hpp"
#include "tools/tunless/app/service_reload.hpp"
#ifdef TUNLESS_TAILNET
#include "tools/tunless/app/tailnet_node.hpp"
#endif
#include "tools/tunless/app/udp_layer.hpp"
#include "tools/tunless/app/uapi_server.hpp"

namespace tunless::app {

Status run_daemon(const cfg::Config& config, const Options& options) {
    Node node(options);
    if (auto st = node.start(config); !st) {
        report_failure(options.ready_fd, st.error().message);
        return st;
    }
    // One descriptor per proxied connection: lift RLIMIT_NOFILE before any listener opens.
    check_fd_limit(config, node.stack().config().max_tcp_connections);

    // SOCKS5, HTTP proxy and TCP forwards (proxy/services.hpp); destroyed before the Node.
    auto services = proxy::Services::create(node.loop(), node.stack(), node.device(), config);
    if (!services) {
        report_failure(options.ready_fd, services.error().message);
        return services.error();
    }
    proxy::Services& tcp_services = **services;
    node.hooks().add_counters([&tcp_services](uapi::KeyValues& out) {
        out.emplace_back("proxy.tcp.connections_active", std::to_string(tcp_services.active_connections()));
    });
    // Name resolver (DNS= over the mesh) and UDP forwards/ASSOCIATE (app/udp_layer.hpp).
    proxy::LocalNameResolver::Lookup local_names;
#ifdef TUNLESS_TAILNET
    if (TailnetNode* t = node.tailnet()) {
        local_names = [t](std::string_view name) { return t->lookup_name(name); };
    }
#endif
    auto udp_layer = UdpLayer::start(node, tcp_services, std::move(local_names));
    if (!udp_layer) {
        report_failure(options.ready_fd, udp_layer.error().message);
        return udp_layer.error();
    }
    UdpLayer& udp_services = **udp_layer;
    // SIGHUP: listeners added/removed/changed in the file take effect (app/service_reload.hpp).
    node.hooks().add_reload_handler(service_reload_handler(tcp_services, udp_services.services()));

    auto signals = node.loop().enable_signals(io::EventLoop::SignalHandlers{
        .on_reload = [&node] { reload_config(node); },
        .on_stop = [&tcp_services, &udp_services](int sig) {
            log::info("signal {}: shutting down", sig);
            tcp_services.shutdown();
            udp_services.shutdown();
        },
        .on_status = [&node, &tcp_services, &udp_services] {
            node.log_status();
            for (const auto& line : tcp_services.status_lines()) log::info("{}", line);
            for (const auto& line : udp_services.status_lines()) log::info("{}", line);
        },
    });
    if (!signals) {
        report_failure(options.ready_fd, signals.error().message);
        return signals;
    }

    // The control socket (wg(8) compatibility). Deleting its file stops the daemon cleanly,
    // as with wireguard-go.
    const std::string name =
        options.interface_name.empty() ? default_interface_name(options.config_path) : options.interface_name;
    auto uapi = UapiServer::start(node, name, [] {
        // Same path as SIGTERM (services shut down first): the signal arrives via signalfd.
        log::info("control socket removed: shutting down");
        ::kill(::getpid(), SIGTERM);
    });
    if (!uapi) {
        report_failure(options.ready_fd, "control socket: " + uapi.error().message);
        return fail(uapi.error().code, "control socket: " + uapi.error().message);
    }
    std::optional<PidFile> pidfile;
    if (!options.pidfile.empty()) {
        auto p = PidFile::create(options.pidfile);
        if (!p) {
            report_failure(options.ready_fd, p.error().message);
            return p.error();
        }
        pidfile = std::move(*p);
    }
    report_ready(options.ready_fd);
    return node.run();
}

}  // namespace tunless::app
