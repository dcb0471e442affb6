// The C functions lwIP's port calls (sys_now, LWIP_RAND, LWIP_PLATFORM_ASSERT/DIAG,
// LWIP_ASSERT_CORE_LOCKED, the malloc behind mem_malloc). They read PortState, which only
// net::Stack writes. lwIP has no clock and no RNG of its own here: both are injected.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lwip/opt.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "netstack/invariant.hpp"
#include "netstack/port/port_state.hpp"
#include "netstack/stack.hpp"

namespace tunless::net {

port::PortState& port::state() {
    static PortState s;
    return s;
}

void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "netstack: invariant violated: %s (%s:%d)\n", what, file, line);
    std::abort();
}

}  // namespace tunless::net

using tunless::net::port::state;

extern "C" {

u32_t sys_now(void) {
    return state().now_ms;
}

uint32_t tunless_lwip_rand(void) {
    TUNLESS_NET_INVARIANT(state().rng != nullptr, "LWIP_RAND used before Stack set its Rng");
    return state().rng->next_u32();
}

void tunless_lwip_assert_failed(const char* message, const char* file, int line) {
    std::fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", message, file, line);
    std::abort();
}

void tunless_lwip_diag(const char* format, ...) {
    std::va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
}

// Engineering notes §6.5: lwIP is entered only from the loop thread and never from inside our
// own egress hook (the hook runs *inside* lwIP's output path).
void tunless_lwip_assert_core_locked(void) {
    const auto& s = state();
    TUNLESS_NET_INVARIANT(!s.in_egress, "lwIP re-entered from inside the egress hook");
    TUNLESS_NET_INVARIANT(s.owner == std::thread::id{} || s.owner == std::this_thread::get_id(),
                          "lwIP called from a thread other than the Stack's loop thread");
}

// mem_malloc() with MEM_LIBC_MALLOC: lwIP's MEM_STATS already count the bytes in use, so the
// budget is one comparison. Refusal is an ordinary ERR_MEM for lwIP (drop, retry, or kill the
// oldest TIME_WAIT pcb in tcp_alloc).
// The last kHeapReserveBytes of the budget are for small allocations only (ACK/SYN/RST pbufs,
// pcbs): when queued data fills the budget, data packets are dropped but ACKs still come in
// and go out, so send buffers drain and receivers keep acknowledging. Without the reserve,
// full send buffers whose ACKs cannot be allocated would never be freed (a global stall).
void* tunless_lwip_malloc(size_t size) {
    auto& s = state();
    const std::size_t used = lwip_stats.mem.used;
    using tunless::net::StackConfig;
    const std::size_t reserve = size <= StackConfig::kHeapReserveMaxAlloc
                                    ? 0
                                    : std::min(StackConfig::kHeapReserveBytes, s.heap_limit_bytes);
    const std::size_t limit = s.heap_limit_bytes - reserve;
    if (size > limit || used > limit - size) {
        ++s.heap_refusals;
        return nullptr;
    }
    // lwIP 2.1.3 reads a few bytes past a packet before its own bounds checks: tcp_parseopt()
    // reads an option's length byte when the option area ends right after the kind byte, and
    // ip6_input() reads an extension header's next-header and length bytes before checking
    // that 8 bytes are there (both found by fuzz/netstack_ip_fuzz; inputs in
    // tests/regress/netstack_ip/). Zeroed slack behind every block keeps those reads inside our
    // allocation; zero lengths make lwIP drop the packet or stop parsing its options.
    constexpr std::size_t kOverreadSlack = 8;
    void* p = std::malloc(size + kOverreadSlack);
    if (p != nullptr) std::memset(static_cast<unsigned char*>(p) + size, 0, kOverreadSlack);
    return p;
}

}  // extern "C"
