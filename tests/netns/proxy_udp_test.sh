#!/usr/bin/env bash
# UDP services and DNS over the mesh, tunless against an unmodified wireguard-go peer.
#
#   ┌──────────────── ns "peer" ─────────────────────┐      ┌──────── ns "node" ───────────────┐
#   │ wireguard-go wg0 10.79.0.1/24                  │      │ tunless 10.79.0.2 (lwIP inside)  │
#   │  UDP echo 10.79.0.1:7   DNS 10.79.0.1:53       │      │  UDPProxyTunnel 127.0.0.1:5353   │
#   │  HTTP 10.79.0.1:8080                           │      │  UDPServerTunnel mesh:5000 ->    │
#   │                                                │      │    localhost:5001 (UDP echo)     │
#   │                                                │      │  SOCKS5 127.0.0.1:1080, DNS=     │
#   │ veth-peer 192.168.79.1 ────────────────────────┼─veth─┼── veth-node 192.168.79.2         │
#   └────────────────────────────────────────────────┘      └──────────────────────────────────┘
#
# Shows: (a) local UDP -> mesh forward with echoes; (b) mesh -> local UDP forward; (c) SOCKS5
# UDP ASSOCIATE round trip (IP and domain targets, FRAG != 0 dropped); (d) names resolve over
# the mesh: curl --socks5-hostname to a name only the peer's DNS server knows, and the DNS
# server saw the query from the mesh address; (e) more flows than MaxConnections evict the
# oldest, and the status counters show it; (f) SIGHUP adds, removes and reopens UDP forwards.
TEST_NAME=proxy_udp
source "$(dirname "$0")/lib.sh"
require_netns
require_wireguard_go
command -v python3 >/dev/null || skip "python3 is needed for the UDP/DNS/HTTP helpers"
command -v curl >/dev/null || skip "curl is needed for the SOCKS5 CONNECT check"
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL="python3 $HERE/udp_test_tool.py"

new_ns peer
new_ns node
veth peer 192.168.79.1/24 node 192.168.79.2/24

genkey "$WORK/peer.key"; genkey "$WORK/node.key"
peer_pub=$(wg pubkey < "$WORK/peer.key")
node_pub=$(wg pubkey < "$WORK/node.key")

cat > "$WORK/node.conf" <<CONF
[Interface]
PrivateKey = $(cat "$WORK/node.key")
Address = 10.79.0.2/24
ListenPort = 51820
DNS = 10.79.0.1

[Peer]
PublicKey = $peer_pub
AllowedIPs = 10.79.0.0/24
Endpoint = 192.168.79.1:51820
PersistentKeepalive = 25

[Socks5]
BindAddress = 127.0.0.1:1080

[UDPProxyTunnel]
BindAddress = 127.0.0.1:5353
Target = 10.79.0.1:7
MaxConnections = 4
InactivityTimeout = 60

[UDPServerTunnel]
ListenPort = 5000
Target = localhost:5001
CONF
"$TUNLESS_BIN" up --check -c "$WORK/node.conf" >/dev/null || fail "tunless up --check rejected the config"

pretty "start wireguard-go peer and its services"
wggo=$(wireguard_go peer "${NS_PREFIX}wg0" "$WORK/peer.key" 51820 10.79.0.1/24)
PIDS+=("$wggo")  # started inside a command substitution: record it here for cleanup
n peer wg set "${NS_PREFIX}wg0" peer "$node_pub" allowed-ips 10.79.0.2/32
bg peer "$WORK/peer-echo.log" $TOOL echo 10.79.0.1 7 >/dev/null
bg peer "$WORK/peer-dns.log" python3 "$HERE/dns_test_server.py" 10.79.0.1 53 svc.mesh.test=10.79.0.1 >/dev/null
mkdir -p "$WORK/www" && echo "hello over the mesh" > "$WORK/www/hello.txt"
bg peer "$WORK/peer-http.log" python3 -m http.server 8080 --bind 10.79.0.1 --directory "$WORK/www" >/dev/null
bg node "$WORK/node-echo.log" $TOOL echo 127.0.0.1 5001 >/dev/null

pretty "start tunless"
spawn node "$WORK/tunless.log" "$TUNLESS_BIN" up -v -c "$WORK/node.conf" --name "${NS_PREFIX}tl" --name "${NS_PREFIX}tl"
tl=$LAST_PID
wait_until 10 n peer ping -c 1 -W 1 10.79.0.2 || fail "no session with tunless"
wait_until 5 n peer bash -c "exec 3<>/dev/tcp/10.79.0.1/8080" || fail "peer HTTP server did not start"

# (a) Local UDP -> mesh: datagrams to 127.0.0.1:5353 reach the peer's echo and come back.
n node $TOOL ping 127.0.0.1 5353 5 || fail "UDPProxyTunnel: echoes did not come back"
pretty "(a) UDPProxyTunnel 127.0.0.1:5353 -> 10.79.0.1:7: ok"

# (b) Mesh -> local UDP: the peer sends to the node's mesh port 5000, the echo in the node's
# namespace answers through the tunnel. The target is "localhost": host-side targets use the
# system resolver even with DNS= set (the mesh DNS server does not know that name).
n peer $TOOL ping 10.79.0.2 5000 5 || fail "UDPServerTunnel: echoes did not come back"
pretty "(b) UDPServerTunnel mesh:5000 -> localhost:5001: ok"

# (c) SOCKS5 UDP ASSOCIATE to an IP literal and to a name resolved over the mesh.
n node $TOOL socks5 127.0.0.1 1080 10.79.0.1 7 3 || fail "SOCKS5 UDP ASSOCIATE (IP target) failed"
n node $TOOL socks5 127.0.0.1 1080 svc.mesh.test 7 2 || fail "SOCKS5 UDP ASSOCIATE (domain target) failed"
pretty "(c) SOCKS5 UDP ASSOCIATE round trips, fragment dropped: ok"

# (d) SOCKS5 CONNECT with a domain name: only the peer's DNS server knows svc.mesh.test, and
# its query log shows the question arrived from tunless's mesh address.
body=$(n node curl -sS --max-time 10 --socks5-hostname 127.0.0.1:1080 http://svc.mesh.test:8080/hello.txt) \
    || fail "curl through SOCKS5 with a mesh-resolved name failed"
[ "$body" = "hello over the mesh" ] || fail "unexpected body: $body"
grep -q "^query 10.79.0.2 svc.mesh.test 1" "$WORK/peer-dns.log" || fail "the DNS server did not see an A query from the mesh address"
n node curl -sS --max-time 10 --socks5-hostname 127.0.0.1:1080 http://nx.mesh.test:8080/ >/dev/null 2>&1 \
    && fail "a name the DNS server does not know was reachable"
pretty "(d) names resolve over the mesh (SOCKS5 CONNECT by name): ok"

# (e) Six flows through a MaxConnections = 4 forward: the first two are evicted. (a) used one
# flow already, so 7 flows were created, 3 evicted.
n node $TOOL ping 127.0.0.1 5353 0 6 || fail "UDPProxyTunnel: echoes of the extra flows did not come back"
kill -USR1 "$tl"
status_line() { grep 'UDPProxyTunnel 127.0.0.1:5353' "$WORK/tunless.log" | grep 'flows active' | tail -n 1; }
wait_until 3 bash -c "grep -q 'UDPProxyTunnel 127.0.0.1:5353.*flows active' '$WORK/tunless.log'" || fail "no UDP status line on SIGUSR1"
line=$(status_line)
echo "  $line"
echo "$line" | grep -q "flows active=4 total=7 evicted=3" || fail "flow table bound not visible in the counters"
dns_line=$(grep ' dns: mesh' "$WORK/tunless.log" | tail -n 1)
echo "  $dns_line"
echo "$dns_line" | grep -Eq "queries=[1-9]" || fail "DNS counters show no mesh queries"
# The same counters through the control socket (get=tunless).
st=$(n node "$TUNLESS_BIN" status --name "${NS_PREFIX}tl" --json) || fail "tunless status failed"
echo "$st" | grep -Eq '"udp_proxy\.0\.flows_evicted": *"?3' || fail "get=tunless lacks udp_proxy.0.flows_evicted=3: $st"
echo "$st" | grep -Eq '"dns\.queries": *"?[1-9]' || fail "get=tunless lacks dns.queries"
pretty "(e) flow table bounded by MaxConnections, LRU evicted and counted: ok"

# (f) SIGHUP: [UDPServerTunnel] 5000 removed and 5002 added (same target), [UDPProxyTunnel]
# 5353 changed (InactivityTimeout): it is reopened on the same address and forwards again.
python3 - "$WORK/node.conf" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
assert s.count("ListenPort = 5000") == 1 and s.count("InactivityTimeout = 60") == 1
open(p, "w").write(s.replace("ListenPort = 5000", "ListenPort = 5002").replace("InactivityTimeout = 60", "InactivityTimeout = 120"))
PY
kill -HUP "$tl"
wait_until 5 grep -q "reload: done" "$WORK/tunless.log" || fail "reload did not finish"
grep -q "reload: proxies and forwards: 1 removed, 1 changed, 1 added" "$WORK/tunless.log" || fail "unexpected reload summary: $(grep 'proxies and forwards' "$WORK/tunless.log")"
n peer $TOOL ping 10.79.0.2 5002 3 || fail "UDPServerTunnel 5002 added by the reload: no echoes"
n peer $TOOL ping 10.79.0.2 5000 1 >/dev/null 2>&1 && fail "UDPServerTunnel 5000 still answers after its removal"
n node $TOOL ping 127.0.0.1 5353 3 || fail "UDPProxyTunnel 5353 after its reload: no echoes"
pretty "(f) reload: UDP forward added, removed and changed (reopened on the same address): ok"

kill -TERM "$tl"
wait_until 5 bash -c "! kill -0 $tl" || fail "tunless did not exit on SIGTERM"
wait "$tl"; rc=$?
[ "$rc" -eq 0 ] || fail "tunless exited with $rc on SIGTERM"
pretty "clean shutdown: ok"
echo "PASS"
