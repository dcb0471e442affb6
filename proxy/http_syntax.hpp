// Character classes and small string helpers of HTTP/1.1 syntax (RFC 9110 §5.6, RFC 9112),
// shared by the HTTP proxy codec's parser and serializers. Internal to proxy/.
#pragma once

#include <cstddef>
#include <string_view>

namespace tunless::proxy::http::syntax {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 9110 §5.6.2 tchar.
inline bool is_tchar(char c) {
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 §5.5 field-vchar / SP / HTAB: VCHAR and obs-text, no other controls, no DEL.
inline bool is_field_value_char(char c) {
    const auto b = static_cast<unsigned char>(c);
    return b == '\t' || (b >= 0x20 && b != 0x7F);
}

inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) {
            return false;
        }
    }
    return true;
}

inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace tunless::proxy::http::syntax
