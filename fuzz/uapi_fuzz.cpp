// uapi_fuzz: the control socket's text protocol (core/uapi) on arbitrary bytes. Any local
// process that can open /var/run/wireguard/NAME.sock reaches these parsers, and `tunless
// status` parses what a daemon answers. The first byte picks the side:
//   even: server. The rest is a byte stream cut into reads at input-derived points (as the
//         socket delivers it); take_request frames it, set requests go through parse_set.
//         Oracles: framing consumes within the buffer and makes progress; lines respect
//         kMaxLineBytes; errno values are negative; the same stream framed whole gives the
//         same requests as framed in pieces.
//   odd:  client. parse_get_reply / parse_pairs_reply / reply_length on the rest. Oracles: an
//         accepted get reply serializes (serialize_get) to text that parses to the same text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/uapi/uapi_protocol.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;

struct Framing {
    std::vector<uapi::Request> requests;
    bool ended = false;  // a reject or close ended the connection
};

void check_request(const uapi::Request& r) {
    for (const auto& line : r.lines) {
        check(line.size() <= uapi::kMaxLineBytes, "line over kMaxLineBytes");
        check(line.find('\n') == std::string::npos, "newline inside a line");
    }
    if (r.op != uapi::Operation::kSet) return;
    const auto set = uapi::parse_set(r.lines);
    check(set.ops.size() <= r.lines.size(), "more set operations than lines");
    if (set.failure) check(set.failure->errno_value < 0, "errno must be negative");
}

// Frames `stream` as the server does: bytes arrive at `cuts`, each arrival frames as many
// requests as are complete; at the end, EOF.
Framing frame(std::string_view stream, const std::vector<std::size_t>& cuts) {
    Framing out;
    std::string buffer;
    std::size_t fed = 0;
    auto drain = [&](bool eof) {
        while (!out.ended) {
            const auto f = uapi::take_request(buffer, eof);
            check(f.consumed <= buffer.size(), "consumed past the buffer");
            if (f.kind == uapi::Framed::Kind::kIncomplete) return;
            if (f.kind != uapi::Framed::Kind::kRequest) {
                if (f.kind == uapi::Framed::Kind::kReject)
                    check(f.failure.errno_value < 0, "reject errno must be negative");
                out.ended = true;
                return;
            }
            check(f.consumed > 0, "a request consumed nothing");
            check_request(f.request);
            out.requests.push_back(f.request);
            buffer.erase(0, f.consumed);
        }
    };
    for (std::size_t cut : cuts) {
        buffer.append(stream.substr(fed, cut - fed));
        fed = cut;
        drain(false);
    }
    buffer.append(stream.substr(fed));
    drain(false);
    drain(true);
    return out;
}

void server_side(std::string_view stream) {
    const ByteView bytes(reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size());
    const Framing whole = frame(stream, {});
    const Framing pieces = frame(stream, split_points(bytes, 64));
    check(whole.requests.size() == pieces.requests.size(), "framing depends on read sizes");
    for (std::size_t i = 0; i < whole.requests.size() && i < pieces.requests.size(); ++i) {
        check(whole.requests[i].op == pieces.requests[i].op, "op depends on read sizes");
        check(whole.requests[i].lines == pieces.requests[i].lines, "lines depend on read sizes");
    }
}

void client_side(std::string_view reply) {
    check(uapi::reply_length(reply) <= reply.size(), "reply_length past the buffer");
    (void)uapi::parse_pairs_reply(reply);
    const auto info = uapi::parse_get_reply(reply);
    if (!info) return;
    const std::string once = uapi::serialize_get(*info) + uapi::errno_reply(0);
    const auto again = uapi::parse_get_reply(once);
    check(again.has_value(), "serialized get reply does not parse");
    if (again) check(uapi::serialize_get(*again) + uapi::errno_reply(0) == once,
                     "get reply round trip differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > (std::size_t{1} << 16)) return 0;
    ExactCopy copy(ByteView(data + 1, size - 1));
    const std::string_view text(reinterpret_cast<const char*>(copy.data()), copy.size());
    if ((data[0] & 1) == 0) {
        server_side(text);
    } else {
        client_side(text);
    }
    return 0;
}
