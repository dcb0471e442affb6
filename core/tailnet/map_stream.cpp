#include "core/tailnet/map_stream.hpp"

#include <string>

namespace tunless::tailnet {

Status MapMessageReader::check_header() {
    if (error_) return *error_;
    if (buffered() < kHeaderLen) return {};
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data() + pos_);
    const std::uint32_t len = load_le32(p);
    if (len == 0) {
        // Go would hand "" to json.Unmarshal and fail; a zero length is never a message.
        error_ = make_error(Errc::kProtocol, "map stream: zero-length message");
    } else if (len > max_message_) {
        error_ = make_error(Errc::kLimitReached, "map stream: message of " + std::to_string(len) +
                                                     " bytes exceeds the limit of " +
                                                     std::to_string(max_message_));
    }
    if (error_) return *error_;
    return {};
}

Status MapMessageReader::feed(ByteView bytes) {
    if (error_) return *error_;
    if (buffered() + bytes.size() > 2 * (max_message_ + kHeaderLen)) {
        error_ = make_error(Errc::kLimitReached, "map stream: too many undrained bytes");
        return *error_;
    }
    // Compact before growing so the buffer never holds consumed bytes plus a full message.
    if (pos_ != 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return check_header();
}

Result<std::optional<std::string_view>> MapMessageReader::next() {
    if (auto s = check_header(); !s) return s.error();
    if (buffered() < kHeaderLen) return std::optional<std::string_view>{};
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data() + pos_);
    const std::size_t len = load_le32(p);
    if (buffered() - kHeaderLen < len) return std::optional<std::string_view>{};
    const std::string_view msg(buf_.data() + pos_ + kHeaderLen, len);
    pos_ += kHeaderLen + len;
    return std::optional<std::string_view>{msg};
}

}  // namespace tunless::tailnet
