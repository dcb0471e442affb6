#include "tools/tunless/cli_options.hpp"

#include <string_view>

namespace tunless::cli {
namespace {

std::optional<Command> command_named(std::string_view s) {
    if (s == "genkey") {
        return Command::kGenkey;
    }
    if (s == "pubkey") {
        return Command::kPubkey;
    }
    if (s == "up") {
        return Command::kUp;
    }
    if (s == "status") {
        return Command::kStatus;
    }
    if (s == "help") {
        return Command::kHelp;
    }
    if (s == "version") {
        return Command::kVersion;
    }
    return std::nullopt;
}

// "--name=value" or "--name value" / "-c value". Advances i past a separate value.
Result<std::string> option_value(std::span<const char* const> args, std::size_t& i,
                                 std::string_view arg, std::string_view name) {
    if (arg.size() > name.size() && arg[name.size()] == '=') {
        return std::string(arg.substr(name.size() + 1));
    }
    if (i + 1 >= args.size()) {
        return fail(Errc::kInvalidArgument, "option " + std::string(name) + " needs a value");
    }
    return std::string(args[++i]);
}

bool is_option(std::string_view arg, std::string_view name) {
    return arg == name || (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
                           arg[name.size()] == '=');
}

}  // namespace

Result<CliOptions> parse_cli(std::span<const char* const> args) {
    CliOptions o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "-h" || arg == "--help") {
            o.command = Command::kHelp;
        } else if (arg == "--version" || arg == "-V") {
            o.command = Command::kVersion;
        } else if (arg == "-v" || arg == "--verbose") {
            ++o.verbosity;
        } else if (arg == "-vv") {
            o.verbosity += 2;
        } else if (arg == "-q" || arg == "--quiet") {
            o.quiet = true;
        } else if (arg == "--check") {
            o.check = true;
        } else if (arg == "--daemonize") {
            o.daemonize = true;
        } else if (arg == "--syslog") {
            o.syslog = true;
        } else if (arg == "--json") {
            o.json = true;
        } else if (is_option(arg, "--name")) {
            auto v = option_value(args, i, arg, "--name");
            if (!v) {
                return v.error();
            }
            o.name = *v;
        } else if (is_option(arg, "--pidfile")) {
            auto v = option_value(args, i, arg, "--pidfile");
            if (!v) {
                return v.error();
            }
            o.pidfile = *v;
        } else if (arg == "-c" || is_option(arg, "--config")) {
            auto v = option_value(args, i, arg, arg == "-c" ? "-c" : "--config");
            if (!v) {
                return v.error();
            }
            o.config = *v;
        } else if (is_option(arg, "--state-dir")) {
            auto v = option_value(args, i, arg, "--state-dir");
            if (!v) {
                return v.error();
            }
            o.state_dir = *v;
        } else if (!arg.empty() && arg.front() == '-') {
            return fail(Errc::kInvalidArgument, "unknown option '" + std::string(arg) + "'");
        } else if (auto c = command_named(arg); c && o.command == Command::kNone) {
            o.command = *c;
        } else {
            return fail(Errc::kInvalidArgument, "unexpected argument '" + std::string(arg) + "'");
        }
    }
    const bool up_only = o.config || o.state_dir || o.check;
    if (up_only && o.command != Command::kUp && o.command != Command::kHelp) {
        return fail(Errc::kInvalidArgument, "-c, --state-dir and --check belong to `tunless up`");
    }
    const bool up_daemon_only = o.pidfile || o.daemonize || o.syslog;
    if (up_daemon_only && o.command != Command::kUp && o.command != Command::kHelp) {
        return fail(Errc::kInvalidArgument, "--pidfile, --daemonize and --syslog belong to `tunless up`");
    }
    if (o.json && o.command != Command::kStatus && o.command != Command::kHelp) {
        return fail(Errc::kInvalidArgument, "--json belongs to `tunless status`");
    }
    if (o.name && o.command != Command::kUp && o.command != Command::kStatus &&
        o.command != Command::kHelp) {
        return fail(Errc::kInvalidArgument, "--name belongs to `tunless up` and `tunless status`");
    }
    return o;
}

const char* usage_text() {
    return R"(Usage: tunless [-v|-q] <command> [options]

A userspace WireGuard mesh node: WireGuard and a TCP/IP stack in one process (no tun
device, no root), with SOCKS5/HTTP proxies and port forwards into the mesh.

Commands:
  genkey                 Print a new random private key (base64), like `wg genkey`.
  pubkey                 Read a private key on stdin, print its public key, like `wg pubkey`.
  up [-c FILE] [--check] [--state-dir DIR]
                         Run the node. With -c, use FILE (wg-quick syntax plus wireproxy's
                         [Socks5]/[http]/[TCPClientTunnel]/... sections). Without -c, use
                         DIR/tunless.conf, creating it with a fresh key on first start
                         (DIR: /var/lib/tunless if writable, else $XDG_STATE_HOME/tunless
                         or ~/.local/state/tunless). --check validates and exits.
                         With -c and --state-dir, DIR keeps only state (the handshake
                         timestamp floor, docs/reliability.md).
      [--name NAME]      Control socket /var/run/wireguard/NAME.sock, so `wg show NAME`
                         and `wg set NAME ...` work (default: the config file's name
                         without extension, like wg-quick; "tunless" for the state dir).
      [--daemonize]      Run in the background; the command returns once the node is up
                         (implies --syslog).
      [--pidfile PATH]   Write the daemon's pid (locked; removed on exit).
      [--syslog]         Log to syslog (facility daemon) instead of stderr.
  status [--name NAME] [--json]
                         Show the running node: interface, peers, handshakes, transfer and
                         drop counters (--json: machine-readable).

Options:
  -v, --verbose          More log output (debug); repeatable.
  -q, --quiet            Only warnings and errors.
  -h, --help             This text.
  -V, --version          Print the version.

Exit codes: 0 success, 1 runtime error, 2 usage or configuration error.
Signals (up): SIGINT/SIGTERM stop, SIGHUP reloads the config file, SIGUSR1 logs counters.
Deleting the control socket file also stops the node.
)";
}

}  // namespace tunless::cli
