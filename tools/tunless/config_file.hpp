// File I/O around the pure config parser: read a config file (bounded size), parse it with
// the process environment for wireproxy's "$NAME" values, and create new secret-bearing files
// safely (O_CREAT|O_EXCL with mode 0600, never chmod after the fact). Used by `tunless up`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/config/parser.hpp"

namespace tunless::cli {

inline constexpr std::size_t kMaxConfigBytes = 1 << 20;  // a config is a few KiB

Result<std::string> read_text_file(const std::string& path,
                                   std::size_t max_bytes = kMaxConfigBytes);

// Creates `path` (must not exist: kAlreadyExists) with mode 0600 and writes `content`.
// On a write error the partial file is removed.
Status write_new_private_file(const std::string& path, std::string_view content);

bool path_exists(const std::string& path);  // lstat(2) succeeds

// True when `path` is readable by group or others (a config holds the private key).
bool is_group_or_world_readable(const std::string& path);

// Reads and parses; the report carries errors and warnings with `path` as the file name.
// An unreadable file is a single error "path: <strerror>".
cfg::ParseReport load_config(const std::string& path, const cfg::ParseOptions& options = {});

}  // namespace tunless::cli
