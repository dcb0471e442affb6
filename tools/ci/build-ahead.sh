#!/usr/bin/env bash
# Builds the later phases of tools/test.sh ahead of time, one after the other, so that they
# use the CPU the netns tests leave idle (tools/test.sh starts this at SCHED_IDLE).
# For each PHASE, the build's output goes to LOG_DIR/PHASE.log, then "EXIT_STATUS SECONDS" to
# LOG_DIR/PHASE.rc (written last, by rename: its presence means the build is over).
#
# usage: tools/ci/build-ahead.sh LOG_DIR PHASE...     PHASE: sanitize | fuzz | armhf
# env:   the phases' own: SANITIZE_BUILD_DIR, SANITIZE_JOBS, FUZZ_BUILD_DIR, FUZZ_JOBS
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
logs=$1; shift
for phase in "$@"; do
    case "$phase" in
        sanitize) cmd=(env SANITIZE_BUILD_ONLY=1 bash "$top/tools/ci/sanitize.sh") ;;
        fuzz)     cmd=(env FUZZ_BUILD_ONLY=1 bash "$top/tools/ci/fuzz-smoke.sh") ;;
        armhf)    cmd=(bash "$top/tools/cross/ci-armhf.sh" --build-only) ;;
        *)        echo "build-ahead: unknown phase $phase" >&2; exit 2 ;;
    esac
    start=$(date +%s)
    "${cmd[@]}" >"$logs/$phase.log" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - start ))" >"$logs/$phase.rc.tmp"
    mv "$logs/$phase.rc.tmp" "$logs/$phase.rc"
done
