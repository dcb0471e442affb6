// `tunless up`: load (or on first start create) the config, report its warnings and errors,
// then either stop there (--check) or hand it to app::run_daemon.
#pragma once

#include "tools/tunless/cli_options.hpp"

namespace tunless::cli {

// Returns the process exit code (exit_codes.hpp).
int run_up(const CliOptions& options);

}  // namespace tunless::cli
