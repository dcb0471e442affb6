#include "netstack/errors.hpp"

#include <string>

#include "lwip/err.h"

namespace tunless::net {
namespace {

struct Mapping {
    Errc code;
    const char* meaning;
};

// lwIP 2.1 err.h meanings, phrased for logs.
Mapping map_err(int e) {
    switch (e) {
        case ERR_MEM: return {Errc::kLimitReached, "out of memory"};
        case ERR_BUF: return {Errc::kLimitReached, "buffer error"};
        case ERR_TIMEOUT: return {Errc::kTimedOut, "timeout"};
        case ERR_RTE: return {Errc::kUnreachable, "no route"};
        case ERR_INPROGRESS: return {Errc::kIo, "operation in progress"};
        case ERR_VAL: return {Errc::kInvalidArgument, "illegal value"};
        case ERR_WOULDBLOCK: return {Errc::kLimitReached, "would block"};
        case ERR_USE: return {Errc::kAlreadyExists, "address in use"};
        case ERR_ALREADY: return {Errc::kAlreadyExists, "already connecting"};
        case ERR_ISCONN: return {Errc::kAlreadyExists, "already connected"};
        case ERR_CONN: return {Errc::kClosed, "not connected"};
        case ERR_IF: return {Errc::kIo, "low-level netif error"};
        case ERR_ABRT: return {Errc::kTimedOut, "connection aborted by the stack (timeout)"};
        case ERR_RST: return {Errc::kRefused, "connection reset by peer"};
        case ERR_CLSD: return {Errc::kClosed, "connection closed"};
        case ERR_ARG: return {Errc::kInvalidArgument, "illegal argument"};
        default: return {Errc::kIo, "unknown lwIP error"};
    }
}

}  // namespace

Error to_error(int lwip_err, const char* context) {
    const Mapping m = map_err(lwip_err);
    std::string message = context;
    message += ": ";
    message += m.meaning;
    return make_error(m.code, std::move(message));
}

}  // namespace tunless::net
