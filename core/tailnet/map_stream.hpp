// Framing of the /machine/map response body: a sequence of messages, each a uint32
// LITTLE-endian length followed by that many bytes of JSON MapResponse (tailscale
// control/controlclient/direct.go reads binary.LittleEndian.Uint32; headscale
// hscontrol/poll.go writeMap writes it). The control session feeds HTTP/2 DATA bytes in any
// split and takes whole messages out for parse_map_response.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

namespace tunless::tailnet {

class MapMessageReader {
public:
    static constexpr std::size_t kDefaultMaxMessage = 4u << 20;
    static constexpr std::size_t kHeaderLen = 4;

    explicit MapMessageReader(std::size_t max_message = kDefaultMaxMessage)
        : max_message_(max_message) {}

    // Appends body bytes. Fails (and stays failed) when a length prefix announces an empty or
    // oversized message, or when more than 2 * (max_message + 4) bytes are waiting: callers drain
    // next() after every feed, so only a caller bug or a hostile peer gets there.
    Status feed(ByteView bytes);

    // The next complete message, valid until the next feed()/next() call; nullopt when more
    // bytes are needed; the sticky error once the stream is malformed.
    Result<std::optional<std::string_view>> next();

    // True when bytes of an unfinished message are buffered (EOF now = truncated stream).
    bool mid_message() const { return buffered() != 0; }
    std::size_t buffered() const { return buf_.size() - pos_; }
    bool failed() const { return error_.has_value(); }

private:
    Status check_header();

    std::size_t max_message_;
    std::string buf_;
    std::size_t pos_ = 0;  // start of the unconsumed bytes in buf_
    std::optional<Error> error_;
};

}  // namespace tunless::tailnet
