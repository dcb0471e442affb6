// TEMPORARY STUB — replaced by the real daemon wiring (app/daemon.cpp, owned by the lead).
// It exists only so `tunless up` links and its config handling can be tested before the
// Device/Stack/transport composition lands. Remove this file from tools/tunless/CMakeLists.txt
// when app/daemon.cpp is added.
#include "tools/tunless/app/daemon.hpp"

namespace tunless::app {

Status run_daemon(const cfg::Config& config, const Options& options) {
    (void)config;
    return fail(Errc::kUnsupported, options.config_path +
                                        " is valid, but the daemon is not wired yet (stub in "
                                        "tools/tunless/app/daemon_stub.cpp)");
}

}  // namespace tunless::app
