// Process management for init systems without a supervisor (busybox/SysV on QuecOpen
// modules): --daemonize forks into the background and the foreground parent exits only once
// the daemon reports ready (control socket up, pidfile written) or failed, so
// `start-stop-daemon` and init scripts see the real outcome. --pidfile writes a lock-protected
// pid file (flock: a file left by a dead daemon is simply taken over). systemd runs tunless in
// the foreground and needs neither.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::app {

// Double fork + setsid, chdir("/"), stdio to /dev/null. Returns in the daemon with the write
// end of the readiness pipe; the original process waits and _exits (0 ready, 1 failed).
// Call before any thread or event loop exists.
Result<int> daemonize();
// Tells the waiting parent that start-up succeeded / failed (message printed by the parent);
// closes the pipe. No-op for fd < 0.
void report_ready(int fd);
void report_failure(int fd, std::string_view message);

class PidFile {
public:
    // Creates or takes over `path`: kAlreadyExists when a live process holds its lock.
    static Result<PidFile> create(const std::string& path);
    PidFile() = default;
    ~PidFile();  // removes the file
    PidFile(PidFile&& o) noexcept = default;
    PidFile& operator=(PidFile&& o) noexcept = default;

private:
    std::string path_;
    io::UniqueFd fd_;  // holds the flock while the daemon runs
};

}  // namespace tunless::app
