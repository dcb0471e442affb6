// RFC 3339 timestamps as Go's time.Time marshals them in tailcfg JSON ("2006-01-02T15:04:05Z07:00"
// with an optional fraction). Civil-date arithmetic after Howard Hinnant's days_from_civil.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/tailnet/tailcfg.hpp"

namespace tunless::tailnet {

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
    std::int64_t y;
    unsigned m;
    unsigned d;
};

Civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return Civil{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Exactly n decimal digits at text[pos..].
std::optional<unsigned> digits(std::string_view text, std::size_t pos, std::size_t n) {
    if (pos + n > text.size()) return std::nullopt;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

void append_digits(std::string& out, std::int64_t v, int width) {
    std::string s = std::to_string(v);
    while (static_cast<int>(s.size()) < width) s.insert(s.begin(), '0');
    out += s;
}

}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS
    const auto y = digits(t, 0, 4), mo = digits(t, 5, 2), d = digits(t, 8, 2);
    const auto h = digits(t, 11, 2), mi = digits(t, 14, 2), s = digits(t, 17, 2);
    if (!y || !mo || !d || !h || !mi || !s || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':') {
        return std::nullopt;
    }
    if (*mo < 1 || *mo > 12 || *d < 1 || *d > days_in_month(*y, *mo) || *h > 23 || *mi > 59 ||
        *s > 59) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    std::uint32_t nanos = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        std::size_t n = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (n < 9) nanos = nanos * 10 + static_cast<std::uint32_t>(t[pos] - '0');
            ++n;
            ++pos;
        }
        if (n == 0) return std::nullopt;
        for (std::size_t i = n; i < 9; ++i) nanos *= 10;
    }
    std::int64_t offset = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        const auto oh = digits(t, pos + 1, 2), om = digits(t, pos + 4, 2);
        if (!oh || !om || pos + 3 >= t.size() || t[pos + 3] != ':' || *oh > 23 || *om > 59) {
            return std::nullopt;
        }
        offset = (t[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(*oh * 3600 + *om * 60);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size()) return std::nullopt;
    const std::int64_t days = days_from_civil(*y, *mo, *d);
    return Timestamp{days * 86400 + *h * 3600 + *mi * 60 + *s - offset, nanos};
}

std::string format_rfc3339(const Timestamp& ts) {
    std::int64_t days = ts.unix_seconds / 86400;
    std::int64_t secs = ts.unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    const Civil c = civil_from_days(days);
    std::string out;
    append_digits(out, c.y, 4);
    out += '-';
    append_digits(out, c.m, 2);
    out += '-';
    append_digits(out, c.d, 2);
    out += 'T';
    append_digits(out, secs / 3600, 2);
    out += ':';
    append_digits(out, secs / 60 % 60, 2);
    out += ':';
    append_digits(out, secs % 60, 2);
    if (ts.nanos != 0) {
        std::string frac;
        append_digits(frac, ts.nanos % 1000000000u, 9);
        while (!frac.empty() && frac.back() == '0') frac.pop_back();
        out += '.';
        out += frac;
    }
    out += 'Z';
    return out;
}

}  // namespace tunless::tailnet
