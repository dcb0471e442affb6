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
# Builds ahead: once main's build is done, the builds of phases 3-5 start in the background
# (tools/ci/build-ahead.sh) at SCHED_IDLE, so they only get CPU time nothing else wants. The
# netns tests wait on timers and peers most of the time (83 % of the 2 cores were idle during
# main's), so most of those builds are done by the time their phase starts; each phase waits
# for its build and fails with the build's log if it failed.
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
# The background builds run in their own session: on exit, whatever is left of them is ended
# through their process group.
ahead_pid=
ahead_logs=$top/build/ci-ahead
trap '[ -n "$ahead_pid" ] && kill -- "-$ahead_pid" 2>/dev/null; rm -f "$TUNLESS_FAILURE_NOTES"' EXIT
export SANITIZE_BUILD_DIR="$top/build/asan" SANITIZE_JOBS="$jobs"
export FUZZ_BUILD_DIR="$top/build/fuzz" FUZZ_JOBS="$jobs"

skipped() { [[ "$skip" == *" $1 "* ]]; }

phase() {
    local name=$1; shift
    if skipped "$name"; then
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
        cmake --build build/test -j"$jobs"
    local rc=$?
    start_builds_ahead
    [ $rc -eq 0 ] || return $rc
    ctest --test-dir build/test --output-on-failure --timeout 900
}

start_builds_ahead() {
    [ -z "$ahead_pid" ] || return 0
    local phases=() p
    for p in sanitize fuzz armhf; do skipped "$p" || phases+=("$p"); done
    [ ${#phases[@]} -gt 0 ] || return 0
    rm -rf "$ahead_logs" && mkdir -p "$ahead_logs"
    local idle=()
    chrt --idle 0 true 2>/dev/null && idle+=(chrt --idle 0)
    ionice -c 3 true 2>/dev/null && idle+=(ionice -c 3)
    [ ${#idle[@]} -gt 0 ] || idle=(nice -n 19)
    # Not a process group leader (no job control here), so setsid needs no fork: $! is the
    # leader of the new group.
    setsid "${idle[@]}" bash tools/ci/build-ahead.sh "$ahead_logs" "${phases[@]}" </dev/null &
    ahead_pid=$!
    echo "builds ahead (pid $ahead_pid, ${idle[*]}): ${phases[*]}; logs in ${ahead_logs#"$top"/}/"
}

# wait_built PHASE: waits for PHASE's build ahead; returns its status (the log's tail on failure).
wait_built() {
    local rc_file=$ahead_logs/$1.rc
    while [ ! -f "$rc_file" ] && kill -0 "$ahead_pid" 2>/dev/null; do sleep 1; done
    local rc secs
    read -r rc secs <"$rc_file" 2>/dev/null || { rc=1; secs=?; }
    ahead_summary+=("$(printf '%-9s build   %4s s (ahead, at idle priority)' "$1" "$secs")")
    if [ "$rc" -ne 0 ]; then
        echo "$1: build failed (exit $rc); end of $ahead_logs/$1.log:"
        tail -n 60 "$ahead_logs/$1.log"
        { echo "$1 build (exit $rc), end of its log:"; tail -n 25 "$ahead_logs/$1.log"; } |
            cut -c1-200 >>"$TUNLESS_FAILURE_NOTES"
        return 1
    fi
    tail -n 1 "$ahead_logs/$1.log"
}
declare -a ahead_summary=()

sanitize_phase() {
    wait_built sanitize && SANITIZE_NO_BUILD=1 bash tools/ci/sanitize.sh --timeout 900
}
fuzz_phase() {
    wait_built fuzz && FUZZ_NO_BUILD=1 FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash tools/ci/fuzz-smoke.sh
}
# ci-armhf.sh is incremental: after the build ahead its own build step only checks.
armhf_phase() {
    wait_built armhf && bash tools/cross/ci-armhf.sh
}

echo "== setup"
bash tools/setup.sh || { echo "setup failed"; echo "suite: 0 passed, 1 failed"; exit 1; }

phase layering bash tools/ci/check-layering.sh
phase main main_suite
start_builds_ahead   # when main was skipped
phase sanitize sanitize_phase
phase fuzz fuzz_phase
phase armhf armhf_phase

echo
echo "== summary"
printf '  %s\n' "${summary[@]}"
[ ${#ahead_summary[@]} -eq 0 ] || printf '  %s\n' "${ahead_summary[@]}"
if [ -s "$TUNLESS_FAILURE_NOTES" ]; then
    echo "== failure details"
    cat "$TUNLESS_FAILURE_NOTES"
fi
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
