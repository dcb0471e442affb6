// `tunless status [--name NAME] [--json]`: asks a running node over its control socket
// (UAPI `get=1` plus the `get=tunless` extension) and prints a summary like `wg show`, with
// tunless's drop and netstack counters; --json for scripts. Without --name it finds the
// running tunless by probing the sockets in /var/run/wireguard (wireguard-go ones do not
// answer `get=tunless`).
#pragma once

#include <ctime>
#include <string>

#include "core/uapi/uapi_protocol.hpp"
#include "tools/tunless/cli_options.hpp"

namespace tunless::cli {

// Returns the process exit code (exit_codes.hpp).
int run_status(const CliOptions& options);

// Pure formatting (tested): `now` is the wall clock in seconds since the epoch.
std::string format_status_text(const std::string& name, const uapi::DeviceInfo& info,
                               const uapi::KeyValues& counters, std::time_t now);
std::string format_status_json(const std::string& name, const uapi::DeviceInfo& info,
                               const uapi::KeyValues& counters, std::time_t now);

}  // namespace tunless::cli
