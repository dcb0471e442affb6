// Process exit codes of the `tunless` CLI (documented in --help).
#pragma once

namespace tunless::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // the daemon failed, I/O error
inline constexpr int kExitUsage = 2;    // bad arguments, invalid config or key input

}  // namespace tunless::cli
