// cfg::parse: config text in, Config model out. Pure (no file or environment access: the
// caller reads the file and may pass an environment lookup). Syntax is wg-quick's
// (case-insensitive keys and section names, '#' comments anywhere, ';' comment lines,
// comma-separated lists), extended with wireproxy's sections ([Socks5], [http],
// [TCPClientTunnel], [TCPServerTunnel], [UDPProxyTunnel], [Resolve]), [UDPServerTunnel],
// [Limits] and [Tailnet] (join a Tailscale/headscale tailnet; then [Interface] is optional).
// Every problem is a Diagnostic "file:line: message"; any error means the daemon refuses to
// start. Called by the CLI (`tunless up`, `up --check`) and the config tests.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/config/config.hpp"

namespace tunless::cfg {

struct Diagnostic {
    std::string file;
    int line = 0;  // 1-based; 0 = the file as a whole
    std::string message;

    std::string to_string() const;  // "file:line: message" ("file: message" when line == 0)
};

struct ParseOptions {
    // false: a missing PrivateKey is not an error (the caller generates one).
    bool require_private_key = true;
    // Resolves wireproxy's "$NAME" values; "$$x" stands for the literal "$x". When unset,
    // a "$NAME" value is an error.
    std::function<std::optional<std::string>(std::string_view name)> lookup_env;
};

// At most this many errors are collected; the last one says that more were suppressed.
inline constexpr std::size_t kMaxErrors = 50;

struct ParseReport {
    Config config;                     // meaningful only when ok()
    std::vector<Diagnostic> errors;    // in line order
    std::vector<Diagnostic> warnings;  // keys/sections accepted but without effect
    bool ok() const { return errors.empty(); }
};

ParseReport parse_report(std::string_view text, std::string_view file,
                         const ParseOptions& options = {});

struct Parsed {
    Config config;
    std::vector<Diagnostic> warnings;
};

// As parse_report; on failure the Error (kInvalidArgument) message lists every error, one
// "file:line: message" per line.
Result<Parsed> parse(std::string_view text, std::string_view file,
                     const ParseOptions& options = {});

}  // namespace tunless::cfg
