// `tunless` CLI entry: parses arguments, sets up logging and libsodium, dispatches to the
// command. Commands live in *_command.cpp / key_commands.cpp; the daemon in app/.
#include <cstdio>
#include <cstdlib>
#include <span>

#include "core/crypto/init.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/cli_options.hpp"
#include "tools/tunless/exit_codes.hpp"
#include "tools/tunless/key_commands.hpp"
#include "tools/tunless/status_command.hpp"
#include "tools/tunless/up_command.hpp"

#ifndef TUNLESS_VERSION
#define TUNLESS_VERSION "unknown"
#endif

using namespace tunless;

int main(int argc, char** argv) {
    const std::span<const char* const> args(const_cast<const char* const*>(argv) + 1,
                                            static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
    auto parsed = cli::parse_cli(args);
    if (!parsed) {
        std::fprintf(stderr, "tunless: %s\nTry 'tunless --help'.\n",
                     parsed.error().message.c_str());
        return cli::kExitUsage;
    }
    const cli::CliOptions& o = *parsed;
    log::set_level(o.quiet           ? log::Level::kWarn
                   : o.verbosity > 0 ? log::Level::kDebug
                                     : log::Level::kInfo);
    // journald stamps every line itself.
    log::set_timestamps(std::getenv("JOURNAL_STREAM") == nullptr);

    switch (o.command) {
        case cli::Command::kHelp: std::fputs(cli::usage_text(), stdout); return cli::kExitOk;
        case cli::Command::kVersion:
            std::printf("tunless %s\n", TUNLESS_VERSION);
            return cli::kExitOk;
        case cli::Command::kNone: std::fputs(cli::usage_text(), stderr); return cli::kExitUsage;
        default: break;
    }
    if (!crypto::init()) {
        log::error("libsodium initialisation failed (no randomness source?)");
        return cli::kExitRuntime;
    }
    switch (o.command) {
        case cli::Command::kGenkey: return cli::run_genkey();
        case cli::Command::kPubkey: return cli::run_pubkey();
        case cli::Command::kStatus: return cli::run_status(o);
        default: return cli::run_up(o);
    }
}
