// app::run_daemon: builds the Node and the services on top of it, installs the signal
// handlers, and runs until SIGINT/SIGTERM.
#include "tools/tunless/app/daemon.hpp"

#include "tools/log/log.hpp"
#include "tools/tunless/app/node.hpp"

namespace tunless::app {

Status run_daemon(const cfg::Config& config, const Options& options) {
    Node node(options);
    if (auto st = node.start(config); !st) return st;

    auto signals = node.loop().enable_signals(io::EventLoop::SignalHandlers{
        .on_reload = [] { log::warn("SIGHUP: configuration reload is not supported yet"); },
        .on_stop = [](int sig) { log::info("signal {}: shutting down", sig); },
        .on_status = [&node] { node.log_status(); },
    });
    if (!signals) return signals;
    return node.run();
}

}  // namespace tunless::app
