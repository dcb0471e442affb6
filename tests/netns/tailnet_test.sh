#!/usr/bin/env bash
# Two tunless nodes join a tailnet run by the fake headscale (control + DERP), end to end.
#
#              ┌──────────────────── ns "ctl" (router) ─────────────────────┐
#              │ fake_headscale.py: control + DERP region 999, TLS          │
#              │   10.99.0.1:443 (on lo; cert SANs ctl.test, 10.99.0.1)     │
#              │   admin API 127.0.0.1:9080                                 │
#              │ forwards n1 <-> n2 but drops every UDP datagram between    │
#              │ them (ip rule ... ipproto udp ... blackhole): DERP only    │
#              │ veth-c1 10.99.1.1/24                  veth-c2 10.99.2.1/24 │
#              └──────┬─────────────────────────────────────────┬───────────┘
#                     │ veth                                    │ veth
#   ┌──────── ns "n1" ┴─────────────────┐   ┌──────── ns "n2" ──┴────────────────┐
#   │ veth-n1 10.99.1.2/24              │   │ veth-n2 10.99.2.2/24               │
#   │ tunless [Tailnet] Hostname = n1   │   │ tunless [Tailnet] Hostname = n2    │
#   │   AuthKey = file:..., SOCKS5 :1080│   │   AuthKey literal, TCPServerTunnel │
#   │ curl --socks5-hostname            │   │   8080, 8081 -> HTTP 127.0.0.1:8080│
#   │                                   │   │   and 127.0.0.1:8081               │
#   └───────────────────────────────────┘   └────────────────────────────────────┘
#
# Shows: 0. the topology (HTTPS /key from both nodes, UDP n1 -> n2 forwarded until the rule,
# then dropped, TCP still forwarded); 1. both nodes register (state "running", 100.64.x
# addresses) and see each other as tailnet and WireGuard peers; 2. a file from n2's forward
# fetched from n1 through SOCKS5 by MagicDNS short name, FQDN and 100.x IP, SHA-256 equal, the
# bytes relayed by DERP (the fake's frame counters grew, path "derp:999"); 3. a policy from the
# admin API that allows only port 8080 from n1: 8081 stops answering, 8080 still works; 4. n2
# deleted on the server: n1 drops it from its tailnet and WireGuard peers; 5. clean SIGTERM
# shutdown, nothing left in the namespaces. About 30 s.
TEST_NAME=tailnet
source "$(dirname "$0")/lib.sh"
require_netns
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is needed (Debian's, with python3-h2/nacl/cryptography)"
"$PY" -c 'import h2, nacl, cryptography' 2>/dev/null \
    || skip "/usr/bin/python3 lacks h2, nacl or cryptography (tools/setup.sh installs python3-h2 python3-nacl python3-cryptography)"
for c in curl sha256sum; do
    command -v "$c" >/dev/null || skip "$c is needed (tools/setup.sh installs it)"
done
HERE=$(cd "$(dirname "$0")" && pwd)
HELPER="$HERE/tailnet_helper.py"
FAKEHS="$HERE/../tailnet/fake_headscale.py"
CTL_IP=10.99.0.1
ADMIN_PORT=9080
DOMAIN=tailnet.test
AUTHKEY="tskey-netns-$$-reusable"
T_START=$(date +%s)

# Names resolve only from /etc/hosts inside the namespaces (`ip netns exec` bind-mounts
# /etc/netns/NAME/* over /etc): no query, and no nss module (D-Bus to a host resolver), can
# leave them. The DERP host name ctl.test is deliberately not listed: the client must dial the
# DERPMap's IPv4 and use the name for TLS only (tailscale derp/derphttp dialNode).
ETC_DIRS=()
for name in ctl n1 n2; do
    d="/etc/netns/$(ns "$name")"
    mkdir -p "$d"
    printf '127.0.0.1 localhost\n' > "$d/hosts"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$d/resolv.conf"
    printf 'hosts: files dns\n' > "$d/nsswitch.conf"
    ETC_DIRS+=("$d")
done
trap 'rc_=$?; rm -rf "${ETC_DIRS[@]}"; (exit $rc_); cleanup' EXIT

# link A IF_A ADDR_A B IF_B ADDR_B: a veth pair with chosen interface names (lib.sh's veth
# names both ends after their namespaces, and ctl has two).
link() {
    ip link add "$2" netns "$(ns "$1")" type veth peer name "$5" netns "$(ns "$4")"
    n "$1" ip addr add "$3" dev "$2"; n "$1" ip link set "$2" up
    n "$4" ip addr add "$6" dev "$5"; n "$4" ip link set "$5" up
}

# ---------------------------------------------------------------------------------------------
pretty "0. topology: router ctl between n1 and n2, fake headscale on $CTL_IP:443"
new_ns ctl; new_ns n1; new_ns n2
link ctl veth-c1 10.99.1.1/24 n1 veth-n1 10.99.1.2/24
link ctl veth-c2 10.99.2.1/24 n2 veth-n2 10.99.2.2/24
n ctl ip addr add "$CTL_IP/32" dev lo
n ctl sysctl -qw net.ipv4.ip_forward=1
n n1 ip route add 10.99.0.0/16 via 10.99.1.1
n n2 ip route add 10.99.0.0/16 via 10.99.2.1

bg ctl "$WORK/fakehs.log" env PYTHONDONTWRITEBYTECODE=1 "$PY" -B "$FAKEHS" \
    --listen "$CTL_IP:443" --tls --hostname ctl.test --state-dir "$WORK/fakehs" \
    --ca-out "$WORK/ca.pem" --preauth-key "$AUTHKEY,reusable" --keepalive-seconds 5 \
    --admin "127.0.0.1:$ADMIN_PORT" --base-domain "$DOMAIN" >/dev/null
fakehs=${PIDS[-1]}
wait_until 20 grep -q '^{"event": "ready"' "$WORK/fakehs.log" || fail "0. the fake headscale did not print its ready line"
ctl_key=$(grep '^{"event": "ready"' "$WORK/fakehs.log" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["control_public_key"])')
admin() {  # admin METHOD PATH [JSON]
    n ctl curl -sS --max-time 5 -X "$1" ${3:+-H 'Content-Type: application/json' --data "$3"} \
        "http://127.0.0.1:$ADMIN_PORT/admin/$2"
}

for node in n1 n2; do
    key=$(n "$node" curl -sS --max-time 5 --cacert "$WORK/ca.pem" "https://$CTL_IP/key?v=130" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])') \
        || fail "0. $node: HTTPS GET https://$CTL_IP/key?v=130 (CAFile = the fake's CA) failed"
    [ "$key" = "$ctl_key" ] || fail "0. $node: /key answered $key, the fake announced $ctl_key"
done
pretty "0. HTTPS to the control server from n1 and n2 (IP SAN, fake's CA): ok"

# udp_probe: datagrams n1 -> n2:9999 that arrive (10 sent).
udp_probe() {
    rm -f "$WORK/udp.ready"
    spawn n2 "$WORK/udp.count" "$PY" "$HELPER" udp-recv 10.99.2.2 9999 1.5 "$WORK/udp.ready"
    local rx=$LAST_PID
    wait_until 3 test -f "$WORK/udp.ready" || fail "0. UDP probe receiver did not start"
    n n1 "$PY" "$HELPER" udp-send 10.99.2.2 9999 10
    wait "$rx"
    cat "$WORK/udp.count"
}
got=$(udp_probe)
[ "$got" -eq 10 ] || fail "0. UDP n1 -> n2 before the drop rule: $got of 10 datagrams arrived"
n ctl ip rule add pref 100 ipproto udp from 10.99.1.0/24 to 10.99.2.0/24 blackhole
n ctl ip rule add pref 101 ipproto udp from 10.99.2.0/24 to 10.99.1.0/24 blackhole
got=$(udp_probe)
[ "$got" -eq 0 ] || fail "0. UDP n1 -> n2 still arrives ($got of 10) after the blackhole rules"
rm -f "$WORK/tcp.ready"
spawn n2 "$WORK/tcp.out" "$PY" "$HELPER" tcp-accept 10.99.2.2 9998 3 "$WORK/tcp.ready"
tcp_rx=$LAST_PID
wait_until 3 test -f "$WORK/tcp.ready" || fail "0. TCP probe listener did not start"
n n1 bash -c "exec 3<>/dev/tcp/10.99.2.2/9998" || fail "0. TCP n1 -> n2 is not forwarded"
wait "$tcp_rx" || fail "0. TCP n1 -> n2: the listener saw no connection"
pretty "0. UDP n1 <-> n2 dropped by the router (10/10 before the rule, 0/10 after), TCP forwarded: ok"

# ---------------------------------------------------------------------------------------------
pretty "1. start tunless on n1 and n2; both register and see each other"
old_umask=$(umask)
umask 077  # the auth key is in the files below
printf '%s\n' "$AUTHKEY" > "$WORK/authkey"
cat > "$WORK/n1.conf" <<CONF
[Tailnet]
ControlURL = https://$CTL_IP
AuthKey = file:$WORK/authkey
Hostname = n1
CAFile = $WORK/ca.pem

[Socks5]
BindAddress = 127.0.0.1:1080
CONF
cat > "$WORK/n2.conf" <<CONF
[Tailnet]
ControlURL = https://$CTL_IP:443/
AuthKey = $AUTHKEY
Hostname = n2
CAFile = $WORK/ca.pem

[TCPServerTunnel]
ListenPort = 8080
Target = 127.0.0.1:8080

[TCPServerTunnel]
ListenPort = 8081
Target = 127.0.0.1:8081
CONF
umask "$old_umask"
for node in n1 n2; do
    "$TUNLESS_BIN" up --check -c "$WORK/$node.conf" >"$WORK/check-$node.out" 2>&1 \
        || fail "1. tunless up --check rejected $node's [Tailnet] config: $(cat "$WORK/check-$node.out")"
done

declare -A TL
for node in n1 n2; do
    mkdir -p -m 0700 "$WORK/state-$node"
    spawn "$node" "$WORK/tunless-$node.log" "$TUNLESS_BIN" up -v -c "$WORK/$node.conf" \
        --state-dir "$WORK/state-$node" --name "${NS_PREFIX}$node"
    TL[$node]=$LAST_PID
done

status() { n "$1" "$TUNLESS_BIN" status --json --name "${NS_PREFIX}$1" 2>/dev/null; }
st() { local node=$1; shift; status "$node" | "$PY" "$HELPER" "$@" 2>/dev/null; }
alive() { kill -0 "${TL[$1]}" 2>/dev/null || fail "$2: tunless on $1 exited (see tunless-$1.log)"; }
WATCH="n1 n2"  # the tunless processes wait_for watches
# wait_for STEP TIMEOUT_S cmd...: like wait_until, but fails at once when a watched tunless exits.
wait_for() {
    local step=$1 t=$2 node; shift 2
    local deadline=$(( $(date +%s%N) + t * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        for node in $WATCH; do alive "$node" "$step"; done
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
is_running() { [ "$(st "$1" tn state)" = running ]; }
for node in n1 n2; do
    wait_for "1. registration" 30 is_running "$node" \
        || fail "1. registration: $node not running after 30 s (tailnet.state '$(st "$node" tn state)', detail '$(st "$node" tn detail)'; status: $(status "$node" | head -c 400))"
    addr=$(st "$node" addr4)
    [[ "$addr" =~ ^100\.64\.[0-9]+\.[0-9]+$ ]] || fail "1. registration: $node's tailnet IPv4 is '$addr', want 100.64.x.y"
    name=$(st "$node" tn node_name)
    [ "${name%%.*}" = "$node" ] || fail "1. registration: $node's node_name is '$name'"
    echo "  $node: running as $name $addr"
done
sees() { [ "$(st "$1" peer "$2" online)" = true ]; }
wait_for "1. peers" 15 sees n1 n2 || fail "1. peers: n1 does not list n2 online (status: $(status n1 | head -c 600))"
wait_for "1. peers" 15 sees n2 n1 || fail "1. peers: n2 does not list n1 online (status: $(status n2 | head -c 600))"
n2_fqdn=$(st n1 peer n2 name)
[ "$n2_fqdn" = "n2.$DOMAIN." ] || fail "1. peers: n1 calls n2 '$n2_fqdn', want n2.$DOMAIN."
n2_ip=$(st n1 peer n2 addresses | tr ',' '\n' | grep -m1 '^100\.' | cut -d/ -f1)
[ "$n2_ip" = "$(st n2 addr4)" ] || fail "1. peers: n1 has n2 at '$n2_ip', n2 says $(st n2 addr4)"

# The WireGuard key in each node's status is the node key the server registered.
nodes=$(admin GET nodes) || fail "1. admin GET /admin/nodes failed"
declare -A PUB
for node in n1 n2; do
    PUB[$node]=$(status "$node" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
    nk=$(echo "$nodes" | "$PY" "$HELPER" node "$node" node_key) || fail "1. the server has no node $node"
    [ "$("$PY" "$HELPER" nodekey-b64 "$nk")" = "${PUB[$node]}" ] \
        || fail "1. $node's WireGuard key ${PUB[$node]} is not its registered node key $nk"
done
st n1 wg-peer "${PUB[n2]}" >/dev/null || fail "1. n2 is not a WireGuard peer of n1 (status peers: $(status n1 | head -c 600))"
st n2 wg-peer "${PUB[n1]}" >/dev/null || fail "1. n1 is not a WireGuard peer of n2"
pretty "1. both registered, each lists the other (tailnet and WireGuard peers): ok"

# ---------------------------------------------------------------------------------------------
pretty "2. n1 fetches a file from n2's forward through SOCKS5, relayed by DERP"
mkdir -p "$WORK/www8080" "$WORK/www8081"
BLOB_SIZE=300000
head -c $BLOB_SIZE /dev/urandom > "$WORK/www8080/blob"
blob_sha=$(sha256sum < "$WORK/www8080/blob" | cut -d' ' -f1)
echo "port 8081 on n2" > "$WORK/www8081/id"
bg n2 "$WORK/http8080.log" "$PY" -m http.server 8080 --bind 127.0.0.1 --directory "$WORK/www8080" >/dev/null
bg n2 "$WORK/http8081.log" "$PY" -m http.server 8081 --bind 127.0.0.1 --directory "$WORK/www8081" >/dev/null
for p in 8080 8081; do
    wait_until 5 n n2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" || fail "2. n2's HTTP server on :$p did not start"
done
wait_until 5 n n1 bash -c "exec 3<>/dev/tcp/127.0.0.1/1080" || fail "2. n1's SOCKS5 listener is not up"

derp_frames() { admin GET derp-stats | "$PY" "$HELPER" derp-frames; }
read -r sent0 recv0 <<<"$(derp_frames)"
[[ "$sent0 $recv0" =~ ^[0-9]+\ [0-9]+$ ]] || fail "2. admin GET /admin/derp-stats failed"
fetch() {  # fetch HOST PORT PATH OUT [curl args]
    local host=$1 port=$2 path=$3 out=$4; shift 4
    n n1 curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 "$@" -o "$out" "http://$host:$port$path"
}
for host in n2 "n2.$DOMAIN" "$n2_ip"; do
    rm -f "$WORK/got"
    fetch "$host" 8080 /blob "$WORK/got" || fail "2. curl --socks5-hostname http://$host:8080/blob from n1 failed"
    [ "$(sha256sum < "$WORK/got" | cut -d' ' -f1)" = "$blob_sha" ] || fail "2. http://$host:8080/blob: SHA-256 differs"
    echo "  http://$host:8080/blob: $BLOB_SIZE bytes, SHA-256 ok"
done
fetch n2 8081 /id "$WORK/got" || fail "2. http://n2:8081/id (second forward, before any policy) failed"
[ "$(cat "$WORK/got")" = "port 8081 on n2" ] || fail "2. http://n2:8081/id: unexpected body"
read -r sent1 recv1 <<<"$(derp_frames)"
# Three copies of the blob crossed n2 -> n1 in packets of at most ~1500 bytes: at least that
# many frames in the server's counters (SendPacket from clients, RecvPacket to clients).
min=$(( 3 * BLOB_SIZE / 1500 ))
if [ $((recv1 - recv0)) -lt "$min" ] || [ $((sent1 - sent0)) -lt "$min" ]; then
    fail "2. DERP relayed too little: SendPacket +$((sent1 - sent0)), RecvPacket +$((recv1 - recv0)), want >= $min"
fi
path=$(st n1 peer n2 path)
[ "$path" = "derp:999" ] || fail "2. n1's path to n2 is '$path', want derp:999 (UDP between them is dropped)"
ep=$(st n1 wg-peer "${PUB[n2]}")
# wg(8)'s UAPI has no way to write a relay path (endpoint= is ip:port), so the WireGuard view
# shows no endpoint; a UDP address there would mean the peer was reached directly.
[ "$ep" = "None" ] || fail "2. n1's WireGuard peer n2 has UDP endpoint '$ep', want none (DERP only)"
pretty "2. SOCKS5 by MagicDNS name, FQDN and 100.x IP, SHA-256 equal; DERP frames +$((sent1 - sent0))/+$((recv1 - recv0)), path $path: ok"

# Losing control must not touch the data path: the map stream of n1 is cut by the server, a
# transfer through DERP still completes, and n1 reconnects (backoff) to "running" by itself.
n1_id=$(echo "$nodes" | "$PY" "$HELPER" node n1 id)
admin POST drop-control-client "{\"node_id\": $n1_id}" >/dev/null || fail "2. admin POST /admin/drop-control-client failed"
rm -f "$WORK/got"
fetch n2 8080 /blob "$WORK/got" || fail "2. a transfer right after n1 lost its control connection failed"
[ "$(sha256sum < "$WORK/got" | cut -d' ' -f1)" = "$blob_sha" ] || fail "2. transfer after the control drop: SHA-256 differs"
wait_for "2. control loss" 10 grep -q 'tailnet: backoff' "$WORK/tunless-n1.log" \
    || fail "2. n1's log does not show the lost control connection (a silent drop?)"
wait_for "2. control reconnect" 20 is_running n1 || fail "2. n1 not running again 20 s after losing control"
pretty "2. control connection cut: DERP traffic unaffected (SHA-256 ok), n1 reconnected to running: ok"

# ---------------------------------------------------------------------------------------------
pretty "3. policy: only port 8080, only from n1"
n1_addrs=$(echo "$nodes" | "$PY" "$HELPER" node n1 addresses)
srcs=$(echo "$n1_addrs" | sed 's/[^,]*/"&"/g')
policy="{\"rules\": [{\"SrcIPs\": [$srcs], \"DstPorts\": [{\"IP\": \"*\", \"Ports\": {\"First\": 8080, \"Last\": 8080}}]}]}"
admin PUT policy "$policy" >"$WORK/policy.out" || fail "3. admin PUT /admin/policy failed"
grep -q '"First": 8080' "$WORK/policy.out" || fail "3. the fake did not take the policy: $(cat "$WORK/policy.out")"
sleep 1  # the fake pushes PacketFilters on the open map streams at once
fetch n2 8080 /blob "$WORK/got" || fail "3. http://n2:8080/blob failed under a policy that allows it"
[ "$(sha256sum < "$WORK/got" | cut -d' ' -f1)" = "$blob_sha" ] || fail "3. http://n2:8080/blob: SHA-256 differs"
t0=$(date +%s%N)
fetch n2 8081 /id "$WORK/got" --max-time 5 2>/dev/null && fail "3. http://n2:8081/id still answered under a policy that allows only 8080"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -le 7000 ] || fail "3. the refused connection took $ms ms"
pretty "3. 8081 refused by n2's packet filter (curl gave up after $ms ms), 8080 still works: ok"

# ---------------------------------------------------------------------------------------------
pretty "3b. n2's node key expires on the server (KeyExpiry in the past, as headscale sends it)"
n2_id=$(echo "$nodes" | "$PY" "$HELPER" node n2 id)
admin POST "nodes/$n2_id/expire" >/dev/null || fail "3b. admin POST /admin/nodes/$n2_id/expire failed"
# n2 may be back within a second (it re-registers at once), so the removal is read from the log.
wait_for "3b. expiry" 10 grep -q 'peer n2.*node key expired, removed' "$WORK/tunless-n1.log" \
    || fail "3b. n1 did not drop n2's WireGuard peer within 10 s of its key expiring"
# n2 sees its own expiry, registers again with its auth key and is a peer again.
wait_for "3b. re-registration" 10 grep -q 'our node key expired' "$WORK/tunless-n2.log" \
    || fail "3b. n2 did not notice that its own node key expired"
back() { fetch n2 8080 /blob "$WORK/got" --max-time 3 2>/dev/null; }
wait_for "3b. back" 30 back || fail "3b. n2 not reachable again 30 s after re-registering"
[ "$(sha256sum < "$WORK/got" | cut -d' ' -f1)" = "$blob_sha" ] || fail "3b. SHA-256 differs after re-registration"
PUB[n2]=$(status n2 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
pretty "3b. n1 dropped the expired peer; n2 noticed, registered again and is reachable: ok"

# ---------------------------------------------------------------------------------------------
pretty "4. n2 deleted on the server"
WATCH=n1  # n2's own reaction is checked below, after n1's
admin DELETE "nodes/$n2_id" >/dev/null || fail "4. admin DELETE /admin/nodes/$n2_id failed"
gone_tailnet() { status n1 >/dev/null && ! st n1 peer n2 name; }
gone_wg() { status n1 >/dev/null && ! st n1 wg-peer "${PUB[n2]}"; }
wait_for "4. removal" 5 gone_tailnet || fail "4. n1 still lists n2 as a tailnet peer 5 s after its deletion"
wait_for "4. removal" 5 gone_wg || fail "4. n1 still has n2's WireGuard peer 5 s after its deletion"
[ "$(st n1 tn state)" = running ] || fail "4. n1 left state running after a peer's deletion: $(st n1 tn state)"
fetch n2 8080 /blob "$WORK/got" --max-time 5 2>/dev/null && fail "4. http://n2:8080 still reachable after n2's deletion"
# Like tailscaled, the deleted node stays up and waits for a new login; it must not crash.
alive n2 "4. removal (n2 itself: a deleted node keeps running, not logged in)"
echo "  n2 after its deletion: state '$(st n2 tn state)', detail '$(st n2 tn detail)'"
pretty "4. n1 dropped n2 from its tailnet and WireGuard peers, the name no longer resolves: ok"

# ---------------------------------------------------------------------------------------------
pretty "5. shutdown and cleanup"
for node in n1 n2; do
    pid=${TL[$node]}
    kill -TERM "$pid"
    wait_until 5 bash -c "! kill -0 $pid" || fail "5. tunless on $node did not exit on SIGTERM"
    wait "$pid"; rc=$?
    [ "$rc" -eq 0 ] || fail "5. tunless on $node exited with $rc on SIGTERM"
done
for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
kill -0 "$fakehs" 2>/dev/null && fail "5. the fake headscale is still running"
for node in ctl n1 n2; do
    left=$(ip netns pids "$(ns "$node")")
    [ -z "$left" ] || fail "5. processes left in namespace $node: $left"
done
pretty "5. both nodes exited 0 on SIGTERM, no process left in the namespaces: ok"
echo "  elapsed: $(( $(date +%s) - T_START )) s"
echo "PASS"
