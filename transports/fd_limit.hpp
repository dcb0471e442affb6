// The process's descriptor limit (RLIMIT_NOFILE). Each proxied TCP connection holds one host
// socket (the mesh side lives in lwIP and needs none), so a daemon configured for 1000
// connections cannot run under the common soft limit of 1024. raise_fd_limit() lifts the
// soft limit to the hard one, which an unprivileged process may do (setrlimit(2)).
// Called once at daemon start (app::run_daemon); not a general resource-limit API.
#pragma once

#include <cstdint>

#include "core/base/result.hpp"

namespace tunless::io {

struct FdLimit {
    std::uint64_t before = 0;  // soft limit found
    std::uint64_t soft = 0;    // soft limit now in effect
    std::uint64_t hard = 0;    // hard limit (kUnlimitedFds stands for RLIM_INFINITY)
};

inline constexpr std::uint64_t kUnlimitedFds = UINT64_MAX;
// With an unlimited hard limit the soft limit goes this high (Linux's default fs.nr_open,
// above which setrlimit fails with EPERM).
inline constexpr std::uint64_t kFdsWhenUnlimited = std::uint64_t{1} << 20;

// Raises the soft RLIMIT_NOFILE to the hard limit (or kFdsWhenUnlimited). A failed raise keeps
// the old limit and is an error only when the limit cannot even be read.
Result<FdLimit> raise_fd_limit();

}  // namespace tunless::io
