// Where `tunless up` keeps its generated config when no -c FILE is given. The choice is a pure
// function of the environment (testable); ensure_state_dir() then creates it (mode 0700).
#pragma once

#include <optional>
#include <string>

#include "core/base/result.hpp"

namespace tunless::cli {

inline constexpr const char* kSystemStateDir = "/var/lib/tunless";
inline constexpr const char* kConfigFileName = "tunless.conf";

struct StateDirEnv {
    std::optional<std::string> override_dir;  // --state-dir
    std::optional<std::string> systemd_dir;   // $STATE_DIRECTORY (systemd StateDirectory=)
    bool system_dir_usable = false;           // /var/lib/tunless writable or creatable
    std::optional<std::string> xdg_state_home;
    std::optional<std::string> home;
};

// --state-dir, else $STATE_DIRECTORY (first entry; set by systemd's StateDirectory= and by
// the namespace tests), else /var/lib/tunless if usable, else $XDG_STATE_HOME/tunless (absolute paths
// only, per the XDG spec), else $HOME/.local/state/tunless. Fails when none applies.
Result<std::string> pick_state_dir(const StateDirEnv& env);

// The StateDirEnv of this process (access(2) on /var/lib/tunless or /var/lib, getenv).
StateDirEnv current_state_dir_env(const std::optional<std::string>& override_dir);

// mkdir -p with mode 0700 for the directories it creates.
Status ensure_state_dir(const std::string& dir);

}  // namespace tunless::cli
