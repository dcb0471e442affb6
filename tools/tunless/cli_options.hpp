// Command-line parsing for `tunless` (pure: argv in, CliOptions or a usage error out).
// Options may appear before or after the command: `tunless -v up -c x` == `tunless up -c x -v`.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/base/result.hpp"

namespace tunless::cli {

enum class Command { kNone, kHelp, kVersion, kGenkey, kPubkey, kUp, kStatus };

struct CliOptions {
    Command command = Command::kNone;
    int verbosity = 0;                     // -v/--verbose, repeatable
    bool quiet = false;                    // -q/--quiet: warnings and errors only
    std::optional<std::string> config;     // up: -c/--config FILE
    std::optional<std::string> state_dir;  // up: --state-dir DIR
    bool check = false;                    // up: --check
    std::optional<std::string> name;       // up, status: --name NAME (control socket name)
    std::optional<std::string> pidfile;    // up: --pidfile PATH
    bool daemonize = false;                // up: --daemonize
    bool syslog = false;                   // up: --syslog (log to syslog, LOG_DAEMON)
    bool json = false;                     // status: --json
};

// `args` excludes argv[0]. Errors are usage errors (exit code 2) with a one-line message.
Result<CliOptions> parse_cli(std::span<const char* const> args);

const char* usage_text();

}  // namespace tunless::cli
