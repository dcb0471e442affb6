#include "core/base/result.hpp"

namespace tunless {

const char* errc_name(Errc c) noexcept {
    switch (c) {
        case Errc::kInvalidArgument: return "invalid argument";
        case Errc::kNotFound: return "not found";
        case Errc::kAlreadyExists: return "already exists";
        case Errc::kLimitReached: return "limit reached";
        case Errc::kAuthFailed: return "authentication failed";
        case Errc::kWeakKey: return "weak key";
        case Errc::kIo: return "I/O error";
        case Errc::kUnsupported: return "unsupported";
        case Errc::kTimedOut: return "timed out";
        case Errc::kRefused: return "refused";
        case Errc::kUnreachable: return "unreachable";
        case Errc::kClosed: return "closed";
        case Errc::kProtocol: return "protocol error";
    }
    return "unknown";
}

}  // namespace tunless
