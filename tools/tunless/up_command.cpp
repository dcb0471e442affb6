#include "tools/tunless/up_command.hpp"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>

#include "core/base/rng.hpp"
#include "core/crypto/x25519.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/daemon.hpp"
#include "tools/tunless/app/daemonize.hpp"
#include "tools/tunless/app/uapi_server.hpp"
#include "tools/tunless/config_file.hpp"
#include "tools/tunless/exit_codes.hpp"
#include "tools/tunless/node_defaults.hpp"
#include "tools/tunless/state_dir.hpp"
#include "transports/udp_transport.hpp"

namespace tunless::cli {
namespace {

// First free port of 51820..51829, else 0 (random at every start; the snippet says so).
std::uint16_t pick_listen_port() {
    for (std::uint16_t p = kDefaultListenPort; p < kDefaultListenPort + 10; ++p) {
        if (io::UdpTransport::port_available(p)) {
            return p;
        }
    }
    return 0;
}

// Creates DIR/tunless.conf with a fresh key unless it exists. Returns the path.
Result<std::string> ensure_default_config(const CliOptions& o, bool& created) {
    auto dir = pick_state_dir(current_state_dir_env(o.state_dir));
    if (!dir) {
        return dir.error();
    }
    if (Status st = ensure_state_dir(*dir); !st) {
        return st.error();
    }
    const std::string path = *dir + "/" + kConfigFileName;
    created = false;
    if (path_exists(path)) {
        return path;
    }
    SystemRng rng;
    const crypto::PrivateKey key = crypto::generate_private_key(rng);
    std::string text = default_config_text(default_node_config(key, pick_listen_port()));
    Status st = write_new_private_file(path, text);
    crypto::secure_wipe(text.data(), text.size());
    if (!st && st.error().code != Errc::kAlreadyExists) {  // kAlreadyExists: lost a race
        return st.error();
    }
    created = static_cast<bool>(st);
    return path;
}

void print_node_identity(const cfg::Config& c, const std::string& path, bool created) {
    if (!c.iface.private_key) {  // [Tailnet]: the node key comes from the state directory
        std::printf("%s %s (tailnet node: see `tunless status`)\n", created ? "Created" : "Using",
                    path.c_str());
        std::fflush(stdout);
        return;
    }
    const crypto::PublicKey pub = crypto::public_key_from_private(*c.iface.private_key);
    std::printf("%s %s\n", created ? "Created" : "Using", path.c_str());
    std::printf("Public key: %s\n\n", crypto::key_to_base64(pub.view()).c_str());
    std::printf("Add this node to the other side's config:\n\n%s\n",
                peer_snippet(pub, c.iface).c_str());
    std::fflush(stdout);
}

// The daemon changes to "/" when it goes to the background: keep paths usable.
std::string absolute(const std::string& path) {
    if (path.empty() || path.front() == '/') {
        return path;
    }
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) {
        return path;
    }
    return std::string(cwd) + "/" + path;
}

}  // namespace

int run_up(const CliOptions& o) {
    if (o.syslog) {
        log::use_syslog("tunless");
    }
    std::string path;
    bool created = false;
    if (o.config) {
        path = *o.config;
    } else {
        auto p = ensure_default_config(o, created);
        if (!p) {
            log::error("{}", p.error().message);
            return kExitRuntime;
        }
        path = *p;
    }
    const cfg::ParseReport report = load_config(path);
    for (const cfg::Diagnostic& w : report.warnings) {
        log::warn("{}", w.to_string());
    }
    if (!report.ok()) {
        for (const cfg::Diagnostic& e : report.errors) {
            log::error("{}", e.to_string());
        }
        return kExitUsage;
    }
    const cfg::Config& c = report.config;
    const bool has_secret = c.iface.private_key.has_value() ||
                            c.tailnet.auth_key.kind == cfg::AuthKeySource::Kind::kLiteral;
    if (has_secret && is_group_or_world_readable(path)) {
        log::warn("{}: readable by other users, but it contains {} (chmod 600)", path,
                  c.iface.private_key ? "the private key" : "the tailnet auth key");
    }
    if (!o.config) {
        print_node_identity(report.config, path, created);
    }
    if (o.check) {
        std::printf("config OK\n");
        return kExitOk;
    }
    const std::string name = o.name ? *o.name : app::default_interface_name(path);
    if (!app::valid_interface_name(name)) {
        log::error("--name {}: use 1-15 characters of A-Z a-z 0-9 _ = + . -", name);
        return kExitUsage;
    }
    app::Options daemon_options;
    daemon_options.config_path = absolute(path);
    daemon_options.interface_name = name;
    daemon_options.pidfile = absolute(o.pidfile.value_or(""));
    // Before --daemonize changes the working directory to "/".
    daemon_options.state_dir =
        absolute(o.config ? o.state_dir.value_or("") : path.substr(0, path.rfind('/')));
    if (o.daemonize && !o.syslog) {
        log::use_syslog("tunless");  // from here on; the checks above went to the terminal
    }
    if (o.daemonize) {
        auto ready = app::daemonize();
        if (!ready) {
            log::error("{}", ready.error().message);
            return kExitRuntime;
        }
        daemon_options.ready_fd = *ready;
    }
    daemon_options.verbosity = o.verbosity;
    if (Status st = app::run_daemon(report.config, daemon_options); !st) {
        log::error("{}", st.error().message);
        return kExitRuntime;
    }
    return kExitOk;
}

}  // namespace tunless::cli
