// Helpers shared by the config tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/config/parser.hpp"

namespace tunless::cfg::test {

// Valid keys (from wireproxy's README sample, which the wireproxy test also parses).
inline constexpr const char* kPriv = "uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=";
inline constexpr const char* kPub = "QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=";
inline constexpr const char* kPsk = "UItQuvLsyh50ucXHfjF0bbR4IIpVBd74lwKc8uIPXXs=";

inline std::string minimal_interface() {
    return std::string("[Interface]\nPrivateKey = ") + kPriv + "\nAddress = 10.0.0.2/24\n";
}

// All error lines joined, for CHECKs with a readable failure message.
inline std::string errors_of(const ParseReport& r) {
    std::string s;
    for (const auto& e : r.errors) {
        s += e.to_string() + "\n";
    }
    return s;
}

inline std::string warnings_of(const ParseReport& r) {
    std::string s;
    for (const auto& e : r.warnings) {
        s += e.to_string() + "\n";
    }
    return s;
}

// Parses `text` and expects exactly one error, equal to `expected` ("file:line: message").
inline void expect_error(std::string_view text, std::string_view expected) {
    const ParseReport r = parse_report(text, "t.conf");
    INFO("errors were:\n", errors_of(r));
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() == expected);
}

}  // namespace tunless::cfg::test
