// Wire format: parse() accepts exactly (type, length) pairs of the WireGuard protocol
// (kernel messages.h, wireguard-go noise-protocol.go) and names every rejection.
#include <doctest/doctest.h>

#include <variant>

#include "core/wg/messages.hpp"

namespace tunless::wg {

namespace {

Bytes message(std::uint8_t type, std::size_t len) {
    Bytes b(len, 0x5a);
    if (len >= 4) {
        b[0] = type;
        b[1] = b[2] = b[3] = 0;
    }
    return b;
}

template <typename View>
bool parses_as(const Bytes& b) {
    const ParsedMessage m = parse(b);
    return std::holds_alternative<View>(m);
}

DropReason reason(const Bytes& b) {
    const ParsedMessage m = parse(b);
    REQUIRE(std::holds_alternative<DropReason>(m));
    return std::get<DropReason>(m);
}

}  // namespace

TEST_CASE("protocol constants match the WireGuard paper and implementations") {
    CHECK(initiation::kSize == 148);
    CHECK(response::kSize == 92);
    CHECK(cookie_reply::kSize == 64);
    CHECK(transport::kMinSize == 32);
    // Field offsets, cross-checked with the kernel's message_handshake_* structs.
    CHECK(initiation::kEphemeral == 8);
    CHECK(initiation::kStatic == 40);
    CHECK(initiation::kTimestamp == 88);
    CHECK(initiation::kMac1 == 116);
    CHECK(initiation::kMac2 == 132);
    CHECK(response::kEphemeral == 12);
    CHECK(response::kEmpty == 44);
    CHECK(response::kMac1 == 60);
    CHECK(response::kMac2 == 76);
    CHECK(cookie_reply::kNonce == 8);
    CHECK(cookie_reply::kCookie == 32);
    CHECK(kRekeyAfterMessages == (std::uint64_t{1} << 60));
    // 2^64 - 2^13 - 1 (wireguard-go RejectAfterMessages).
    CHECK(kRejectAfterMessages == 18446744073709543423ULL);
    CHECK(kRekeyAfterTime == 120s);
    CHECK(kRejectAfterTime == 180s);
    CHECK(kRekeyAttemptTime == 90s);
    CHECK(kRekeyTimeout == 5s);
    CHECK(kKeepaliveTimeout == 10s);
    CHECK(kMaxTimerHandshakes == 18);
}

TEST_CASE("parse accepts each message type at its exact length") {
    CHECK(parses_as<InitiationView>(message(1, 148)));
    CHECK(parses_as<ResponseView>(message(2, 92)));
    CHECK(parses_as<CookieReplyView>(message(3, 64)));
    CHECK(parses_as<TransportView>(message(4, 32)));
    CHECK(parses_as<TransportView>(message(4, 33)));
    CHECK(parses_as<TransportView>(message(4, 1500)));
}

TEST_CASE("parse rejects every wrong length with kBadLength") {
    struct Case {
        std::uint8_t type;
        std::size_t len;
    };
    const Case cases[] = {
        {1, 4}, {1, 147}, {1, 149}, {1, 92}, {2, 4}, {2, 91}, {2, 93}, {2, 148},
        {3, 4}, {3, 63}, {3, 65}, {3, 92}, {4, 4}, {4, 16}, {4, 31},
    };
    for (const Case& c : cases) {
        CAPTURE(int(c.type));
        CAPTURE(c.len);
        CHECK(reason(message(c.type, c.len)) == DropReason::kBadLength);
    }
}

TEST_CASE("parse rejects unknown types, nonzero reserved bytes and short datagrams") {
    CHECK(reason(message(0, 148)) == DropReason::kUnknownType);
    CHECK(reason(message(5, 148)) == DropReason::kUnknownType);
    CHECK(reason(message(0xff, 64)) == DropReason::kUnknownType);
    for (std::size_t reserved = 1; reserved <= 3; ++reserved) {
        for (const auto& [type, len] : {std::pair{1, 148}, {2, 92}, {3, 64}, {4, 32}}) {
            Bytes b = message(static_cast<std::uint8_t>(type), len);
            b[reserved] = 1;
            CAPTURE(type);
            CAPTURE(reserved);
            CHECK(reason(b) == DropReason::kUnknownType);
        }
    }
    CHECK(reason(Bytes{}) == DropReason::kTooShort);
    CHECK(reason(Bytes{1, 0, 0}) == DropReason::kTooShort);
}

TEST_CASE("views read little-endian fields written by the serialization helpers") {
    Bytes init(initiation::kSize, 0);
    write_initiation_header(init, 0x11223344);
    CHECK(init[0] == 1);
    CHECK(init[4] == 0x44);  // little-endian sender index
    init[initiation::kEphemeral] = 0xe1;
    init[initiation::kMac2 + 15] = 0xee;
    const auto iv = std::get<InitiationView>(parse(init));
    CHECK(iv.sender() == 0x11223344);
    CHECK(iv.ephemeral()[0] == 0xe1);
    CHECK(iv.encrypted_static().size() == 48);
    CHECK(iv.encrypted_timestamp().size() == 28);
    CHECK(iv.mac2()[15] == 0xee);

    Bytes resp(response::kSize, 0);
    write_response_header(resp, 7, 0xdeadbeef);
    const auto rv = std::get<ResponseView>(parse(resp));
    CHECK(rv.sender() == 7);
    CHECK(rv.receiver() == 0xdeadbeef);
    CHECK(rv.encrypted_empty().size() == 16);

    Bytes nonce(24, 0x99);
    Bytes sealed(32, 0x77);
    Bytes cookie(cookie_reply::kSize, 0);
    write_cookie_reply(cookie, 42, nonce, sealed);
    const auto cv = std::get<CookieReplyView>(parse(cookie));
    CHECK(cv.receiver() == 42);
    CHECK(cv.nonce()[23] == 0x99);
    CHECK(cv.encrypted_cookie()[0] == 0x77);

    Bytes data(48, 0);
    write_transport_header(data, 0x01020304, 0x0a0b0c0d0e0f1011ULL);
    CHECK(data[8] == 0x11);  // counter little-endian
    const auto tv = std::get<TransportView>(parse(data));
    CHECK(tv.receiver() == 0x01020304);
    CHECK(tv.counter() == 0x0a0b0c0d0e0f1011ULL);
    CHECK(tv.encrypted_content().size() == 32);
    CHECK(tv.plaintext_len() == 16);
}

TEST_CASE("padding rounds up to 16 and never beyond the MTU") {
    CHECK(padded_len(0, 1420) == 0);
    CHECK(padded_len(1, 1420) == 16);
    CHECK(padded_len(16, 1420) == 16);
    CHECK(padded_len(17, 1420) == 32);
    CHECK(padded_len(1419, 1420) == 1420);
    CHECK(padded_len(1420, 1420) == 1420);
    CHECK(padded_len(1500, 1420) == 1500);
    CHECK(transport_len(16) == 48);
}

}  // namespace tunless::wg
