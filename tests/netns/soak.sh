#!/usr/bin/env bash
# Soak (NOT registered in ctest: it runs SOAK_S seconds, default 600). tunless with a SOCKS5
# listener and a wireguard-go peer; rounds of SOCKS5_CONNS (default 250) parallel SOCKS5
# CONNECTs through the mesh to an echo server on the peer, 16 KiB each way per connection,
# back to back, plus a ping run. Every SAMPLE_S seconds it prints tunless's RSS, fd count and
# active connections; at the end it checks that RSS and fds came back near the first sample.
#   sudo TUNLESS_BIN=build/tools/tunless/tunless tests/netns/soak.sh
TEST_NAME=soak
source "$(dirname "$0")/lib.sh"
require_netns
require_wireguard_go
HERE=$(cd "$(dirname "$0")" && pwd)
SOAK_S=${SOAK_S:-600}
SAMPLE_S=${SAMPLE_S:-30}
CONNS=${SOCKS5_CONNS:-250}  # below the mesh TCP cap of 1024 (netstack StackConfig)

mesh_pair
(umask 077; { node_conf; cat <<CONF; } > "$WORK/node.conf"

[Socks5]
BindAddress = 127.0.0.1:1080
CONF
)
wg_peer >/dev/null
bg peer "$WORK/echo.log" python3 "$HERE/proxy_tcp_helper.py" echo 10.77.0.1 7000 >/dev/null
spawn node "$WORK/tunless.log" bash -c "ulimit -n 4096; exec \"$TUNLESS_BIN\" up -c \"$WORK/node.conf\" --state-dir \"$WORK/state\" --name \"${NS_PREFIX}tl\""
tl=$LAST_PID
wait_until 10 n peer ping -c 1 -W 1 10.77.0.2 || fail "tunnel did not come up"

sample() {
    local rss fds act
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$tl/status")
    fds=$(ls "/proc/$tl/fd" | wc -l)
    act=$(n node "$TUNLESS_BIN" status --name "${NS_PREFIX}tl" 2>/dev/null | grep -o 'connections_active[ =:]*[0-9]*' | grep -o '[0-9]*$')
    echo "$1 rss_kb=$rss fds=$fds active=${act:-?}"
}

echo "t_s rss_kb fds active (sampled every ${SAMPLE_S}s; rounds of $CONNS SOCKS5 connections)"
first=$(sample 0)
echo "$first"
start=$(date +%s)
spawn peer "$WORK/ping.log" ping -i 0.5 -w "$SOAK_S" 10.77.0.2
ping_pid=$LAST_PID
rounds=0; failed=0
next_sample=$((start + SAMPLE_S))
while [ $(( $(date +%s) - start )) -lt "$SOAK_S" ]; do
    if n node bash -c "ulimit -n 8192; python3 '$HERE/proxy_tcp_helper.py' socks-many $CONNS 10.77.0.1 7000 16384" >>"$WORK/rounds.log" 2>&1; then
        rounds=$((rounds + 1))
    else
        failed=$((failed + 1))
    fi
    if [ "$(date +%s)" -ge "$next_sample" ]; then
        sample $(( $(date +%s) - start ))
        next_sample=$((next_sample + SAMPLE_S))
    fi
done
sleep 5
last=$(sample $(( $(date +%s) - start )))
echo "$last"
echo "rounds ok=$rounds failed=$failed ($(tail -n 1 "$WORK/rounds.log"))"
wait "$ping_pid" || true
grep -E 'packet loss|rtt' "$WORK/ping.log" || true
kill -0 "$tl" || fail "tunless died"
rss0=$(echo "$first" | grep -o 'rss_kb=[0-9]*' | cut -d= -f2); rss1=$(echo "$last" | grep -o 'rss_kb=[0-9]*' | cut -d= -f2)
fd0=$(echo "$first" | grep -o 'fds=[0-9]*' | cut -d= -f2); fd1=$(echo "$last" | grep -o 'fds=[0-9]*' | cut -d= -f2)
[ "$fd1" -le $((fd0 + 2)) ] || fail "fd count grew: $fd0 -> $fd1"
[ "$failed" -eq 0 ] || fail "$failed rounds failed"
echo "RSS ${rss0} kB -> ${rss1} kB, fds ${fd0} -> ${fd1}"
echo "PASS"
