#!/usr/bin/env bash
# Sanitizer build of the whole suite: ASan + UBSan (-DTUNLESS_SANITIZE=address,undefined) with
# assertions on, then ctest: unit tests, fuzz-regress (corpora + tests/regress replayed by the
# GCC replay-mode fuzz targets) and, when root/netns are available, the netns tests -- which run
# the sanitized daemon (TUNLESS_BIN comes from this build). An ASan report aborts the process
# (abort_on_error) and a leak at exit makes it exit non-zero, so either fails its test.
#
# usage: tools/ci/sanitize.sh [ctest args...]     e.g. tools/ci/sanitize.sh -L unit
# env:   SANITIZE_BUILD_DIR (default <repo>/build-asan), SANITIZE_JOBS (default 2),
#        CC/CXX (default gcc/g++; clang works too), SANITIZE_NO_BUILD=1 to reuse the build,
#        SANITIZE_BUILD_ONLY=1 to stop after the build.
# Exit: ctest's status (0 = all passed or skipped).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${SANITIZE_BUILD_DIR:-$top/build-asan}
jobs=${SANITIZE_JOBS:-2}
start=$(date +%s)
if [ "${SANITIZE_NO_BUILD:-0}" != 1 ]; then
    # -O1 without -DNDEBUG: asserts stay on; lwIP gets its fuzz/test overrides (pool guards).
    # -g1 (line tables) is what symbolized reports need; full -g cost ~40 % more compile time.
    # GCC 12 at -O1 with ASan reports -Wmismatched-new-delete for crypto_tests' replacement
    # operator new/delete (malloc/free underneath, which is correct): not an error here.
    CC=${CC:-gcc} CXX=${CXX:-g++} cmake -S "$top" -B "$build" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="-Wno-mismatched-new-delete" \
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
        -DTUNLESS_SANITIZE=address,undefined \
        -DTUNLESS_LWIPOPTS_LOCAL_DIR="$top/netstack/port/fuzz" >"$build.configure.log" 2>&1 \
        || { cat "$build.configure.log"; echo "sanitize: configure failed" >&2; exit 1; }
    cmake --build "$build" -j"$jobs" || { echo "sanitize: build failed" >&2; exit 1; }
fi
built=$(date +%s)
if [ "${SANITIZE_BUILD_ONLY:-0}" = 1 ]; then echo "sanitize: build $((built - start)) s"; exit 0; fi
# detect_leaks: LSan at exit; abort_on_error: a core-style abort the netns scripts notice.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# ASan keeps freed memory in quarantine and its allocator caches, so the daemon's RSS does not
# fall back after a burst: tests that assert on RSS should skip that check when this is set.
export TUNLESS_SANITIZED=1
ctest --test-dir "$build" --output-on-failure "$@"
rc=$?
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s (ctest rc $rc)"
exit $rc
