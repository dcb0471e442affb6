// The small HTTP/1.1 the tailnet client speaks before switching protocols: request builders
// for GET /key, the ts2021 upgrade (tailscale control/controlhttp/client.go) and the DERP
// upgrade (derp/derphttp/derphttp_client.go), a response-head parser that never swallows the
// bytes after the blank line (the upgraded protocol starts right there), and a bounded body
// reader for the /key answer. Not a general HTTP client: no keep-alive, no redirects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

namespace tunless::tailnet {

inline constexpr std::size_t kHttpMaxHeadLen = 16 * 1024;
inline constexpr std::size_t kHttpMaxHeaders = 100;
inline constexpr std::size_t kHttpMaxBodyLen = 64 * 1024;
inline constexpr std::string_view kControlUpgradeToken = "tailscale-control-protocol";
inline constexpr std::string_view kDerpUpgradeToken = "DERP";

// `host` is the Host header value ("host" or "host:port"); anything with whitespace, control
// characters or that is empty is kInvalidArgument (no header injection from configuration).
Result<std::string> build_key_request(std::string_view host, std::uint16_t capability_version);
// `initiation` = the 101-byte ControlHandshake::initiation(), sent as standard padded base64.
Result<std::string> build_ts2021_upgrade_request(std::string_view host, ByteView initiation);
Result<std::string> build_derp_upgrade_request(std::string_view host);

struct HttpHeader {
    std::string name;
    std::string value;
};

struct ResponseHead {
    int status = 0;
    std::string reason;
    std::vector<HttpHeader> headers;
    // First header with this name, case-insensitive; value trimmed of surrounding whitespace.
    std::optional<std::string_view> header(std::string_view name) const;
};

struct HeadParse {
    std::size_t consumed = 0;  // bytes of the head incl. the blank line; 0 while incomplete
    std::optional<ResponseHead> head;
    bool need_more() const { return !head.has_value(); }
};

// `in` = everything received so far from the start of the response. Lines end in CRLF (a bare
// LF is tolerated, like Go's textproto). kLimitReached when no blank line within
// kHttpMaxHeadLen bytes, kProtocol for a malformed status line or header line.
Result<HeadParse> parse_response_head(ByteView in);

// Status 101 with an Upgrade header equal to `token` (case-insensitive), else kRefused with
// the status line in the message (controlhttp client.go tryURLUpgrade).
Status check_upgrade_response(const ResponseHead& head, std::string_view token);

// Reads a small response body framed by Content-Length, chunked transfer coding, or the end
// of the connection (RFC 9112 §6.3). Bounded: more than `max_len` body bytes is kLimitReached.
class BodyReader {
public:
    // kProtocol for an unusable framing (bad or conflicting Content-Length).
    static Result<BodyReader> for_response(const ResponseHead& head,
                                           std::size_t max_len = kHttpMaxBodyLen);
    // Feeds bytes after the head; returns how many belong to the body (the rest, if any,
    // follows the message). Errors leave the reader failed.
    Result<std::size_t> feed(ByteView in);
    // The connection closed: fine for read-until-close, kProtocol (truncated) otherwise.
    Status on_eof();
    bool done() const { return state_ == State::kDone; }
    const Bytes& body() const { return body_; }

private:
    enum class Mode { kLength, kChunked, kUntilClose };
    enum class State { kSizeLine, kData, kDataEnd, kTrailers, kDone, kFailed };
    BodyReader(Mode mode, std::size_t length, std::size_t max_len);
    Result<std::size_t> feed_chunked(ByteView in);
    Status on_line(std::string_view line);
    Status append(ByteView data);

    Mode mode_;
    State state_;
    std::size_t remaining_ = 0;  // of the body (kLength) or of the current chunk
    std::size_t max_len_;
    std::string line_;
    Bytes body_;
};

}  // namespace tunless::tailnet
