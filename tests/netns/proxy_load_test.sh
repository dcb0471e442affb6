#!/usr/bin/env bash
# Issue #8 "Load": 1000 concurrent SOCKS5 connections through tunless with the default limits.
#
#   ┌────────────── ns "peer" ──────────────┐      ┌──────────── ns "node" ──────────────┐
#   │ wireguard-go wg0 10.77.0.1/24         │      │ tunless 10.77.0.2 (lwIP inside)     │
#   │ echo server 10.77.0.1:7000 (asyncio)  │      │ SOCKS5 :1080, :1081 (defaults),     │
#   │ sink 10.77.0.1:7100 (reads when told) │      │ :1082 (MaxConnections = 2), HTTP    │
#   │                                       │      │ proxy :8090 (MaxConnections = 1)    │
#   │ veth-peer 192.168.77.1 ───────────────┼─veth─┼── veth-node 192.168.77.2            │
#   └───────────────────────────────────────┘      └─────────────────────────────────────┘
#
# Shows: tunless started with a soft descriptor limit of 1024 raises it itself; 1000 SOCKS5
# connections opened at once and held, 4 KiB echoed on each; a bulk transfer next to them;
# at a listener's MaxConnections and at the stack's MaxTcpConnections (1024) the next client
# gets SOCKS5 REP 0x01 (HTTP proxy: 503) while every held connection keeps working; after
# closing, the connection counters return to zero and RSS near idle; 64 stalled uploads fill the stack's
# 16 MiB memory cap without exceeding it (or the RSS bound) and all complete once the server
# reads, next to idle bystanders that keep working; a hard descriptor limit too small for the
# configured limits is logged. Prints RSS idle / with 1000 connections / after / at the memory
# cap, per-connection memory and descriptors (docs/reliability.md quotes them). About 30 s.
TEST_NAME=proxy_load
source "$(dirname "$0")/lib.sh"
require_netns
require_wireguard_go
command -v python3 >/dev/null || skip "python3 is needed (tools/setup.sh installs it)"
HERE="$(cd "$(dirname "$0")" && pwd)"
LOAD="$HERE/socks_load.py"
ECHO="$HERE/proxy_tcp_helper.py"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)
N=1000
# The stack's default MaxTcpConnections (net::StackConfig::kDefaultMaxTcpConnections).
STACK_CAP=1024
# The client and the echo server each hold 1000+ sockets.
ulimit -n 8192 || skip "cannot raise the descriptor limit for the test's own clients"

mesh_pair

# No MaxConnections on :1080/:1081 and no [Limits]: the defaults must carry 1000 connections.
{ node_conf; cat <<CONF; } > "$WORK/node.conf"

[Socks5]
BindAddress = 127.0.0.1:1080

[Socks5]
BindAddress = 127.0.0.1:1081

[Socks5]
BindAddress = 127.0.0.1:1082
MaxConnections = 2

[http]
BindAddress = 127.0.0.1:8090
MaxConnections = 1
CONF

pretty "peer: wireguard-go and an asyncio echo server"
wg_peer endpoint 192.168.77.2:51820 >/dev/null
bg peer "$WORK/echo.log" "$PY" "$ECHO" echo 10.77.0.1 7000 >/dev/null

pretty "start tunless with a soft descriptor limit of 1024 (the usual default)"
spawn node "$WORK/tunless.log" bash -c 'ulimit -Sn 1024 && exec "$@"' tunless \
    "$TUNLESS_BIN" up ${TUNLESS_VERBOSE:+-v} -c "$WORK/node.conf" --name "${NS_PREFIX}tl"
tl=$LAST_PID
wait_until 10 n peer ping -c 1 -W 1 10.77.0.2 || fail "no ping through the tunnel"
wait_until 5 n peer bash -c "exec 3<>/dev/tcp/10.77.0.1/7000" || fail "echo server not up"
wait_until 5 n node bash -c "exec 3<>/dev/tcp/127.0.0.1/1080" || fail "SOCKS5 listener not up"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$tl/status"; }
fds() { ls "/proc/$tl/fd" | wc -l; }
# counter KEY: one value from `tunless status --json` (the get=tunless counters).
counter() {
    "$TUNLESS_BIN" status --json --name "${NS_PREFIX}tl" 2>/dev/null |
        "$PY" -c 'import json, sys
d = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        if sys.argv[1] in o: return o[sys.argv[1]]
        for v in o.values():
            r = find(v)
            if r is not None: return r
find_ = find(d); print(find_ if find_ is not None else "")' "$1"
}

soft=$(awk '/Max open files/ {print $4}' "/proc/$tl/limits")
grep -q "descriptor limit raised from 1024 to" "$WORK/tunless.log" || fail "no 'descriptor limit raised' log line"
[ "$soft" -gt 1024 ] || fail "tunless left its soft descriptor limit at $soft"
pretty "descriptor limit raised by tunless itself: soft limit now $soft"

sleep 1
rss_idle=$(rss_kb); fds_idle=$(fds); heap_idle=$(counter netstack.heap_used_bytes)
echo "  idle: RSS ${rss_idle} kB, ${fds_idle} fds, lwIP heap ${heap_idle} B"

# Test: 1000 connections at once, held open, 4 KiB echoed on each.
SYNC="$WORK/sync"; mkdir -p "$SYNC"
t0=$(date +%s%N)
spawn node "$WORK/hold.log" "$PY" "$LOAD" hold "$N" 1080 10.77.0.1 7000 4096 "$SYNC"
hold=$LAST_PID
wait_until 60 test -e "$SYNC/open" || fail "the $N connections did not all open: $(cat "$WORK/hold.log")"
t1=$(date +%s%N)
cat "$WORK/hold.log"
sleep 1
rss_open=$(rss_kb); fds_open=$(fds)
conns=$(counter netstack.tcp_connections); active=$(counter proxy.tcp.connections_active)
heap_open=$(counter netstack.heap_used_bytes)
[ "$conns" = "$N" ] || fail "netstack.tcp_connections=$conns with $N held"
[ "$active" = "$N" ] || fail "proxy.tcp.connections_active=$active with $N held"
per_conn=$(( (rss_open - rss_idle) * 1024 / N ))
heap_per_conn=$(( (heap_open - heap_idle) / N ))
fds_per_conn=$(awk -v a="$fds_open" -v b="$fds_idle" -v n="$N" 'BEGIN {printf "%.2f", (a - b) / n}')
pretty "$N connections open and echoing ($(( (t1 - t0) / 1000000 )) ms): RSS ${rss_open} kB" \
    "(+${per_conn} B/connection, lwIP heap ${heap_per_conn} B of it), ${fds_per_conn} fds/connection"

# Test: a bulk transfer still gets its window next to the 1000 idle connections.
out=$(n node "$PY" "$LOAD" bulk 1081 10.77.0.1 7000 $((32 << 20))) || fail "bulk transfer: $out"
pretty "next to them, $out"
bulk_peak=$(counter netstack.heap_peak_bytes)

# Test: the caps answer with SOCKS5 REP 0x01 and leave the held connections alone.
room=$((STACK_CAP - N - 2))
out=$(n node "$PY" "$LOAD" over 1082 2 1081 "$room" 10.77.0.1 7000) || fail "refusal at the caps: $out"
echo "$out" | sed 's/^/  /'
refused=$(counter netstack.tcp_refused_limit)
[ "${refused:-0}" -ge 1 ] || fail "stack refusal not counted (netstack.tcp_refused_limit=$refused)"
grep -q "socks5 127.0.0.1:1082: 2 connections (MaxConnections), refusing" "$WORK/tunless.log" || fail "listener refusal not logged"
pretty "at MaxConnections and at MaxTcpConnections ($STACK_CAP): REP 0x01, counted, logged; the held ones unaffected"
out=$(n node "$PY" -c '
import socket
req = b"CONNECT 10.77.0.1:7000 HTTP/1.1\r\nHost: x\r\n\r\n"
a = socket.create_connection(("127.0.0.1", 8090), timeout=10); a.sendall(req)
first = a.recv(200).split(b"\r\n")[0].decode()
b = socket.create_connection(("127.0.0.1", 8090), timeout=10); b.sendall(req)
second = b.recv(200).split(b"\r\n")[0].decode()
a.sendall(b"ping")
print("%s / %s / %s" % (first, second, a.recv(4).decode()))')
[ "$out" = "HTTP/1.1 200 Connection established / HTTP/1.1 503 Service Unavailable / ping" ] || fail "HTTP proxy at MaxConnections = 1: $out"
pretty "HTTP proxy at MaxConnections = 1: the second client gets 503, the first keeps working"

# Test: the 1000 echo once more after all that, then close; counters return to zero.
touch "$SYNC/go"
wait "$hold" || fail "held connections failed after the refusals: $(cat "$WORK/hold.log")"
tail -n 1 "$WORK/hold.log"
zero() { [ "$(counter netstack.tcp_connections)" = 0 ] && [ "$(counter proxy.tcp.connections_active)" = 0 ]; }
wait_until 20 zero || fail "connections did not return to zero: tcp=$(counter netstack.tcp_connections) proxy=$(counter proxy.tcp.connections_active)"
sleep 1
rss_after=$(rss_kb); fds_after=$(fds); heap_after=$(counter netstack.heap_used_bytes)
pretty "all closed: connections 0; RSS idle ${rss_idle} kB, with $N ${rss_open} kB, after ${rss_after} kB;" \
    "fds ${fds_idle}/${fds_open}/${fds_after}; lwIP heap ${heap_idle}/${heap_open}/${heap_after} B (peak ${bulk_peak} B)"
[ "$fds_after" -le $((fds_idle + 2)) ] || fail "descriptors leaked: ${fds_after} after vs ${fds_idle} idle"
# Under ASan freed memory sits in the quarantine; the bound is checked in normal builds.
if [ "${TUNLESS_SANITIZED:-0}" != 1 ]; then
    [ "$rss_after" -lt $((rss_idle + 4096)) ] || fail "RSS did not return near idle (${rss_after} kB vs ${rss_idle} kB idle)"
fi

# Test: the stack's memory cap under pressure. 64 uploads of 1 MiB to a server that does not
# read yet fill tunless's send buffers (256 KiB each, 64 x 256 KiB > 16 MiB); 20 idle
# bystander connections are open. The lwIP heap stays under the cap, RSS under the bound;
# once the server reads, every upload arrives intact and the bystanders still echo.
CAP_KB=$((16 * 1024))  # net::StackConfig::kDefaultHeapLimitBytes
# Where a stalled upload's bytes wait: the daemon's counters, then the sink's and the clients'
# TCP sockets that still hold data (queues, windows, timers).
extra_dump() {
    echo "---- tunless status"
    "$TUNLESS_BIN" status --name "${NS_PREFIX}tl" 2>&1 | head -n 30
    echo "---- peer: sink sockets with queued data (ss -tino)"
    n peer ss -tino state established '( sport = :7100 )' 2>/dev/null | queued_only | head -n 41
    echo "---- node: client sockets of :1081 with queued data"
    n node ss -tino state established '( dport = :1081 or sport = :1081 )' 2>/dev/null | queued_only | head -n 41
}
# ss -i prints a socket line (Recv-Q Send-Q ...) and then an indented details line.
queued_only() {
    awk 'NR == 1 {print; next} /^[0-9]/ {head = $0; keep = ($1 != 0 || $2 != 0); next}
         keep {print head; print}'
}
GATE="$WORK/gate"; SYNC2="$WORK/sync2"; SYNC3="$WORK/sync3"; mkdir -p "$SYNC2" "$SYNC3"
bg peer "$WORK/sink.log" "$PY" "$LOAD" sink 10.77.0.1 7100 "$GATE" >/dev/null
wait_until 5 n peer bash -c "exec 3<>/dev/tcp/10.77.0.1/7100" || fail "sink server not up"
spawn node "$WORK/bystanders.log" "$PY" "$LOAD" hold 20 1081 10.77.0.1 7000 1024 "$SYNC2"
bystanders=$LAST_PID
wait_until 20 test -e "$SYNC2/open" || fail "bystanders did not open: $(cat "$WORK/bystanders.log")"
errors0=$(counter netstack.lwip.heap_errors)
spawn node "$WORK/pressure.log" "$PY" "$LOAD" pressure 64 1081 10.77.0.1 7100 $((1 << 20)) "$SYNC3"
pressure=$LAST_PID
wait_until 40 test -e "$SYNC3/full" || fail "uploads did not stall: $(cat "$WORK/pressure.log")"
sleep 1
rss_full=$(rss_kb); heap_full=$(counter netstack.heap_used_bytes); heap_peak=$(counter netstack.heap_peak_bytes)
errors=$(( $(counter netstack.lwip.heap_errors) - errors0 ))
head -n 1 "$WORK/pressure.log"
touch "$GATE"
wait "$pressure" || fail "uploads under memory pressure failed: $(cat "$WORK/pressure.log")"
tail -n 1 "$WORK/pressure.log"
touch "$SYNC2/go"
wait "$bystanders" || fail "bystanders failed after the memory pressure: $(cat "$WORK/bystanders.log")"
pretty "memory cap: lwIP heap ${heap_full} B in use at the stall (peak ${heap_peak} B, cap $((CAP_KB * 1024)) B)," \
    "${errors} allocations refused; RSS ${rss_full} kB; uploads intact, bystanders still echo"
[ "$heap_peak" -le $((CAP_KB * 1024)) ] || fail "lwIP heap peak ${heap_peak} B above the cap"
# The cap must have been reached: allocations refused, or (when the send buffers happened to
# stop just short of it) a peak within 5 % of it. Otherwise the test proves nothing.
[ "$errors" -gt 0 ] || [ "$heap_peak" -ge $((CAP_KB * 1024 / 20 * 19)) ] ||
    fail "the memory cap was never reached (peak ${heap_peak} B, no refused allocation): the test proves nothing"
if [ "${TUNLESS_SANITIZED:-0}" != 1 ]; then
    # Bound: idle + the cap + per-connection state + allocator overhead (4 MiB of slack).
    [ "$rss_full" -lt $((rss_idle + CAP_KB + 4096)) ] || fail "RSS ${rss_full} kB above idle + cap + 4 MiB"
fi

# Test: a hard descriptor limit below what the configured limits need is reported at start.
sed -e 's/^ListenPort = 51820/ListenPort = 0/' -e 's/127.0.0.1:108/127.0.0.1:109/' -e 's/:8090/:8091/' \
    -e '/^\[Peer\]/,/^$/d' "$WORK/node.conf" > "$WORK/small.conf"
spawn node "$WORK/small.log" bash -c 'ulimit -n 256 && exec "$@"' tunless \
    "$TUNLESS_BIN" up -c "$WORK/small.conf" --name "${NS_PREFIX}sm"
small=$LAST_PID
wait_until 10 grep -q "descriptor limit 256 (hard 256) is below" "$WORK/small.log" || fail "no warning with a hard limit of 256: $(cat "$WORK/small.log")"
stop_pid "$small"
pretty "hard limit 256: $(grep -o 'descriptor limit 256.*base)' "$WORK/small.log")"

kill -TERM "$tl"
wait_until 5 bash -c "! kill -0 $tl" || fail "tunless did not exit on SIGTERM"
wait "$tl"; rc=$?
[ "$rc" -eq 0 ] || fail "tunless exited with $rc on SIGTERM"
echo "FIGURES: connections=$N rss_idle_kB=$rss_idle rss_open_kB=$rss_open rss_after_kB=$rss_after" \
    "bytes_per_connection=$per_conn lwip_heap_bytes_per_connection=$heap_per_conn" \
    "fds_per_connection=$fds_per_conn bulk_heap_peak_bytes=$bulk_peak rss_memory_cap_kB=$rss_full"
echo "PASS"
