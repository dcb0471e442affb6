// The daemon entry point the CLI calls for `tunless up`: composes EventLoop, UdpTransport,
// wg::Device, netstack::Stack and the proxy servers from a validated Config and runs until
// SIGINT/SIGTERM. Declared here so the CLI builds before the wiring exists; the real
// implementation (app/daemon.cpp) replaces app/daemon_stub.cpp.
#pragma once

#include <string>

#include "core/base/result.hpp"
#include "core/config/config.hpp"

namespace tunless::app {

struct Options {
    std::string config_path;  // the file `config` was read from (reload on SIGHUP, messages)
    std::string state_dir;    // the state directory in use; empty when -c FILE was given
    int verbosity = 0;        // number of -v flags (the log level is already set from it)
    std::string interface_name;  // control socket /var/run/wireguard/NAME.sock (--name)
    std::string pidfile;         // --pidfile: written once the control socket is up
    int ready_fd = -1;           // --daemonize: pipe to the waiting parent (app/daemonize.hpp)
};

// Runs the node until SIGINT/SIGTERM. Returns success on a clean stop; on failure (start-up
// or a fatal runtime error) returns the error for the CLI to log (exit code 1).
// Precondition: crypto::init() succeeded; `config` passed cfg::parse (no errors).
Status run_daemon(const cfg::Config& config, const Options& options);

}  // namespace tunless::app
