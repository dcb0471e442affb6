#!/usr/bin/env bash
# Runs every unit test executable of an armhf build under qemu-user (qemu-arm), without ctest,
# then ctest's fuzz-regress cases (corpora and regressions through the replay-mode fuzz
# targets; here the parsers run with a 32-bit size_t), and ends with one "N passed, N failed"
# line. Exit status 1 if anything fails.
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
# One executable per module, registered by tunless_add_unit_test() in tests/unit/<module>/.
while IFS= read -r exe; do
    file -b "$exe" | grep -q '^ELF 32-bit LSB.*ARM' || continue
    name=$(basename "$exe")
    log=$(mktemp)
    start=$(date +%s)
    (cd "$(dirname "$exe")" && timeout "$timeout_s" qemu-arm -L "$prefix" "$exe") >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    summary=$(grep -E '^\[doctest\] (test cases|assertions):' "$log" | sed 's/\[doctest\] //' |
              tr -s ' ' | paste -sd ';' -)
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
done < <(find "$build/tests/unit" -mindepth 2 -maxdepth 2 -type f -perm -u+x | sort)

# Fuzz regressions: ctest's fuzz_regress_* cases (fuzz/CMakeLists.txt names each target's
# corpus and regression directories), run through the toolchain's qemu-arm emulator.
log=$(mktemp)
if ctest --test-dir "$build" -L fuzz-regress --no-tests=error --output-on-failure \
        --timeout "$timeout_s" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "test-armhf: PASS fuzz-regress: $(grep -E 'tests passed' "$log")"
else
    failed=$((failed + 1))
    failed_names+=(fuzz-regress)
    echo "test-armhf: FAIL fuzz-regress; last lines:"
    tail -n 40 "$log" | sed 's/^/    /'
fi
rm -f "$log"

[ $failed -gt 0 ] && echo "test-armhf: failed: ${failed_names[*]}"
echo "armhf: $passed passed, $failed failed"
[ $((passed + failed)) -gt 0 ] || { echo "test-armhf: no unit test executables found" >&2; exit 2; }
[ $failed -eq 0 ]
