#!/usr/bin/env bash
# Benchmark harness: tunless measured side by side with wireguard-go in one run.
#
#   ┌──────────────── ns "srv" (node A) ─────────────┐      ┌──────────────── ns "cli" ──────────────────┐
#   │ wireguard-go wgA 10.77.0.1/24 :51820           │      │ wireguard-go wgB 10.77.0.3 :51821 (ref b)  │
#   │ tunless "tls" 10.99.0.1 :51830 (case e)        │      │ tunless "tl" 10.77.0.2 :51820 (c, d, f, g) │
#   │   [TCPServerTunnel] 5201 -> 127.0.0.1:5201     │      │   SOCKS5 :1080, fwd :7001 -> 10.77.0.1:5201│
#   │ benchnet server 0.0.0.0:5201                   │      │   [TCPServerTunnel] 5201 -> 127.0.0.1:5201 │
#   │ veth-srv 192.168.77.1 ─────────────────────────┼─veth─┼─ tunless "tl2" 10.99.0.2 :51831 (case e)  │
#   └────────────────────────────────────────────────┘      │   SOCKS5 :1090, fwd :7002 -> 10.99.0.1:5201│
#                                                           │ tunless "tlcold" :51822 (cold start, g)    │
#                                                           │ benchnet server 0.0.0.0:5201, veth-cli .2  │
#                                                           └────────────────────────────────────────────┘
# Cases: (a) raw TCP over the veth, (b) wireguard-go on both ends (kernel tun + kernel TCP: the
# reference), (c) tunless SOCKS5, (d) tunless outbound/inbound TCP forward, (e) tunless<->tunless,
# (f) 1-byte request/response, (g) connect-to-first-byte warm and cold. Each client run records
# daemon CPU (utime+stime), whole-machine CPU, gaps > 100 ms, RSS and the 1-min load average.
#
# Usage (root): tools/bench/run.sh [bulk|idle]       (default bulk)
#   RUNS=5 SECONDS_PER_RUN=10   runs per case (bulk: rounds over all cases) and seconds per transfer
#   DIRS="D U"                  bulk directions (D = download to the client, U = upload)
#   CASES="a b c d e i f g"     subset of cases (i = a, b, d, e again with iperf3 as the client)
#   IDLE_SECONDS=600            idle mode: capture window (bytes/day extrapolated from it)
#   TUNLESS_BIN=build-bench/tools/tunless/tunless   OUT=results file (.jsonl; .md next to it)
#   PROFILE=perf|strace         bulk mode: only profile tunless over a SOCKS5 download and upload (DIRS)
#   WIREGUARD_GO=PATH           the wireguard-go binary for wgA and wgB (default: Debian's, from PATH)
# Only traffic inside the two namespaces it creates; everything is removed on exit (trap).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
MODE=${1:-bulk}
RUNS=${RUNS:-5}
SECS=${SECONDS_PER_RUN:-10}
CASES=${CASES:-"a b c d e i f g"}
IDLE_SECONDS=${IDLE_SECONDS:-600}
export TUNLESS_BIN=${TUNLESS_BIN:-$TOP/build-bench/tools/tunless/tunless}
OUT=${OUT:-/tmp/tunless-bench-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
TEST_NAME=bench
source "$TOP/tests/netns/lib.sh"
require_netns
require_wireguard_go
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)
BN="$HERE/benchnet.py"
has() { [[ " $CASES " == *" $1 "* ]]; }

new_ns srv
new_ns cli
veth srv 192.168.77.1/24 cli 192.168.77.2/24

for k in wgA wgB tl tl2 tls tlcold; do genkey "$WORK/$k.key"; done
pub() { wg pubkey < "$WORK/$1.key"; }

# tunless_conf NAME ADDR PORT PEER_PUB PEER_ENDPOINT ALLOWED KEEPALIVE EXTRA_SECTIONS
tunless_conf() {
    cat > "$WORK/$1.conf" <<CONF
[Interface]
PrivateKey = $(cat "$WORK/$1.key")
Address = $2
ListenPort = $3

[Peer]
PublicKey = $4
AllowedIPs = $6
Endpoint = $5
PersistentKeepalive = $7

$8
CONF
}
start_tunless() { # NS NAME -> sets LAST_PID
    spawn "$1" "$WORK/$2.log" "$TUNLESS_BIN" up -c "$WORK/$2.conf" --name "${NS_PREFIX}$2"
}
listening() { n "$1" ss -Hltn "sport = :$2" | grep -q LISTEN; }

pretty "node A: wireguard-go wgA, benchnet server"
WGA=$(wireguard_go srv "${NS_PREFIX}wgA" "$WORK/wgA.key" 51820 10.77.0.1/24); PIDS+=("$WGA")
n srv wg set "${NS_PREFIX}wgA" peer "$(pub tl)" allowed-ips 10.77.0.2/32 endpoint 192.168.77.2:51820 \
    peer "$(pub wgB)" allowed-ips 10.77.0.3/32 endpoint 192.168.77.2:51821 \
    peer "$(pub tlcold)" allowed-ips 10.77.0.4/32
bg srv "$WORK/server-srv.log" "$PY" "$BN" server 5201 >/dev/null
bg cli "$WORK/server-cli.log" "$PY" "$BN" server 5201 >/dev/null
bg srv "$WORK/iperf3-srv.log" iperf3 -s -p 5202 >/dev/null
bg cli "$WORK/iperf3-cli.log" iperf3 -s -p 5202 >/dev/null

KA=25
if [ "$MODE" = bulk ]; then
    pretty "reference peer wgB (wireguard-go, kernel tun) in cli"
    WGB=$(wireguard_go cli "${NS_PREFIX}wgB" "$WORK/wgB.key" 51821 10.77.0.3/24); PIDS+=("$WGB")
    n cli wg set "${NS_PREFIX}wgB" peer "$(pub wgA)" allowed-ips 10.77.0.1/32 endpoint 192.168.77.1:51820 persistent-keepalive $KA
fi

tunless_conf tl 10.77.0.2/24 51820 "$(pub wgA)" 192.168.77.1:51820 10.77.0.1/32 $KA "
[Socks5]
BindAddress = 127.0.0.1:1080

[TCPClientTunnel]
BindAddress = 127.0.0.1:7001
Target = 10.77.0.1:5201

[TCPClientTunnel]
BindAddress = 127.0.0.1:7011
Target = 10.77.0.1:5202

[TCPServerTunnel]
ListenPort = 5201
Target = 127.0.0.1:5201

[TCPServerTunnel]
ListenPort = 5202
Target = 127.0.0.1:5202"
start_tunless cli tl; TL=$LAST_PID

if [ "$MODE" = bulk ]; then
    tunless_conf tls 10.99.0.1/24 51830 "$(pub tl2)" 192.168.77.2:51831 10.99.0.2/32 $KA "
[TCPServerTunnel]
ListenPort = 5201
Target = 127.0.0.1:5201

[TCPServerTunnel]
ListenPort = 5202
Target = 127.0.0.1:5202"
    tunless_conf tl2 10.99.0.2/24 51831 "$(pub tls)" 192.168.77.1:51830 10.99.0.1/32 $KA "
[Socks5]
BindAddress = 127.0.0.1:1090

[TCPClientTunnel]
BindAddress = 127.0.0.1:7002
Target = 10.99.0.1:5201

[TCPClientTunnel]
BindAddress = 127.0.0.1:7012
Target = 10.99.0.1:5202"
    # No PersistentKeepalive: a fresh daemon contacts the peer only for the first connection.
    tunless_conf tlcold 10.77.0.4/24 51822 "$(pub wgA)" 192.168.77.1:51820 10.77.0.1/32 off "
[TCPClientTunnel]
BindAddress = 127.0.0.1:7003
Target = 10.77.0.1:5201"
    start_tunless srv tls; TLS=$LAST_PID
    start_tunless cli tl2; TL2=$LAST_PID
fi

wait_until 10 n srv ping -c 1 -W 1 10.77.0.2 || fail "no ping to tunless through wgA"
wait_until 10 listening srv 5201 || fail "srv benchnet server not up"
wait_until 10 listening cli 5201 || fail "cli benchnet server not up"
wait_until 10 listening cli 1080 || fail "tunless SOCKS5 not up"
if [ "$MODE" = bulk ]; then
    wait_until 10 n cli ping -c 1 -W 1 10.77.0.1 || fail "no ping through wgB"
    wait_until 10 listening cli 7002 || fail "tl2 forward not up"
fi

# "+dirty": the daemon's sources (not tests/docs) differ from HEAD in this tree.
git_rev=$(cd "$TOP" && git rev-parse --short HEAD)$(cd "$TOP" && git diff --quiet HEAD -- core netstack proxy transports tools/tunless CMakeLists.txt 2>/dev/null || echo "+dirty")
{
    echo "# tunless bench $(date -u +%FT%TZ) mode=$MODE commit=$git_rev RUNS=$RUNS SECONDS_PER_RUN=$SECS CASES=\"$CASES\""
    echo "# kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "# wireguard-go $WIREGUARD_GO: $("$WIREGUARD_GO" --version 2>/dev/null | head -1), tunless $("$TUNLESS_BIN" --version 2>/dev/null | head -1), binary $TUNLESS_BIN built $(date -u -r "$TUNLESS_BIN" +%FT%TZ) (commit above = the tree at run time)"
} > "$OUT"
rss_line() { # CASE PID
    local st=/proc/$2/status
    echo "{\"kind\":\"rss\",\"case\":\"$1\",\"rss\":$(awk '/VmRSS/ {print $2}' $st),\"hwm\":$(awk '/VmHWM/ {print $2}' $st),\"anon\":$(awk '/RssAnon/ {print $2}' $st),\"file\":$(awk '/RssFile/ {print $2}' $st)}" >> "$OUT"
}

# ---- idle mode ----------------------------------------------------------------------------
ctxt() { # PID: voluntary+nonvoluntary context switches summed over all threads
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}'
}
if [ "$MODE" = idle ]; then
    # Reference: a second wireguard-go (wgB) with the same keepalive on its own port.
    WGB=$(wireguard_go cli "${NS_PREFIX}wgB" "$WORK/wgB.key" 51821 10.77.0.3/24); PIDS+=("$WGB")
    n cli wg set "${NS_PREFIX}wgB" peer "$(pub wgA)" allowed-ips 10.77.0.1/32 endpoint 192.168.77.1:51820 persistent-keepalive $KA
    wait_until 10 n cli ping -c 1 -W 1 10.77.0.1 || fail "no ping through wgB"
    sleep 3  # let the start-up handshakes finish
    rss_line "idle (before window)" "$TL"
    pretty "idle window ${IDLE_SECONDS}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
    load=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(ctxt "$TL"); g0=$(ctxt "$WGB"); a0=$(ctxt "$WGA")
    s=$(n cli "$PY" "$BN" sniff veth-cli "$IDLE_SECONDS" 192.168.77.2 51820 51821)
    c1=$(ctxt "$TL"); g1=$(ctxt "$WGB"); a1=$(ctxt "$WGA")
    rss_line "idle (after window)" "$TL"
    echo "{\"kind\":\"idle\",\"load1\":$load,\"sniff\":$s,\"ctxt_tl\":$((c1 - c0)),\"ctxt_wgB\":$((g1 - g0)),\"ctxt_wgA\":$((a1 - a0))}" >> "$OUT"
    "$PY" - "$OUT" "$IDLE_SECONDS" <<'PY' | tee "${OUT%.jsonl}.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
idle = [r for r in rows if r["kind"] == "idle"][0]
T = float(sys.argv[2]); day = 86400 / T
per = idle["sniff"]["udp_port_bytes_pkts"]
print(f"#### Idle, PersistentKeepalive 25 s, {T:.0f} s window (load1 {idle['load1']}); bytes = Ethernet frames both directions\n")
print("| daemon | packets in window | frame bytes in window | extrapolated MB/day (Ethernet frames) | MB/day (IP packets) | wake-ups/s (ctxt switches, all threads) |")
print("|---|---|---|---|---|---|")
for port, name, key in (("51820", "tunless", "ctxt_tl"), ("51821", "wireguard-go wgB", "ctxt_wgB")):
    b, p = per[port]
    print(f"| {name} (UDP {port}, both directions) | {p} | {b} | {b * day / 1e6:.3f} | {(b - 14 * p) * day / 1e6:.3f} | {idle[key] / T:.3f} |")
print(f"\nAll frames on the veth in the window (both peers, ARP included): {idle['sniff']['all_pkts']} packets, {idle['sniff']['all_bytes']} bytes. "
      f"wireguard-go wgA (the far peer of both) ctxt switches/s: {idle['ctxt_wgA'] / T:.3f}.\n")
for port, name in (("51820", "tunless"), ("51821", "wireguard-go wgB")):
    kinds = idle["sniff"].get("kinds", {}).get(port, {})
    print(f"- {name} frames by direction, WireGuard message type, size: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
for r in rows:
    if r["kind"] == "rss":
        print(f"- tunless {r['case']}: VmRSS {r['rss']} kB (RssAnon {r['anon']} kB, RssFile {r['file']} kB), VmHWM {r['hwm']} kB")
PY
    pretty "results: $OUT"
    exit 0
fi

# ---- bulk mode ----------------------------------------------------------------------------
sleep 1
rss_line "idle after start (tl)" "$TL"
PIDS_ALL="tl=$TL,tl2=$TL2,tls=$TLS,wgA=$WGA,wgB=$WGB"
client() { # NS KIND CASE DIR OURS PEER -- benchnet args
    local ns=$1 kind=$2 case_=$3 dir=$4 ours=$5 peer=$6; shift 7
    local tag="{\"kind\":\"$kind\",\"case\":\"$case_\",\"dir\":\"$dir\",\"ours\":\"$ours\",\"peer\":\"$peer\",\"round\":${ROUND:-0}}"
    local line
    line=$(n "$ns" "$PY" "$BN" "$kind" --pids "$PIDS_ALL" --tag "$tag" "$@" 2>"$WORK/client.err") \
        || { echo "  $case_ $dir: client failed: $(tail -n 1 "$WORK/client.err")" >&2; return 0; }
    echo "$line" >> "$OUT"
    echo "  $case_ $dir: $(echo "$line" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items() if k in ("mbps","gap_time","max_gap","rtt_per_s","cfb_ms","load1") or k.startswith("cpu_")})')"
}
# Bulk cases run in rounds: round r runs every selected case once in each direction before
# round r+1 starts, so every tunless run has a reference (b) run minutes or less away. On a
# shared VM the machine's speed drifts over a benchmark's half hour (2026-12-08: reference (b)
# alone varied 160-290 MB/s between invocations); run case by case, that drift lands on the
# ratios. The report pairs each run with (b) of its own round.
BULK=()
bulk_case() { # CASE NS OURS PEER -- args   (BULK_KIND=iperf: iperf3 as the client)
    BULK+=("${BULK_KIND:-bulk}|$1|$2|$3|$4|${*:6}")
}
run_bulk() {
    [ ${#BULK[@]} -gt 0 ] || return 0
    pretty "bulk: ${#BULK[@]} case(s) x directions (${DIRS:-D U}), $RUNS round(s)"
    # ROUND is local here and read by client() (bash scoping): records outside bulk carry 0.
    local kind case_ ns ours peer args dir ROUND
    for ROUND in $(seq 1 "$RUNS"); do
        for spec in "${BULK[@]}"; do
            IFS='|' read -r kind case_ ns ours peer args <<< "$spec"
            for dir in ${DIRS:-D U}; do
                # shellcheck disable=SC2086  # args: the case's benchnet options, word-split
                client "$ns" "$kind" "$case_" "$([ $dir = D ] && echo download || echo upload)" \
                    "$ours" "$peer" -- --mode $dir --seconds "$SECS" $args
            done
        done
    done
}

if [ -n "${PROFILE:-}" ]; then
    pretty "profile ($PROFILE) tunless over a ${SECS}s SOCKS5 download and upload"
    case $PROFILE in
        perf)
            perf record -g -o "$WORK/perf.data" -p "$TL" -- sleep $(( $(wc -w <<< "${DIRS:-D U}") * SECS + 2)) >/dev/null 2>&1 &
            prof=$!
            sleep 0.5;;
        strace)
            strace -c -f -o "$WORK/strace.txt" -p "$TL" &
            prof=$!
            sleep 0.5;;
    esac
    for dir in ${DIRS:-D U}; do
        if [ "$dir" = D ]; then what=download; else what=upload; fi
        client cli bulk prof "$what" tl wgA -- --mode "$dir" --seconds "$SECS" --socks 127.0.0.1:1080 --to 10.77.0.1:5201
    done
    if [ "$PROFILE" = strace ]; then kill -INT $prof; fi
    wait $prof
    if [ "$PROFILE" = perf ]; then
        {
            perf report -i "$WORK/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
            perf report -i "$WORK/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60
            perf report -i "$WORK/perf.data" --children --sort symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | grep -E 'sendmmsg|recvmmsg|epoll_wait|sendmsg|recvmsg|write|read|accept|connect' | head -20
        } | sed -E "s/ +-? +-? *$//" > "${OUT%.jsonl}.perf.txt"
    fi
    if [ "$PROFILE" = strace ]; then
        mb=$("$PY" -c 'import json,sys; print(sum(json.loads(l)["bytes"] for l in open(sys.argv[1]) if l.startswith("{") and "\"prof\"" in l) / 1e6)' "$OUT")
        { cat "$WORK/strace.txt"; echo "bytes moved (both runs): ${mb} MB"
          awk -v mb="$mb" '$NF == "total" {printf "syscalls per MB: %.1f\n", $(NF-2) / mb}' "$WORK/strace.txt"
          awk -v mb="$mb" 'NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" {printf "  %-12s %8.1f per MB\n", $NF, $4 / mb}' "$WORK/strace.txt"
        } > "${OUT%.jsonl}.strace.txt"
    fi
    pretty "profile: ${OUT%.jsonl}.$PROFILE.txt"
    exit 0
fi

has a && { pretty "(a) raw TCP over the veth"; bulk_case a_raw_veth cli "" "" -- --to 192.168.77.1:5201; }
has b && { pretty "(b) wireguard-go both ends (reference)"; bulk_case b_wggo_both cli wgB wgA -- --to 10.77.0.1:5201; }
has c && { pretty "(c) tunless SOCKS5 -> wireguard-go peer"; bulk_case c_tl_socks5 cli tl wgA -- --socks 127.0.0.1:1080 --to 10.77.0.1:5201; }
if has d; then
    pretty "(d) tunless outbound forward ([TCPClientTunnel]) and inbound forward ([TCPServerTunnel])"
    bulk_case d_tl_fwd_out cli tl wgA -- --to 127.0.0.1:7001
    bulk_case d_tl_fwd_in srv tl wgA -- --to 10.77.0.2:5201
fi
if has e; then
    pretty "(e) tunless <-> tunless: outbound forward / SOCKS5 on tl2, inbound forward on tls"
    bulk_case e_tltl_fwd cli tl2 tls -- --to 127.0.0.1:7002
    bulk_case e_tltl_socks5 cli tl2 tls -- --socks 127.0.0.1:1090 --to 10.99.0.1:5201
fi
if has i; then
    pretty "(i) iperf3 as the client (C, no Python in the data path): a, b, d-out, d-in, e"
    export BULK_KIND=iperf
    bulk_case i_a_raw_veth cli "" "" -- --to 192.168.77.1:5202
    bulk_case i_b_wggo_both cli wgB wgA -- --to 10.77.0.1:5202
    bulk_case i_d_tl_fwd_out cli tl wgA -- --to 127.0.0.1:7011
    bulk_case i_d_tl_fwd_in srv tl wgA -- --to 10.77.0.2:5202
    bulk_case i_e_tltl_fwd cli tl2 tls -- --to 127.0.0.1:7012
    unset BULK_KIND
fi
run_bulk
rss_line "after bulk, idle (tl)" "$TL"
if has f; then
    pretty "(f) 1-byte request/response"
    for _ in $(seq 1 "$RUNS"); do
        client cli rr f_rr_raw_veth "" "" "" -- --seconds "$SECS" --to 192.168.77.1:5201
        client cli rr f_rr_wggo "" wgB wgA -- --seconds "$SECS" --to 10.77.0.1:5201
        client cli rr f_rr_tl_fwd_out "" tl wgA -- --seconds "$SECS" --to 127.0.0.1:7001
        client cli rr f_rr_tl_socks5 "" tl wgA -- --seconds "$SECS" --socks 127.0.0.1:1080 --to 10.77.0.1:5201
        client srv rr f_rr_tl_fwd_in "" tl wgA -- --seconds "$SECS" --to 10.77.0.2:5201
        client cli rr f_rr_tltl_fwd "" tl2 tls -- --seconds "$SECS" --to 127.0.0.1:7002
    done
fi
if has g; then
    pretty "(g) connect to first byte, warm"
    for _ in $(seq 1 "$RUNS"); do
        client cli cfb g_warm_wggo "" wgB wgA -- --to 10.77.0.1:5201
        client cli cfb g_warm_tl_fwd_out "" tl wgA -- --to 127.0.0.1:7001
        client cli cfb g_warm_tl_socks5 "" tl wgA -- --socks 127.0.0.1:1080 --to 10.77.0.1:5201
        client cli cfb g_warm_tltl_fwd "" tl2 tls -- --to 127.0.0.1:7002
    done
    pretty "(g) connect to first byte, cold: fresh tunless (no keepalive) / wgB peer re-added"
    for _ in $(seq 1 "$RUNS"); do
        start_tunless cli tlcold; cold=$LAST_PID
        wait_until 10 listening cli 7003 || fail "tlcold forward not up"
        client cli cfb g_cold_tl_fwd_out "" "" "" -- --count 1 --to 127.0.0.1:7003
        stop_pid "$cold"
        n cli wg set "${NS_PREFIX}wgB" peer "$(pub wgA)" remove
        n cli wg set "${NS_PREFIX}wgB" peer "$(pub wgA)" allowed-ips 10.77.0.1/32 endpoint 192.168.77.1:51820
        client cli cfb g_cold_wggo "" "" "" -- --count 1 --to 10.77.0.1:5201
        n cli wg set "${NS_PREFIX}wgB" peer "$(pub wgA)" persistent-keepalive $KA
    done
fi
rss_line "end of run (tl)" "$TL"
counters() { # dump every daemon's counter lines (SIGUSR1) next to the results
    for d in tl tl2 tls; do
        local pid_var=${d^^}; kill -USR1 "${!pid_var}"
    done
    sleep 0.5
    {
        for d in tl tl2 tls; do echo "== $d"; cat "$WORK/$d.log"; done
        # Kernel view: UDP receive-buffer drops (RcvbufErrors) show where datagrams were lost.
        for s_ in srv cli; do
            echo "== /proc/net/snmp and links in $s_"; n $s_ grep -E '^(Udp|Tcp):' /proc/net/snmp
            n $s_ nstat -az 2>/dev/null | grep -E 'TcpExtTCP(SACKRecovery|RenoRecovery|Timeouts|LossProbes|FastRetrans|SlowStartRetrans|OFOQueue|SackShifted)|TcpRetransSegs|UdpRcvbufErrors'
            n $s_ ip -s link
        done
    } > "${OUT%.jsonl}.counters.txt"
}
counters

"$PY" "$BN" report "$OUT" | tee "${OUT%.jsonl}.md"
pretty "results: $OUT and ${OUT%.jsonl}.md"
