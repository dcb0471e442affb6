// BodyReader: message body framing per RFC 9112 §6.3 (Content-Length, chunked §7.1, or
// read until the connection closes), bounded by max_len.
#include <algorithm>
#include <charconv>

#include "core/tailnet/http1.hpp"

namespace tunless::tailnet {
namespace {

constexpr std::size_t kMaxLineLen = 1024;  // chunk-size lines and trailer lines

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// The last transfer coding of "a, b, chunked" (RFC 9112 §6.1: chunked must be last).
bool ends_with_chunked(std::string_view te) {
    const std::size_t comma = te.rfind(',');
    std::string_view last = comma == std::string_view::npos ? te : te.substr(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) {
        last.remove_prefix(1);
    }
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) {
        last.remove_suffix(1);
    }
    constexpr std::string_view kChunked = "chunked";
    return last.size() == kChunked.size() &&
           std::equal(last.begin(), last.end(), kChunked.begin(),
                      [](char a, char b) { return lower(a) == b; });
}

bool parse_decimal(std::string_view s, std::size_t& out) {
    if (s.empty() || s.size() > 15) {
        return false;
    }
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

BodyReader::BodyReader(Mode mode, std::size_t length, std::size_t max_len)
    : mode_(mode), state_(State::kData), remaining_(length), max_len_(max_len) {
    if (mode_ == Mode::kChunked) {
        state_ = State::kSizeLine;
    } else if (mode_ == Mode::kLength && length == 0) {
        state_ = State::kDone;
    }
}

Result<BodyReader> BodyReader::for_response(const ResponseHead& head, std::size_t max_len) {
    if ((head.status >= 100 && head.status < 200) || head.status == 204 || head.status == 304) {
        return BodyReader(Mode::kLength, 0, max_len);
    }
    if (const auto te = head.header("Transfer-Encoding")) {
        // Transfer-Encoding overrides Content-Length; a non-chunked coding runs to close.
        return BodyReader(ends_with_chunked(*te) ? Mode::kChunked : Mode::kUntilClose, 0, max_len);
    }
    std::optional<std::size_t> length;
    for (const auto& h : head.headers) {
        if (h.name.size() != 14 || !std::equal(h.name.begin(), h.name.end(), "content-length",
                                               [](char a, char b) { return lower(a) == b; })) {
            continue;
        }
        std::size_t n = 0;
        if (!parse_decimal(h.value, n) || (length && *length != n)) {
            return fail(Errc::kProtocol, "http: invalid Content-Length");
        }
        length = n;
    }
    if (!length) {
        return BodyReader(Mode::kUntilClose, 0, max_len);
    }
    if (*length > max_len) {
        return fail(Errc::kLimitReached, "http: response body larger than allowed");
    }
    return BodyReader(Mode::kLength, *length, max_len);
}

Status BodyReader::append(ByteView data) {
    if (body_.size() + data.size() > max_len_) {
        state_ = State::kFailed;
        return fail(Errc::kLimitReached, "http: response body larger than allowed");
    }
    body_.insert(body_.end(), data.begin(), data.end());
    return {};
}

Result<std::size_t> BodyReader::feed(ByteView in) {
    if (state_ == State::kFailed) {
        return fail(Errc::kProtocol, "http: body reader failed earlier");
    }
    if (state_ == State::kDone) {
        return std::size_t{0};
    }
    if (mode_ == Mode::kChunked) {
        return feed_chunked(in);
    }
    const std::size_t take = mode_ == Mode::kLength ? std::min(in.size(), remaining_) : in.size();
    if (auto st = append(in.first(take)); !st) {
        return st.error();
    }
    if (mode_ == Mode::kLength) {
        remaining_ -= take;
        if (remaining_ == 0) {
            state_ = State::kDone;
        }
    }
    return take;
}

Result<std::size_t> BodyReader::feed_chunked(ByteView in) {
    std::size_t pos = 0;
    while (pos < in.size() && state_ != State::kDone) {
        if (state_ == State::kData) {
            const std::size_t take = std::min(in.size() - pos, remaining_);
            if (auto st = append(in.subspan(pos, take)); !st) {
                return st.error();
            }
            pos += take;
            remaining_ -= take;
            if (remaining_ == 0) {
                state_ = State::kDataEnd;
            }
            continue;
        }
        const char c = static_cast<char>(in[pos++]);
        if (c != '\n') {
            if (line_.size() == kMaxLineLen) {
                state_ = State::kFailed;
                return fail(Errc::kProtocol, "http: chunk framing line too long");
            }
            line_.push_back(c);
            continue;
        }
        if (!line_.empty() && line_.back() == '\r') {
            line_.pop_back();
        }
        const Status st = on_line(line_);
        line_.clear();
        if (!st) {
            state_ = State::kFailed;
            return st.error();
        }
    }
    return pos;
}

Status BodyReader::on_line(std::string_view line) {
    switch (state_) {
        case State::kSizeLine: {
            const std::size_t ext = std::min(line.find(';'), line.size());
            std::string_view hex = line.substr(0, ext);
            while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) {
                hex.remove_suffix(1);
            }
            std::size_t size = 0;
            const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
            if (hex.empty() || hex.size() > 8 || r.ec != std::errc() ||
                r.ptr != hex.data() + hex.size()) {
                return fail(Errc::kProtocol, "http: malformed chunk size");
            }
            if (size > max_len_ - body_.size()) {
                return fail(Errc::kLimitReached, "http: response body larger than allowed");
            }
            remaining_ = size;
            state_ = size == 0 ? State::kTrailers : State::kData;
            return {};
        }
        case State::kDataEnd:
            if (!line.empty()) {
                return fail(Errc::kProtocol, "http: chunk data not followed by CRLF");
            }
            state_ = State::kSizeLine;
            return {};
        case State::kTrailers:
            if (line.empty()) {
                state_ = State::kDone;
            }
            return {};  // trailer fields are ignored
        default: return fail(Errc::kProtocol, "http: unexpected chunk framing state");
    }
}

Status BodyReader::on_eof() {
    if (state_ == State::kDone) {
        return {};
    }
    if (mode_ == Mode::kUntilClose && state_ != State::kFailed) {
        state_ = State::kDone;
        return {};
    }
    state_ = State::kFailed;
    return fail(Errc::kProtocol, "http: connection closed before the end of the body");
}

}  // namespace tunless::tailnet
