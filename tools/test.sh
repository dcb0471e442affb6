#!/usr/bin/env bash
# The whole test suite from a clean clone on Debian 12 (this is what .ci/run calls):
# installs what is needed, builds, and runs every phase below. Namespace tests need root and
# skip with a message otherwise.
#
#   1. layering   core/ is sans-IO, lwIP only in netstack/ (tools/ci/check-layering.sh)
#   2. main       RelWithDebInfo build; ctest: unit, fuzz-regress, netns interop (wireguard-go)
#   3. sanitize   ASan+UBSan build of the same suite, netns tests run the sanitized daemon
#   4. fuzz       every libFuzzer target for FUZZ_SECONDS (default 20) with clang
#   5. armhf      static armhf cross build, unit tests under qemu-arm, 1,000,000-byte size gate
#
# Skip phases while iterating: TUNLESS_TEST_SKIP="sanitize fuzz armhf" tools/test.sh
# The last line is "suite: N passed, N failed" (one count per phase).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
skip=" ${TUNLESS_TEST_SKIP:-} "
passed=0
failed=0
declare -a summary=()
# Phases append what a reader of a failed run needs (e.g. a fuzz crash's stack) to this file;
# it is printed after the summary, since CI logs are often read from the end.
export TUNLESS_FAILURE_NOTES
TUNLESS_FAILURE_NOTES=$(mktemp)
trap 'rm -f "$TUNLESS_FAILURE_NOTES"' EXIT

phase() {
    local name=$1; shift
    if [[ "$skip" == *" $name "* ]]; then
        summary+=("$(printf '%-9s skipped (TUNLESS_TEST_SKIP)' "$name")")
        return 0
    fi
    echo
    echo "== $name"
    local start rc
    start=$(date +%s)
    "$@"
    rc=$?
    local secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("$(printf '%-9s passed  %4d s' "$name" "$secs")")
    else
        failed=$((failed + 1))
        summary+=("$(printf '%-9s FAILED  %4d s (exit %d)' "$name" "$secs" "$rc")")
    fi
}

# CI's builds carry line tables only (-g1): enough for file:line in backtraces and sanitizer
# reports, and full -g cost ~40 % more compile time on the 2 cores CI has.
main_suite() {
    cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null &&
        cmake --build build/test -j"$jobs" &&
        ctest --test-dir build/test --output-on-failure --timeout 900
}

echo "== setup"
bash tools/setup.sh || { echo "setup failed"; echo "suite: 0 passed, 1 failed"; exit 1; }

phase layering bash tools/ci/check-layering.sh
phase main main_suite
phase sanitize env SANITIZE_BUILD_DIR="$top/build/asan" SANITIZE_JOBS="$jobs" bash tools/ci/sanitize.sh --timeout 900
phase fuzz env FUZZ_BUILD_DIR="$top/build/fuzz" FUZZ_JOBS="$jobs" FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash tools/ci/fuzz-smoke.sh
phase armhf bash tools/cross/ci-armhf.sh

echo
echo "== summary"
printf '  %s\n' "${summary[@]}"
if [ -s "$TUNLESS_FAILURE_NOTES" ]; then
    echo "== failure details"
    cat "$TUNLESS_FAILURE_NOTES"
fi
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
