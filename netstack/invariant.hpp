// Always-on checks for netstack's own invariants and API misuse by our callers (failure class 3
// in docs/architecture.md): abort with file:line. Never used on packet contents.
#pragma once

namespace tunless::net {

[[noreturn]] void invariant_failed(const char* what, const char* file, int line);

}  // namespace tunless::net

#define TUNLESS_NET_INVARIANT(cond, what)                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            ::tunless::net::invariant_failed((what), __FILE__, __LINE__); \
        }                                                                  \
    } while (0)
