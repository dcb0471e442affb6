// The single translation point from lwIP's err_t to our Error (engineering notes §7.4): raw lwIP
// codes never cross netstack's API. The header stays free of lwIP types (err_t is a signed char
// in lwIP 2.1; callers inside netstack pass it as int).
#pragma once

#include "core/base/result.hpp"

namespace tunless::net {

// Maps an lwIP err_t (not ERR_OK) to an Error whose message is "<context>: <lwIP meaning>".
// Connection-level codes (as delivered to tcp_err):
//   ERR_RST  -> Errc::kRefused   (peer reset; refused when it answered our SYN)
//   ERR_ABRT -> Errc::kTimedOut  (lwIP's timers gave up: retransmissions, SYN retries, or the
//                                 pcb was reclaimed under memory pressure)
//   ERR_CLSD -> Errc::kClosed    (orderly end after both FINs, or "not connected")
Error to_error(int lwip_err, const char* context);

}  // namespace tunless::net
