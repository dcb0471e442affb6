#include "tools/tunless/state_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tunless::cli {
namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        return std::nullopt;
    }
    return std::string(v);
}

}  // namespace

Result<std::string> pick_state_dir(const StateDirEnv& e) {
    if (e.override_dir) {
        if (e.override_dir->empty()) {
            return fail(Errc::kInvalidArgument, "--state-dir must not be empty");
        }
        return *e.override_dir;
    }
    if (e.systemd_dir && e.systemd_dir->front() == '/') {
        return e.systemd_dir->substr(0, e.systemd_dir->find(':'));
    }
    if (e.system_dir_usable) {
        return std::string(kSystemStateDir);
    }
    if (e.xdg_state_home && e.xdg_state_home->front() == '/') {
        return *e.xdg_state_home + "/tunless";
    }
    if (e.home && e.home->front() == '/') {
        return *e.home + "/.local/state/tunless";
    }
    return fail(Errc::kNotFound,
                "no state directory: /var/lib/tunless is not writable and neither "
                "XDG_STATE_HOME nor HOME is set; use --state-dir DIR or -c FILE");
}

StateDirEnv current_state_dir_env(const std::optional<std::string>& override_dir) {
    StateDirEnv e;
    e.override_dir = override_dir;
    struct stat st {};
    if (::stat(kSystemStateDir, &st) == 0) {
        e.system_dir_usable = S_ISDIR(st.st_mode) && ::access(kSystemStateDir, W_OK | X_OK) == 0;
    } else {
        e.system_dir_usable = ::access("/var/lib", W_OK | X_OK) == 0;
    }
    e.systemd_dir = env("STATE_DIRECTORY");
    e.xdg_state_home = env("XDG_STATE_HOME");
    e.home = env("HOME");
    return e;
}

Status ensure_state_dir(const std::string& dir) {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        partial = dir.substr(0, pos);
        if (partial.empty()) {
            continue;
        }
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            return fail(Errc::kIo, "cannot create " + partial + ": " + std::strerror(errno));
        }
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return fail(Errc::kIo, dir + " is not a directory");
    }
    return {};
}

}  // namespace tunless::cli
