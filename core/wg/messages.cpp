#include "core/wg/messages.hpp"

#include <cassert>
#include <cstring>

namespace tunless::wg {

ParsedMessage parse(ByteView d) {
    if (d.size() < kHeaderLen) return DropReason::kTooShort;
    // Type and the three reserved bytes as one little-endian word: a nonzero reserved byte
    // makes an unknown type (kernel messages.h, wireguard-go RoutineReceiveIncoming).
    switch (load_le32(d.data())) {
        case static_cast<std::uint32_t>(MessageType::kInitiation):
            if (d.size() != initiation::kSize) return DropReason::kBadLength;
            return InitiationView(d);
        case static_cast<std::uint32_t>(MessageType::kResponse):
            if (d.size() != response::kSize) return DropReason::kBadLength;
            return ResponseView(d);
        case static_cast<std::uint32_t>(MessageType::kCookieReply):
            if (d.size() != cookie_reply::kSize) return DropReason::kBadLength;
            return CookieReplyView(d);
        case static_cast<std::uint32_t>(MessageType::kTransport):
            if (d.size() < transport::kMinSize) return DropReason::kBadLength;
            return TransportView(d);
        default:
            return DropReason::kUnknownType;
    }
}

void write_initiation_header(MutByteView out, std::uint32_t sender) {
    assert(out.size() == initiation::kSize);
    store_le32(out.data(), static_cast<std::uint32_t>(MessageType::kInitiation));
    store_le32(out.data() + initiation::kSender, sender);
}

void write_response_header(MutByteView out, std::uint32_t sender, std::uint32_t receiver) {
    assert(out.size() == response::kSize);
    store_le32(out.data(), static_cast<std::uint32_t>(MessageType::kResponse));
    store_le32(out.data() + response::kSender, sender);
    store_le32(out.data() + response::kReceiver, receiver);
}

void write_cookie_reply(MutByteView out, std::uint32_t receiver, ByteView nonce24,
                        ByteView encrypted_cookie32) {
    assert(out.size() == cookie_reply::kSize);
    assert(nonce24.size() == kCookieNonceLen);
    assert(encrypted_cookie32.size() == encrypted_len(kCookieLen));
    store_le32(out.data(), static_cast<std::uint32_t>(MessageType::kCookieReply));
    store_le32(out.data() + cookie_reply::kReceiver, receiver);
    std::memcpy(out.data() + cookie_reply::kNonce, nonce24.data(), kCookieNonceLen);
    std::memcpy(out.data() + cookie_reply::kCookie, encrypted_cookie32.data(),
                encrypted_len(kCookieLen));
}

void write_transport_header(MutByteView out, std::uint32_t receiver, std::uint64_t counter) {
    assert(out.size() >= transport::kHeaderSize);
    store_le32(out.data(), static_cast<std::uint32_t>(MessageType::kTransport));
    store_le32(out.data() + transport::kReceiver, receiver);
    store_le64(out.data() + transport::kCounter, counter);
}

}  // namespace tunless::wg
