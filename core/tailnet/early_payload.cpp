#include "core/tailnet/early_payload.hpp"

#include <algorithm>
#include <array>

namespace tunless::tailnet {
namespace {

// "\xff\xff\xffTS": cannot start an HTTP/2 frame header the server sends first (its SETTINGS
// frame has type 0x04 at byte 3; headscale noise.go comment).
constexpr std::array<std::uint8_t, 5> kEarlyMagic{0xff, 0xff, 0xff, 'T', 'S'};

}  // namespace

Status EarlyPayloadFilter::feed(ByteView in, Bytes& h2_out) {
    switch (state_) {
        case State::kFailed: return fail(Errc::kProtocol, "early payload: stream failed earlier");
        case State::kPassThrough: h2_out.insert(h2_out.end(), in.begin(), in.end()); return {};
        case State::kHeader: {
            const std::size_t take = std::min(in.size(), kEarlyHeaderLen - header_.size());
            header_.insert(header_.end(), in.begin(),
                           in.begin() + static_cast<std::ptrdiff_t>(take));
            in = in.subspan(take);
            if (header_.size() < kEarlyHeaderLen) {
                return {};
            }
            if (!std::equal(kEarlyMagic.begin(), kEarlyMagic.end(), header_.begin())) {
                // No early payload: these 9 bytes are HTTP/2's (ts2021/conn.go readHeader).
                state_ = State::kPassThrough;
                h2_out.insert(h2_out.end(), header_.begin(), header_.end());
                header_.clear();
                return feed(in, h2_out);
            }
            json_len_ = load_be32(header_.data() + kEarlyMagic.size());
            header_.clear();
            saw_early_ = true;
            if (json_len_ > kEarlyPayloadMaxLen) {
                state_ = State::kFailed;
                return fail(Errc::kProtocol, "early payload: longer than 64 KiB");
            }
            state_ = State::kJson;
            json_.reserve(json_len_);
            return feed(in, h2_out);
        }
        case State::kJson: {
            const std::size_t take = std::min(in.size(), json_len_ - json_.size());
            json_.append(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
            in = in.subspan(take);
            if (json_.size() < json_len_) {
                return {};
            }
            json_ready_ = true;
            state_ = State::kPassThrough;
            return feed(in, h2_out);
        }
    }
    return {};
}

std::optional<std::string> EarlyPayloadFilter::take_early_json() {
    if (!json_ready_) {
        return std::nullopt;
    }
    json_ready_ = false;
    return std::move(json_);
}

}  // namespace tunless::tailnet
