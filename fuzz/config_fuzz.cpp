// config_fuzz: arbitrary text through cfg::parse_report (wg-quick + wireproxy syntax). The
// first byte picks the options (bit 0: PrivateKey optional; bit 1: "$NAME" lookups resolve),
// the rest is the file. Oracles: diagnostics carry plausible line numbers and at most
// kMaxErrors errors; an accepted config serializes to text that parses again and serializes
// to the same text (serialize is a fixed point after one round).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <cstdio>
#include <vector>

#include "core/config/parser.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;

void check_diagnostics(const std::vector<cfg::Diagnostic>& ds, std::size_t lines) {
    for (const auto& d : ds) {
        check(d.line >= 0 && static_cast<std::size_t>(d.line) <= lines + 1,
              "diagnostic line out of range");
        check(!d.message.empty(), "empty diagnostic");
        (void)d.to_string();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    // Exactly sized heap copy of the text (a std::string would over-allocate).
    ExactCopy text_bytes(ByteView(data + 1, size - 1));
    const std::string_view text(reinterpret_cast<const char*>(text_bytes.data()),
                                text_bytes.size());

    cfg::ParseOptions opt;
    opt.require_private_key = (flags & 1) == 0;
    if (flags & 2) {
        opt.lookup_env = [](std::string_view name) -> std::optional<std::string> {
            if (name.empty() || name.size() > 8) return std::nullopt;
            return std::string("10.0.0.1:") + std::to_string(name.size() * 1000);
        };
    }
    const auto report = cfg::parse_report(text, "fuzz.conf", opt);
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    check(report.errors.size() <= cfg::kMaxErrors, "more than kMaxErrors errors");
    check_diagnostics(report.errors, lines);
    check_diagnostics(report.warnings, lines);
    if (!report.ok()) return 0;

    const std::string once = cfg::serialize(report.config);
    cfg::ParseOptions plain;
    plain.require_private_key = opt.require_private_key;
    const auto again = cfg::parse_report(once, "serialized.conf", plain);
    if (!again.ok()) {
        std::fprintf(stderr, "serialized:\n%s\nerror: %s\n", once.c_str(),
                     again.errors[0].to_string().c_str());
        fail("serialized config does not parse");
    }
    check(cfg::serialize(again.config) == once, "serialize is not a fixed point");
    return 0;
}
