#!/usr/bin/env bash
# Long fuzz campaign: runs each named libFuzzer target, one process at a time at nice 19, until
# that target has used CAMPAIGN_CPU_SECONDS of CPU (utime+stime from /proc). CPU time rather than
# wall time because the campaign shares its machine: an hour of wall clock on a loaded machine is
# not an hour of fuzzing. Resumable: Ctrl-C or SIGTERM (or SIGINT to the fuzzer) ends the run, the
# CPU spent so far is kept in <dir>/<target>.acc, and the next call goes on from there with the
# grown corpus. A target that reached its budget, or crashed, gets a line in <dir>/results.tsv.
#
# usage: tools/ci/fuzz-campaign.sh [name...]     (default: every fuzz-smoke target)
#        tools/ci/fuzz-campaign.sh report         markdown table of results.tsv
# env:   CAMPAIGN_CPU_SECONDS  per target (default 3600, the issue's one CPU-hour)
#        CAMPAIGN_DIR          state, logs, corpora, artifacts (default <build>/campaign)
#        FUZZ_BUILD_DIR        as tools/ci/fuzz-smoke.sh (default <repo>/build-fuzz); built
#                              through fuzz-smoke.sh unless FUZZ_NO_BUILD=1
# Run one campaign per free core, each with its own list of targets.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
dir=${CAMPAIGN_DIR:-$build/campaign}
budget=${CAMPAIGN_CPU_SECONDS:-3600}
results=$dir/results.tsv
mkdir -p "$dir"

if [ "${1:-}" = report ]; then
    echo "| target | commit | started (UTC) | ended (UTC) | CPU s | execs | execs per CPU s | cov | ft | corpus | crashes |"
    echo "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '{printf "| %s | `%s` | %s | %s | %d | %d | %d | %s | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, ($5 > 0 ? $6 / $5 : 0), $7, $8, $9, $10}' "$results" 2>/dev/null
    exit 0
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    mapfile -t names < <("$top/tools/ci/fuzz-smoke.sh" --list)
fi
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    FUZZ_SECONDS=1 "$top/tools/ci/fuzz-smoke.sh" "${names[@]}" >/dev/null \
        || { echo "fuzz-campaign: build (tools/ci/fuzz-smoke.sh) failed" >&2; exit 1; }
fi

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
tck=$(getconf CLK_TCK)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pid=
trap '[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null' INT TERM

for t in "${names[@]}"; do
    if grep -q "^$t	" "$results" 2>/dev/null; then echo "$t: done before"; continue; fi
    work=$dir/corpus/$t; art=$dir/artifacts/$t
    mkdir -p "$work" "$art"
    read -r acc_cpu acc_execs acc_runs < <(cat "$dir/$t.acc" 2>/dev/null || echo "0 0 0")
    [ -f "$dir/$t.start" ] || date -u +%FT%TZ > "$dir/$t.start"
    dirs=("$work")
    for d in "$top/fuzz/corpus/$t" "$top/tests/regress/$t"; do [ -d "$d" ] && dirs+=("$d"); done
    dict=()
    [ -f "$top/fuzz/dict/$t.dict" ] && dict=(-dict="$top/fuzz/dict/$t.dict")
    log=$dir/$t.$((acc_runs + 1)).log
    # -timeout=60: a slow input on a machine shared with other work is not a hang at 10 s.
    # The wall-time cap only guards against a starved process; CPU time ends the run.
    nice -n 19 "$build/fuzz/${t}_fuzz" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
        -max_total_time=$((budget * 4)) -artifact_prefix="$art/" "${dict[@]}" "${dirs[@]}" \
        >"$log" 2>&1 &
    pid=$!
    cpu=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 10
        st=$(cat "/proc/$pid/stat" 2>/dev/null) || break
        cpu=$(awk -v t="$tck" '{print int(($12 + $13) / t)}' <<< "${st##*) }")
        [ $((acc_cpu + cpu)) -ge "$budget" ] && kill -INT "$pid"
    done
    wait "$pid"; rc=$?; pid=
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
    acc_cpu=$((acc_cpu + cpu)); acc_execs=$((acc_execs + ${execs:-0})); acc_runs=$((acc_runs + 1))
    echo "$acc_cpu $acc_execs $acc_runs" > "$dir/$t.acc"
    crashes=$(find "$art" -type f | wc -l)
    if [ "$acc_cpu" -ge "$budget" ] || [ "$crashes" -gt 0 ]; then
        read -r cov ft < <(grep -hoE 'cov: [0-9]+ ft: [0-9]+' "$dir/$t".*.log | tail -1 | awk '{print $2, $4}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$commit" "$(cat "$dir/$t.start")" \
            "$(date -u +%FT%TZ)" "$acc_cpu" "$acc_execs" "${cov:-?}" "${ft:-?}" \
            "$(find "$work" -type f | wc -l)" "$crashes" >> "$results"
        [ "$crashes" -gt 0 ] && echo "$t: CRASH, inputs in $art (keep them in tests/regress/$t/)"
        echo "$t: $acc_cpu CPU s, $acc_execs execs"
    else
        echo "$t: interrupted at $acc_cpu of $budget CPU s (rc $rc); run again to resume"
        exit 0
    fi
done
