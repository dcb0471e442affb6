#!/usr/bin/env bash
# Fuzz smoke run: builds every libFuzzer target with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time, as many fuzzer processes at a time as there are cores.
# Any crash, leak, timeout or OOM fails the script; its artifacts are copied into
# tests/regress/<name>/ so they can be triaged and committed as regressions (docs/fuzzing.md).
#
# usage: tools/ci/fuzz-smoke.sh [name...]        (default: every target; names without _fuzz)
# env:   FUZZ_SECONDS     seconds per target (default 60)
#        FUZZ_BUILD_DIR   build directory (default <repo>/build-fuzz)
#        FUZZ_JOBS        build parallelism (default 2)
#        FUZZ_PARALLEL    fuzzer processes at a time (default: the number of cores)
#        FUZZ_ARGS        extra libFuzzer flags (e.g. "-max_len=512")
#        FUZZ_NO_BUILD=1  skip configure/build (reuse the build directory)
#        FUZZ_BUILD_ONLY=1  stop after the build
# Exit: 0 clean, 1 a target crashed (or the build failed).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
parallel=${FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 1)}
all=(wg_message wg_device wg_data netstack_ip socks5 http_proxy proxy_protocol config uapi)
[ -f "$top/fuzz/dns_message_fuzz.cpp" ] && all+=(dns_message)
# Tailnet client parsers (TUNLESS_TAILNET, on by default).
for t in packet_filter control_noise derp_frames tailcfg_map h2_client disco; do
    [ -f "$top/fuzz/${t}_fuzz.cpp" ] && all+=("$t")
done
# --list: the target names, one per line (tools/ci/fuzz-campaign.sh uses the same list).
if [ "${1:-}" = --list ]; then printf '%s\n' "${all[@]}"; exit 0; fi
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")

start=$(date +%s)
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    # fuzzer-no-link on every object gives the whole code under test coverage feedback;
    # lwipopts_local.h of the fuzz build turns on lwIP's pool overflow guards. Line tables (-g1)
    # are all a crash report's stack needs.
    CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$top" -B "$build" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
        -DTUNLESS_BUILD_FUZZ=ON -DTUNLESS_BUILD_TESTS=OFF \
        -DTUNLESS_SANITIZE=address,undefined \
        -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
        -DTUNLESS_LWIPOPTS_LOCAL_DIR="$top/netstack/port/fuzz" >"$build.configure.log" 2>&1 \
        || { cat "$build.configure.log"; echo "fuzz-smoke: configure failed" >&2; exit 1; }
    targets=()
    for n in "${names[@]}"; do targets+=("${n}_fuzz"); done
    cmake --build "$build" -j"$jobs" --target "${targets[@]}" || { echo "fuzz-smoke: build failed" >&2; exit 1; }
fi
built=$(date +%s)
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then echo "fuzz-smoke: build $((built - start)) s"; exit 0; fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# fuzz_one NAME: one target for $secs seconds; its exit status goes to $build/logs/NAME.rc.
fuzz_one() {
    local n=$1
    local bin="$build/fuzz/${n}_fuzz"
    local work="$build/corpus/$n"     # grows across runs; seeds and regressions stay read-only
    local art="$build/artifacts/$n/"
    local log="$build/logs/$n.log"
    mkdir -p "$work" "$art" "$(dirname "$log")"
    local dirs=("$work") d
    for d in "$top/fuzz/corpus/$n" "$top/tests/regress/$n"; do [ -d "$d" ] && dirs+=("$d"); done
    local dict=()
    [ -f "$top/fuzz/dict/$n.dict" ] && dict=(-dict="$top/fuzz/dict/$n.dict")
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art" "${dict[@]}" ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
    echo $? >"$build/logs/$n.rc"
}

# Each fuzzer is one single-threaded process: run up to $parallel of them at a time, so a
# 2-core CI machine fuzzes every target for $secs seconds in half the wall time.
running=0
for n in "${names[@]}"; do
    if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
    rm -f "$build/logs/$n.rc"
    fuzz_one "$n" &
    running=$((running + 1))
done
wait

failed=()
printf '%-16s %10s %8s %8s %8s %s\n' target execs exec/s cov ft result
for n in "${names[@]}"; do
    art="$build/artifacts/$n/"
    log="$build/logs/$n.log"
    rc=$(cat "$build/logs/$n.rc" 2>/dev/null || echo 127)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (rc $rc, log $log)"
        failed+=("$n")
        mkdir -p "$top/tests/regress/$n"
        for f in "$art"*; do [ -f "$f" ] && cp "$f" "$top/tests/regress/$n/"; done
        grep -m3 -E 'ERROR:|runtime error|fuzz property violated' "$log" >&2
        if [ -n "${TUNLESS_FAILURE_NOTES:-}" ]; then
            {   echo "fuzz target $n (rc $rc), saved as tests/regress/$n/$(ls "$art" 2>/dev/null | head -1):"
                grep -m1 -A25 -E 'ERROR:|runtime error|fuzz property violated|ALARM|out-of-memory' "$log" \
                    || tail -25 "$log"
            } | cut -c1-200 >>"$TUNLESS_FAILURE_NOTES"
        fi
    fi
    printf '%-16s %10s %8s %8s %8s %s\n' "$n" "${execs:-?}" "${rate:-?}" \
        "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')" "$result"
done
end=$(date +%s)
echo "fuzz-smoke: build $((built - start)) s, fuzzing $((end - built)) s, total $((end - start)) s"
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz-smoke: crashes in: ${failed[*]} (inputs copied to tests/regress/<name>/)" >&2
    exit 1
fi
exit 0
