// The optional "early payload" at the start of the decrypted ts2021 stream (tailscale
// control/ts2021/conn.go, headscale hscontrol/noise.go earlyNoise): the first 9 plaintext
// bytes are either FF FF FF 'T' 'S' + BE32 length + that much JSON (tailcfg.EarlyNoise), or
// the first HTTP/2 frame header. This filter sits between ControlChannel::open and the HTTP/2
// session: it strips the early payload and passes everything else through unchanged.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

namespace tunless::tailnet {

inline constexpr std::size_t kEarlyHeaderLen = 9;  // also the HTTP/2 frame header size
// Upstream allows 10 MiB; the JSON is ~80 bytes ({"nodeKeyChallenge":"chalpub:<hex>"}) and we
// are an embedded client.
inline constexpr std::size_t kEarlyPayloadMaxLen = 64 * 1024;

class EarlyPayloadFilter {
public:
    // Appends the bytes of `in` that belong to HTTP/2 to `h2_out` (any split of the stream).
    // kProtocol if the early payload is longer than kEarlyPayloadMaxLen; the filter then
    // stays failed.
    Status feed(ByteView in, Bytes& h2_out);
    // The early JSON, once complete; returned exactly once (later calls: nullopt).
    std::optional<std::string> take_early_json();
    // True once the first 9 bytes have decided between early payload and HTTP/2.
    bool decided() const { return state_ != State::kHeader; }
    bool saw_early_payload() const { return saw_early_; }

private:
    enum class State { kHeader, kJson, kPassThrough, kFailed };
    State state_ = State::kHeader;
    Bytes header_;
    std::string json_;
    std::size_t json_len_ = 0;
    bool saw_early_ = false;
    bool json_ready_ = false;
};

}  // namespace tunless::tailnet
