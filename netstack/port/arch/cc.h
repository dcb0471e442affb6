/*
 * lwIP compiler/platform glue for tunless (Linux, GCC/Clang, any endianness, 32/64-bit).
 * Assertions, diagnostics and randomness go to C++ hooks in netstack/port/port_hooks.cpp, so no
 * system header that redefines lwIP's LITTLE_ENDIAN/BIG_ENDIAN macros is pulled in here.
 * Included by lwip/arch.h only.
 */
#ifndef TUNLESS_ARCH_CC_H
#define TUNLESS_ARCH_CC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
__attribute__((noreturn)) void tunless_lwip_assert_failed(const char* message, const char* file,
                                                          int line);
__attribute__((format(printf, 1, 2))) void tunless_lwip_diag(const char* format, ...);
uint32_t tunless_lwip_rand(void);
#ifdef __cplusplus
}
#endif

/* lwIP's internal invariants abort with file:line (they never fire on peer input by design). */
#define LWIP_PLATFORM_ASSERT(x) tunless_lwip_assert_failed((x), __FILE__, __LINE__)
/* Only used with LWIP_DEBUG, which production builds leave off. */
#define LWIP_PLATFORM_DIAG(x) do { tunless_lwip_diag x; } while (0)
/* Ephemeral ports and TCP ISNs come from the Rng the Stack was given (tests: seeded). */
#define LWIP_RAND() ((u32_t)tunless_lwip_rand())

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define BYTE_ORDER BIG_ENDIAN
#else
#define BYTE_ORDER LITTLE_ENDIAN
/* Compiler byte swaps instead of lwIP's portable shifts (hot in checksum/header code). */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_ntohs(x) lwip_htons(x)
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))
#define lwip_ntohl(x) lwip_htonl(x)
#endif

#endif /* TUNLESS_ARCH_CC_H */
