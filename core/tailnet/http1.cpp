// HTTP/1.1 request builders and response-head parsing (RFC 9112 §2-§5) for the tailnet
// client's upgrades. The body reader is in http1_body.cpp.
#include "core/tailnet/http1.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace tunless::tailnet {
namespace {

bool valid_host(std::string_view host) {
    if (host.empty() || host.size() > 255) {
        return false;
    }
    return std::all_of(host.begin(), host.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

Result<std::string> with_host(std::string_view request_line, std::string_view host,
                              std::string_view extra_headers) {
    if (!valid_host(host)) {
        return fail(Errc::kInvalidArgument, "http: invalid Host header value");
    }
    std::string r;
    r.reserve(request_line.size() + host.size() + extra_headers.size() + 16);
    r.append(request_line).append("\r\nHost: ").append(host).append("\r\n");
    r.append(extra_headers).append("\r\n");
    return r;
}

std::string base64_padded(ByteView in) {
    std::string out(sodium_base64_ENCODED_LEN(in.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), in.data(), in.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the encoder's NUL terminator
    return out;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
        return false;
    }
    return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
}

// Offset just past the blank line that ends the head, or 0 if there is none yet.
std::size_t find_head_end(std::string_view s) {
    for (std::size_t pos = 0; pos < s.size();) {
        const std::size_t nl = s.find('\n', pos);
        if (nl == std::string_view::npos) {
            return 0;
        }
        const std::size_t len = nl - pos;
        if (len == 0 || (len == 1 && s[pos] == '\r')) {
            return nl + 1;
        }
        pos = nl + 1;
    }
    return 0;
}

Status parse_status_line(std::string_view line, ResponseHead& head) {
    // HTTP-version SP 3DIGIT SP [reason]
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
        (line.size() > 12 && line[12] != ' ')) {
        return fail(Errc::kProtocol, "http: malformed status line");
    }
    const std::string_view code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail(Errc::kProtocol, "http: malformed status code");
    }
    std::from_chars(code.data(), code.data() + 3, head.status);
    head.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view{});
    return {};
}

Status parse_header_line(std::string_view line, ResponseHead& head) {
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
        return fail(Errc::kProtocol, "http: malformed header line");
    }
    const std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
        return fail(Errc::kProtocol, "http: malformed header name");  // also obs-fold lines
    }
    if (head.headers.size() == kHttpMaxHeaders) {
        return fail(Errc::kLimitReached, "http: too many header lines");
    }
    head.headers.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
    return {};
}

}  // namespace

Result<std::string> build_key_request(std::string_view host, std::uint16_t capability_version) {
    // controlclient/direct.go loadServerPubKeys: GET /key?v=<capver>.
    const std::string line = "GET /key?v=" + std::to_string(capability_version) + " HTTP/1.1";
    return with_host(line, host, "Accept: application/json\r\nConnection: close\r\n");
}

Result<std::string> build_ts2021_upgrade_request(std::string_view host, ByteView initiation) {
    // controlhttp/client.go + controlhttpcommon: the initiation rides in a header, so the
    // server answers 101 + Noise response in one round trip.
    const std::string headers =
        "Upgrade: " + std::string(kControlUpgradeToken) +
        "\r\nConnection: upgrade\r\nX-Tailscale-Handshake: " + base64_padded(initiation) +
        "\r\nContent-Length: 0\r\n";
    return with_host("POST /ts2021 HTTP/1.1", host, headers);
}

Result<std::string> build_derp_upgrade_request(std::string_view host) {
    return with_host("GET /derp HTTP/1.1", host,
                     "Upgrade: " + std::string(kDerpUpgradeToken) + "\r\nConnection: Upgrade\r\n");
}

std::optional<std::string_view> ResponseHead::header(std::string_view name) const {
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            return std::string_view(h.value);
        }
    }
    return std::nullopt;
}

Result<HeadParse> parse_response_head(ByteView in) {
    const std::string_view all(reinterpret_cast<const char*>(in.data()),
                               std::min(in.size(), kHttpMaxHeadLen));
    const std::size_t end = find_head_end(all);
    if (end == 0) {
        if (in.size() >= kHttpMaxHeadLen) {
            return fail(Errc::kLimitReached, "http: response head larger than 16 KiB");
        }
        return HeadParse{};
    }
    ResponseHead head;
    bool first = true;
    for (std::size_t pos = 0;;) {
        const std::size_t nl = all.find('\n', pos);
        std::string_view line = all.substr(pos, nl - pos);
        pos = nl + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            break;
        }
        if (line.find('\0') != std::string_view::npos ||
            line.find('\r') != std::string_view::npos) {
            return fail(Errc::kProtocol, "http: control character in response head");
        }
        const Status st = first ? parse_status_line(line, head) : parse_header_line(line, head);
        if (!st) {
            return st.error();
        }
        first = false;
    }
    if (first) {
        return fail(Errc::kProtocol, "http: response starts with an empty line");
    }
    HeadParse out;
    out.consumed = end;
    out.head = std::move(head);
    return out;
}

Status check_upgrade_response(const ResponseHead& head, std::string_view token) {
    if (head.status != 101) {
        std::string reason = head.reason.substr(0, 80);
        for (char& c : reason) {
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
                c = '?';
            }
        }
        return fail(Errc::kRefused, "http: upgrade refused with status " +
                                        std::to_string(head.status) + " " + reason);
    }
    const auto upgrade = head.header("Upgrade");
    if (!upgrade || !iequals(*upgrade, token)) {
        return fail(Errc::kRefused, "http: 101 answer without the expected Upgrade token");
    }
    return {};
}

}  // namespace tunless::tailnet
