/*
 * lwipopts.h overrides for fuzz and sanitizer builds: configure with
 *   -DTUNLESS_LWIPOPTS_LOCAL_DIR=<repo>/netstack/port/fuzz
 * Checksum checks are already off in production (engineering notes §6.7), which is also what a
 * fuzzer needs; this adds lwIP's own overflow guards around every pool element.
 */
#undef MEMP_OVERFLOW_CHECK
#define MEMP_OVERFLOW_CHECK             1   /* guard bytes checked on every memp free */
