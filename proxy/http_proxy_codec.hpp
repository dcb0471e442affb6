// HTTP/1.1 forward-proxy codec (RFC 9110, RFC 9112): an incremental parser for the request
// head a local client sends to the HTTP proxy port, the Basic proxy-auth check (RFC 7617),
// the rewrite of an absolute-form request into the head forwarded to the origin, and the
// fixed response heads the proxy itself sends. Sans-IO; the HTTP proxy server drives it.
// Not a general HTTP library: no response parsing, no bodies (the server passes them through
// according to the reported framing), no HTTP/2.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/base/bytes.hpp"
#include "proxy/codec_types.hpp"
#include "proxy/credentials.hpp"
#include "proxy/target.hpp"

namespace tunless::proxy::http {

// Request line + fields + the empty line, and the number of field lines. Exceeding either is
// answered with 414 (still in the request line) or 431, then the connection is closed.
inline constexpr std::size_t kMaxHeadSize = 8192;
inline constexpr std::size_t kMaxHeaderFields = 64;
// write_forward_head() always fits into a buffer this large.
inline constexpr std::size_t kMaxForwardHeadSize = kMaxHeadSize + 256;

enum class StatusCode : std::uint16_t {
    kConnectionEstablished = 200,
    kBadRequest = 400,
    kForbidden = 403,
    kMethodNotAllowed = 405,
    kProxyAuthenticationRequired = 407,
    kUriTooLong = 414,
    kFieldsTooLarge = 431,
    kNotImplemented = 501,
    kBadGateway = 502,
    kServiceUnavailable = 503,  // a connection limit was reached (RFC 9110 §15.6.4)
    kGatewayTimeout = 504,
    kVersionNotSupported = 505,
};

// Why a request head was rejected: one named, counted drop reason each. status_for() gives
// the response to send before closing.
enum class Fault : std::uint8_t {
    kNone,
    kBareCr,                        // CR not followed by LF (RFC 9112 §2.2)
    kBareLf,                        // LF without CR: RFC 9112 §2.2 allows accepting it; we don't
    kRequestLineTooLong,            // 414
    kHeadTooLarge,                  // 431
    kTooManyFields,                 // 431
    kBadRequestLine,                // not "method SP target SP HTTP/d.d", or a second empty line
    kBadMethod,                     // method is not a token
    kUnsupportedVersion,            // major version other than 1 -> 505
    kBadTarget,                     // bad authority, port, URI, userinfo or fragment
    kNotProxyRequest,               // origin-form "/x" or "*": a request for an origin server
    kUnsupportedScheme,             // absolute-form with a scheme other than http
    kBadFieldName,                  // empty, not a token, or whitespace before ':' (§5.1)
    kBadFieldValue,                 // NUL or another control character (RFC 9110 §5.5)
    kObsFold,                       // a line starting with SP/HTAB (RFC 9112 §5.2)
    kMissingHost,                   // HTTP/1.1 without Host (RFC 9112 §3.2)
    kDuplicateHost,                 // more than one Host line (RFC 9112 §3.2)
    kBadContentLength,              // not 1*DIGIT fitting 64 bits
    kDuplicateContentLength,        // more than one Content-Length line
    kBadTransferEncoding,           // with Content-Length, or in HTTP/1.0 (RFC 9112 §6.1)
    kUnsupportedTransferEncoding,   // anything but one "chunked" -> 501
    kConnectWithBody,               // CONNECT with Transfer-Encoding or Content-Length > 0
    kDuplicateProxyAuthorization,   // more than one Proxy-Authorization line
};
const char* fault_name(Fault f);
StatusCode status_for(Fault f);

enum class RequestForm : std::uint8_t {
    kAuthority,  // CONNECT host:port (RFC 9112 §3.2.3): open a tunnel
    kAbsolute,   // METHOD http://host[:port]/path (RFC 9112 §3.2.2): forward one request
};

// How the request content is delimited (RFC 9112 §6.3); the server passes it through.
enum class BodyFraming : std::uint8_t { kNone, kContentLength, kChunked };

struct HeaderField {
    std::string_view name;
    std::string_view value;  // without leading/trailing whitespace
};

// Views point into the RequestHeadParser that produced the head.
struct RequestHead {
    std::string_view method;
    RequestForm form = RequestForm::kAuthority;
    Target target;                    // absolute-form without a port gets port 80
    std::string_view authority;       // host[:port] as sent: the Host value we regenerate
    std::string_view path_and_query;  // absolute-form: after the authority; may be "" or "?q"
    std::uint8_t minor_version = 1;   // HTTP/1.<minor>; HTTP/1.2+ is treated as 1.1
    std::array<HeaderField, kMaxHeaderFields> fields{};
    std::size_t field_count = 0;
    BodyFraming framing = BodyFraming::kNone;
    std::uint64_t content_length = 0;            // kContentLength only
    std::optional<std::string_view> proxy_authorization;

    std::span<const HeaderField> header_fields() const { return {fields.data(), field_count}; }
    // First field with this name (ASCII case-insensitive).
    std::optional<std::string_view> find(std::string_view name) const;
};

// Collects one request head from bytes in any split, strictly: lines end in CRLF, one leading
// empty line is ignored (RFC 9112 §2.2), request line fields are separated by exactly one SP.
// Holds the head bytes itself, so it is pinned: RequestHead views point into it.
class RequestHeadParser {
public:
    struct Step {
        Progress progress = Progress::kNeedMore;
        std::size_t consumed = 0;  // bytes of this chunk taken; later ones are body/tunnel data
        Fault fault = Fault::kNone;
    };

    RequestHeadParser() = default;
    RequestHeadParser(const RequestHeadParser&) = delete;
    RequestHeadParser& operator=(const RequestHeadParser&) = delete;

    // Once kDone or kError, further calls consume nothing and repeat the outcome.
    Step feed(ByteView chunk);
    // Valid after kDone, until reset() or destruction.
    const RequestHead& head() const { return head_; }
    void reset();

private:
    Step reject(Fault f);
    Step on_line_end();
    Fault parse_head();

    std::array<char, kMaxHeadSize> buf_{};
    std::size_t size_ = 0;
    std::size_t line_start_ = 0;
    std::size_t head_start_ = 0;  // 2 when a leading empty line was skipped
    std::size_t field_lines_ = 0;
    bool request_line_seen_ = false;
    Progress progress_ = Progress::kNeedMore;
    Fault fault_ = Fault::kNone;
    RequestHead head_{};
};

// --- Basic proxy authentication (RFC 9110 §11.7.1, RFC 7617) ---------------------------------

enum class AuthCheck : std::uint8_t {
    kOk,
    kMissing,    // no Proxy-Authorization: answer 407 (the normal first round trip)
    kBadScheme,  // not "Basic"
    kMalformed,  // not a canonical padded base64 token68 of at most 511 decoded bytes
    kMismatch,   // wrong user or password (checked in constant time)
};
// Anything but kOk is answered with 407 and its Proxy-Authenticate challenge.
AuthCheck check_proxy_authorization(const RequestHead& head, const Credentials& credentials);

// --- forwarding an absolute-form request (RFC 9110 §7.6) --------------------------------------

struct ForwardOptions {
    bool add_via = true;           // RFC 9110 §7.6.3: a proxy MUST send Via ("1.1 tunless")
    bool close_connection = true;  // "Connection: close": one request per origin connection
};

// Writes the head to send to the origin: "METHOD origin-form HTTP/1.1", a Host field built
// from the request target (RFC 9112 §3.2.2), the client's fields minus hop-by-hop ones
// (Connection and the names it lists, Proxy-Connection, Keep-Alive, TE, Upgrade,
// Proxy-Authorization, Proxy-Authenticate) and minus Host/Content-Length/Transfer-Encoding,
// which are regenerated from the parsed framing, then Via and Connection as configured.
// Returns the bytes written; 0 if `head` is not absolute-form or `out` is too small (a buffer
// of kMaxForwardHeadSize always suffices).
std::size_t write_forward_head(const RequestHead& head, const ForwardOptions& options,
                               MutByteView out);

// --- the proxy's own responses -----------------------------------------------------------------

// Complete response heads. 200 is the CONNECT success (no Content-Length, RFC 9110 §9.3.6)
// after which the connection is a tunnel; every other code carries "Content-Length: 0" and
// "Connection: close", 407 adds `Proxy-Authenticate: Basic realm="tunless"` and 405 adds
// "Allow: CONNECT" (sent when plain forwarding is disabled).
std::string_view response_head(StatusCode code);
std::string_view reason_phrase(StatusCode code);

}  // namespace tunless::proxy::http
