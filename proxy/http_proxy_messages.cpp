// What the HTTP proxy codec produces from a parsed head: the auth verdict, the head forwarded
// to the origin, the proxy's own response heads, and fault names/status mapping.
#include <algorithm>
#include <array>
#include <charconv>

#include <sodium.h>

#include "proxy/http_proxy_codec.hpp"
#include "proxy/http_syntax.hpp"

namespace tunless::proxy::http {
namespace {

using namespace syntax;

// RFC 1929 sizes bound the credentials (Credentials::kMaxFieldLength): user ":" password.
constexpr std::size_t kMaxUserPassSize = 2 * Credentials::kMaxFieldLength + 1;

// Appends to a caller buffer; remembers overflow instead of writing past the end.
class HeadWriter {
public:
    explicit HeadWriter(MutByteView out) : out_(out) {}

    void put(std::string_view s) {
        if (!ok_ || s.size() > out_.size() - size_) {
            ok_ = false;
            return;
        }
        std::copy(s.begin(), s.end(), out_.begin() + static_cast<std::ptrdiff_t>(size_));
        size_ += s.size();
    }
    void field(std::string_view name, std::string_view value) {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    }
    std::size_t finish() const { return ok_ ? size_ : 0; }

private:
    MutByteView out_;
    std::size_t size_ = 0;
    bool ok_ = true;
};

// RFC 9110 §7.6.1: the Connection header's options name further hop-by-hop fields.
bool listed_in_connection(const RequestHead& head, std::string_view name) {
    for (const HeaderField& f : head.header_fields()) {
        if (!iequals(f.name, "connection")) {
            continue;
        }
        std::string_view list = f.value;
        while (!list.empty()) {
            const std::size_t comma = list.find(',');
            if (iequals(trim_ows(list.substr(0, comma)), name)) {
                return true;
            }
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        }
    }
    return false;
}

// Dropped when forwarding: hop-by-hop fields (RFC 9110 §7.6.1), our own credentials, and the
// fields we regenerate (Host from the target; framing from what the parser validated).
bool is_dropped_when_forwarding(std::string_view name) {
    constexpr std::array<std::string_view, 10> kDropped = {
        "connection",          "proxy-connection",   "keep-alive",     "te",
        "upgrade",             "proxy-authorization", "proxy-authenticate", "host",
        "content-length",      "transfer-encoding",
    };
    for (const std::string_view d : kDropped) {
        if (iequals(name, d)) {
            return true;
        }
    }
    return false;
}

}  // namespace

const char* fault_name(Fault f) {
    switch (f) {
        case Fault::kNone: return "none";
        case Fault::kBareCr: return "bare_cr";
        case Fault::kBareLf: return "bare_lf";
        case Fault::kRequestLineTooLong: return "request_line_too_long";
        case Fault::kHeadTooLarge: return "head_too_large";
        case Fault::kTooManyFields: return "too_many_fields";
        case Fault::kBadRequestLine: return "bad_request_line";
        case Fault::kBadMethod: return "bad_method";
        case Fault::kUnsupportedVersion: return "unsupported_version";
        case Fault::kBadTarget: return "bad_target";
        case Fault::kNotProxyRequest: return "not_proxy_request";
        case Fault::kUnsupportedScheme: return "unsupported_scheme";
        case Fault::kBadFieldName: return "bad_field_name";
        case Fault::kBadFieldValue: return "bad_field_value";
        case Fault::kObsFold: return "obs_fold";
        case Fault::kMissingHost: return "missing_host";
        case Fault::kDuplicateHost: return "duplicate_host";
        case Fault::kBadContentLength: return "bad_content_length";
        case Fault::kDuplicateContentLength: return "duplicate_content_length";
        case Fault::kBadTransferEncoding: return "bad_transfer_encoding";
        case Fault::kUnsupportedTransferEncoding: return "unsupported_transfer_encoding";
        case Fault::kConnectWithBody: return "connect_with_body";
        case Fault::kDuplicateProxyAuthorization: return "duplicate_proxy_authorization";
    }
    return "unknown";
}

StatusCode status_for(Fault f) {
    switch (f) {
        case Fault::kRequestLineTooLong: return StatusCode::kUriTooLong;
        case Fault::kHeadTooLarge:
        case Fault::kTooManyFields: return StatusCode::kFieldsTooLarge;
        case Fault::kUnsupportedVersion: return StatusCode::kVersionNotSupported;
        case Fault::kUnsupportedTransferEncoding: return StatusCode::kNotImplemented;
        default: return StatusCode::kBadRequest;
    }
}

AuthCheck check_proxy_authorization(const RequestHead& head, const Credentials& credentials) {
    if (!head.proxy_authorization) {
        return AuthCheck::kMissing;
    }
    // credentials = auth-scheme [ 1*SP token68 ] (RFC 9110 §11.4); the scheme is
    // case-insensitive, the token68 is the RFC 4648 §4 padded base64 of "user:pass".
    const std::string_view value = *head.proxy_authorization;
    const std::size_t sp = value.find(' ');
    if (!iequals(value.substr(0, sp), "basic")) {
        return AuthCheck::kBadScheme;
    }
    if (sp == std::string_view::npos) {
        return AuthCheck::kMalformed;
    }
    const std::string_view token = value.substr(value.find_first_not_of(' ', sp));
    std::array<std::uint8_t, kMaxUserPassSize> decoded{};
    std::size_t decoded_size = 0;
    const int rc = sodium_base642bin(decoded.data(), decoded.size(), token.data(), token.size(),
                                     nullptr, &decoded_size, nullptr,
                                     sodium_base64_VARIANT_ORIGINAL);
    AuthCheck verdict = AuthCheck::kMalformed;
    if (rc == 0) {
        verdict = credentials.matches_user_pass({decoded.data(), decoded_size})
                      ? AuthCheck::kOk
                      : AuthCheck::kMismatch;
    }
    sodium_memzero(decoded.data(), decoded.size());
    return verdict;
}

std::size_t write_forward_head(const RequestHead& head, const ForwardOptions& options,
                               MutByteView out) {
    if (head.form != RequestForm::kAbsolute) {
        return 0;
    }
    HeadWriter w(out);
    // RFC 9112 §3.2.1: origin-form; an empty path is sent as "/". RFC 9110 §6.2: an
    // intermediary sends its own HTTP version.
    w.put(head.method);
    w.put(" ");
    if (head.path_and_query.empty() || head.path_and_query[0] != '/') {
        w.put("/");
    }
    w.put(head.path_and_query);
    w.put(" HTTP/1.1\r\n");
    w.field("Host", head.authority);
    for (const HeaderField& f : head.header_fields()) {
        if (!is_dropped_when_forwarding(f.name) && !listed_in_connection(head, f.name)) {
            w.field(f.name, f.value);
        }
    }
    if (head.framing == BodyFraming::kContentLength) {
        std::array<char, 20> digits{};
        const auto end = std::to_chars(digits.begin(), digits.end(), head.content_length).ptr;
        w.field("Content-Length", std::string_view(digits.data(), end - digits.data()));
    } else if (head.framing == BodyFraming::kChunked) {
        w.field("Transfer-Encoding", "chunked");
    }
    if (options.add_via) {
        w.field("Via", head.minor_version == 0 ? "1.0 tunless" : "1.1 tunless");
    }
    if (options.close_connection) {
        w.field("Connection", "close");
    }
    w.put("\r\n");
    return w.finish();
}

std::string_view reason_phrase(StatusCode code) {
    switch (code) {
        case StatusCode::kConnectionEstablished: return "Connection established";
        case StatusCode::kBadRequest: return "Bad Request";
        case StatusCode::kForbidden: return "Forbidden";
        case StatusCode::kMethodNotAllowed: return "Method Not Allowed";
        case StatusCode::kProxyAuthenticationRequired: return "Proxy Authentication Required";
        case StatusCode::kUriTooLong: return "URI Too Long";
        case StatusCode::kFieldsTooLarge: return "Request Header Fields Too Large";
        case StatusCode::kNotImplemented: return "Not Implemented";
        case StatusCode::kBadGateway: return "Bad Gateway";
        case StatusCode::kServiceUnavailable: return "Service Unavailable";
        case StatusCode::kGatewayTimeout: return "Gateway Timeout";
        case StatusCode::kVersionNotSupported: return "HTTP Version Not Supported";
    }
    return "Error";
}

std::string_view response_head(StatusCode code) {
    switch (code) {
        case StatusCode::kConnectionEstablished:
            return "HTTP/1.1 200 Connection established\r\n\r\n";
        case StatusCode::kBadRequest:
            return "HTTP/1.1 400 Bad Request\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kForbidden:
            return "HTTP/1.1 403 Forbidden\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kMethodNotAllowed:
            return "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kProxyAuthenticationRequired:
            return "HTTP/1.1 407 Proxy Authentication Required\r\n"
                   "Proxy-Authenticate: Basic realm=\"tunless\"\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kUriTooLong:
            return "HTTP/1.1 414 URI Too Long\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kFieldsTooLarge:
            return "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kNotImplemented:
            return "HTTP/1.1 501 Not Implemented\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kBadGateway:
            return "HTTP/1.1 502 Bad Gateway\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kServiceUnavailable:
            return "HTTP/1.1 503 Service Unavailable\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kGatewayTimeout:
            return "HTTP/1.1 504 Gateway Timeout\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        case StatusCode::kVersionNotSupported:
            return "HTTP/1.1 505 HTTP Version Not Supported\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
    }
    return "HTTP/1.1 500 Internal Server Error\r\n"
           "Content-Length: 0\r\nConnection: close\r\n\r\n";
}

}  // namespace tunless::proxy::http
