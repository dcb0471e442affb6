#!/usr/bin/env bash
# Runs every unit test executable of an armhf build under qemu-user (qemu-arm), without ctest,
# then replays the fuzz corpora and regressions through the replay-mode fuzz targets (what
# ctest's fuzz_regress_* do on the host; here the parsers run with a 32-bit size_t), and ends
# with one "N passed, N failed" line. Exit status 1 if anything fails.
# Static executables need no loader. Dynamic ones use the multiarch libc6:armhf loader and
# libraries (-L /), which setup-armhf.sh installs: libc6-armhf-cross's older loader under
# /usr/arm-linux-gnueabihf does not match the multiarch libc.so.6 and crashes in pthread_create.
# Usage: tools/cross/test-armhf.sh [BUILD_DIR]   (default build-armhf-static)
#   QEMU_LD_PREFIX overrides the loader root (e.g. a vendor SDK sysroot).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build-armhf-static}
prefix=/usr/arm-linux-gnueabihf
[ -e /lib/ld-linux-armhf.so.3 ] && prefix=/
prefix=${QEMU_LD_PREFIX:-$prefix}
timeout_s=${TUNLESS_TEST_TIMEOUT:-300}

if [ ! -d "$build/tests/unit" ]; then
    echo "test-armhf: no $build/tests/unit (build with tools/cross/build-armhf.sh first)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)   # each test runs in its own directory

passed=0
failed=0
failed_names=()
# run_one NAME DIR EXE [ARGS...]: runs EXE under qemu-arm in DIR, prints PASS/FAIL with the time
# and the last line of doctest's or the replayer's summary, and counts the result.
run_one() {
    local name=$1 dir=$2; shift 2
    local log start rc secs summary
    log=$(mktemp)
    start=$(date +%s)
    (cd "$dir" && timeout "$timeout_s" qemu-arm -L "$prefix" "$@") >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    summary=$(grep -E '^\[doctest\] (test cases|assertions):|^replay: [0-9]+ inputs' "$log" |
              sed 's/\[doctest\] //' | tr -s ' ' | paste -sd ';' -)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "test-armhf: PASS $name (${secs} s) $summary"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "test-armhf: FAIL $name (exit $rc, ${secs} s); last lines:"
        tail -n 40 "$log" | sed 's/^/    /'
    fi
    rm -f "$log"
}
is_arm() { [ -f "$1" ] && file -b "$1" | grep -q '^ELF 32-bit LSB.*ARM'; }

# One executable per module, registered by tunless_add_unit_test() in tests/unit/<module>/.
while IFS= read -r exe; do
    is_arm "$exe" && run_one "$(basename "$exe")" "$(dirname "$exe")" "$exe"
done < <(find "$build/tests/unit" -mindepth 2 -maxdepth 2 -type f -perm -u+x | sort)

# Fuzz regressions: <name>_fuzz in replay mode takes the corpus and regression directories.
for exe in "$build"/fuzz/*_fuzz; do
    is_arm "$exe" || continue
    name=$(basename "$exe" _fuzz)
    dirs=()
    for d in "$top/fuzz/corpus/$name" "$top/tests/regress/$name"; do [ -d "$d" ] && dirs+=("$d"); done
    [ ${#dirs[@]} -gt 0 ] && run_one "fuzz_regress_$name" "$build" "$exe" "${dirs[@]}"
done

[ $failed -gt 0 ] && echo "test-armhf: failed: ${failed_names[*]}"
echo "armhf: $passed passed, $failed failed"
[ $((passed + failed)) -gt 0 ] || { echo "test-armhf: no unit test executables found" >&2; exit 2; }
[ $failed -eq 0 ]
