#!/usr/bin/env bash
# The stock wg(8) tool drives tunless through its UAPI control socket, like wireguard-go.
#
#   ┌──────────────────── ns "peer" ───────────────────┐      ┌──────── ns "node" ────────┐
#   │ wireguard-go A  10.80.0.1/24  (configured peer)  │      │ tunless 10.80.0.2         │
#   │ wireguard-go B  10.80.0.3/24  (added by wg set)  │      │ /var/run/wireguard/N.sock │
#   │ veth-peer 192.168.80.1/24 ───────────────────────┼─veth─┼── veth-node 192.168.80.2  │
#   └──────────────────────────────────────────────────┘      └───────────────────────────┘
#
# Shows: wg show/showconf/set/setconf against tunless (peers added and removed at runtime,
# private key and listen port changed live), SIGHUP reload (added peer; a broken file keeps
# the running config and names file:line), `tunless status` text and JSON, socket mode 0600,
# pidfile, a second daemon refused on a live socket, --daemonize, and removing the socket
# file stopping the daemon with exit 0.
TEST_NAME=wg_tool
source "$(dirname "$0")/lib.sh"
require_netns
require_wireguard_go
command -v python3 >/dev/null || skip "python3 is needed to validate the JSON output"

new_ns peer
new_ns node
veth peer 192.168.80.1/24 node 192.168.80.2/24

NAME="${NS_PREFIX}tl"
SOCK="/var/run/wireguard/$NAME.sock"
A="${NS_PREFIX}a"
B="${NS_PREFIX}b"
for k in a b node node2 c; do genkey "$WORK/$k.key"; done
a_pub=$(wg pubkey < "$WORK/a.key")
b_pub=$(wg pubkey < "$WORK/b.key")
c_pub=$(wg pubkey < "$WORK/c.key")
node_pub=$(wg pubkey < "$WORK/node.key")
node2_pub=$(wg pubkey < "$WORK/node2.key")

write_conf() {  # write_conf KEYFILE PORT [extra peer sections...]
    local key=$1 port=$2; shift 2
    {
        printf '[Interface]\nPrivateKey = %s\nAddress = 10.80.0.2/24\nListenPort = %s\n\n' "$(cat "$key")" "$port"
        printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.80.0.1/32\nEndpoint = 192.168.80.1:51820\nPersistentKeepalive = 25\n' "$a_pub"
        for extra in "$@"; do printf '\n%s\n' "$extra"; done
    } > "$WORK/node.conf"
    chmod 600 "$WORK/node.conf"
}
write_conf "$WORK/node.key" 51820

wga=$(wireguard_go peer "$A" "$WORK/a.key" 51820 10.80.0.1/24)
n peer wg set "$A" peer "$node_pub" allowed-ips 10.80.0.2/32 endpoint 192.168.80.2:51820
wgb=$(wireguard_go peer "$B" "$WORK/b.key" 51821 10.80.0.3/24)
n peer wg set "$B" peer "$node_pub" allowed-ips 10.80.0.2/32

pretty "start tunless with --name $NAME --pidfile"
spawn node "$WORK/tunless.log" "$TUNLESS_BIN" up -v -c "$WORK/node.conf" --name "$NAME" --pidfile "$WORK/tunless.pid"
tl=$LAST_PID
wait_until 10 test -S "$SOCK" || fail "control socket $SOCK did not appear"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is $(stat -c %a "$SOCK"), want 600"
wait_until 5 test -s "$WORK/tunless.pid" || fail "no pidfile"
[ "$(cat "$WORK/tunless.pid")" = "$tl" ] || fail "pidfile holds $(cat "$WORK/tunless.pid"), tunless is $tl"
pretty "socket 0600 and pidfile: ok"

pretty "a second daemon with the same name is refused (live socket)"
write_conf "$WORK/node.key" 51820
sed 's/^ListenPort = .*/ListenPort = 0/' "$WORK/node.conf" > "$WORK/second.conf"
n node "$TUNLESS_BIN" up -c "$WORK/second.conf" --name "$NAME" >"$WORK/second.log" 2>&1 && fail "second daemon started"
grep -q "another process is listening" "$WORK/second.log" || fail "second daemon: unexpected message: $(cat "$WORK/second.log")"
test -S "$SOCK" || fail "the refused daemon removed the live socket"

ping_a() { n peer ping -I "$A" -c 1 -W 1 10.80.0.2 >/dev/null 2>&1; }
ping_b() { n peer ping -I "$B" -c 1 -W 1 10.80.0.2 >/dev/null 2>&1; }
field() { wg show "$NAME" "$1" | awk -v k="$2" '$1==k {print $2}'; }

wait_until 15 ping_a || fail "peer A cannot ping tunless"
hs=$(field latest-handshakes "$a_pub")
[ -n "$hs" ] && [ "$hs" != 0 ] || fail "wg show: no handshake for A ($(wg show "$NAME" 2>&1))"
rx=$(wg show "$NAME" transfer | awk -v k="$a_pub" '$1==k {print $2}')
[ "${rx:-0}" -gt 0 ] || fail "wg show: no transfer for A"
wg show "$NAME" | grep -q "latest handshake:" || fail "wg show lacks 'latest handshake'"
[ "$(wg show "$NAME" public-key)" = "$node_pub" ] || fail "wg show public-key mismatch"
[ "$(wg show "$NAME" listen-port)" = 51820 ] || fail "wg show listen-port mismatch"
wg show all dump | grep -q "^$NAME" || fail "wg show all does not list $NAME"
pretty "wg show: peer A with handshake and transfer: ok"

pretty "wg set: add peer B at runtime (persistent keepalive contacts it at once)"
ping_b && fail "B could ping before it was added"
wg set "$NAME" peer "$b_pub" allowed-ips 10.80.0.3/32 endpoint 192.168.80.1:51821 persistent-keepalive 5 || fail "wg set add peer failed"
bhs() { local t; t=$(n peer wg show "$B" latest-handshakes | awk '{print $2}'); [ -n "$t" ] && [ "$t" != 0 ]; }
wait_until 10 bhs || fail "tunless did not contact B after persistent-keepalive was set"
wait_until 10 ping_b || fail "B cannot ping tunless after wg set"
[ "$(field persistent-keepalive "$b_pub")" = 5 ] || fail "keepalive of B not 5"
[ "$(field allowed-ips "$b_pub")" = 10.80.0.3/32 ] || fail "allowed ips of B: $(field allowed-ips "$b_pub")"
pretty "peer B added and pinging: ok"

pretty "wg set: remove peer B"
wg set "$NAME" peer "$b_pub" remove || fail "wg set remove failed"
wg show "$NAME" peers | grep -q "$b_pub" && fail "B still listed after remove"
ping_b && fail "B can still ping after removal"
ping_a || fail "A lost connectivity when B was removed"
pretty "peer B removed: ok"

pretty "wg set: listen-port"
wg set "$NAME" listen-port 51830 || fail "wg set listen-port failed"
[ "$(wg show "$NAME" listen-port)" = 51830 ] || fail "listen-port not 51830"
n node ss -Hlun | grep -q ':51830 ' || fail "nothing bound on UDP 51830"
n node ss -Hlun | grep -q ':51820 ' && fail "old port 51820 still bound"
n peer wg set "$A" peer "$node_pub" endpoint 192.168.80.2:51830
wait_until 10 ping_a || fail "A cannot ping tunless on the new port"
n peer python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.168.80.2",0))' 2>/dev/null
wg set "$NAME" listen-port 51830 || fail "setting the same port again failed"
pretty "listen port moved to 51830: ok"

pretty "wg set: private-key"
wg set "$NAME" private-key "$WORK/node2.key" || fail "wg set private-key failed"
[ "$(wg show "$NAME" public-key)" = "$node2_pub" ] || fail "public key did not change"
sleep 0.5
ping_a_fails() { ! n peer ping -I "$A" -c 2 -i 0.3 -W 1 10.80.0.2 >/dev/null 2>&1; }
ping_a_fails || fail "A still pings with the old node key configured"
n peer wg set "$A" peer "$node_pub" remove
n peer wg set "$A" peer "$node2_pub" allowed-ips 10.80.0.2/32 endpoint 192.168.80.2:51830
wait_until 15 ping_a || fail "A cannot ping after switching to the new node key"
pretty "private key changed; A fails with the old key, works with the new: ok"

pretty "wg showconf | wg setconf round trip"
wg showconf "$NAME" > "$WORK/showconf.conf" || fail "wg showconf failed"
grep -q "^PrivateKey = $(cat "$WORK/node2.key")" "$WORK/showconf.conf" || fail "showconf lacks the private key"
grep -q "^ListenPort = 51830" "$WORK/showconf.conf" || fail "showconf lacks ListenPort"
grep -q "^PublicKey = $a_pub" "$WORK/showconf.conf" || fail "showconf lacks peer A"
wg setconf "$NAME" "$WORK/showconf.conf" || fail "wg setconf of showconf output failed"
wg showconf "$NAME" > "$WORK/showconf2.conf"
diff "$WORK/showconf.conf" "$WORK/showconf2.conf" >/dev/null || fail "showconf differs after setconf: $(diff "$WORK/showconf.conf" "$WORK/showconf2.conf")"
wait_until 15 ping_a || fail "A cannot ping after setconf"
pretty "showconf/setconf round trip: ok"

pretty "bad UAPI input gets an errno, never a crash"
errno_of() { python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode())
data = b""
while not data.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(data.decode().strip().split("\n")[-1] if data else "closed")
PY
}
[ "$(errno_of 'set=1\nlisten_port=99999\n\n')" = "errno=-22" ] || fail "bad listen_port not EINVAL"
[ "$(errno_of 'set=1\nbogus\n\n')" = "errno=-71" ] || fail "line without = not EPROTO"
[ "$(errno_of 'set=1\npublic_key=zz\n\n')" = "errno=-22" ] || fail "bad public key not EINVAL"
[ "$(errno_of 'set=1\nfwmark=7\n\n')" = "errno=-95" ] || fail "fwmark not EOPNOTSUPP"
[ "$(errno_of 'get=1\nx')" = "errno=-22" ] || fail "trailing get not EINVAL"
[ "$(errno_of 'bogus=1\n\n')" = "closed" ] || fail "unknown op not closed"
python3 - "$SOCK" <<'PY' || fail "oversized line not rejected"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
s.sendall(b"set=1\nprivate_key=" + b"a" * 5000 + b"\n\n")
assert s.recv(100).startswith(b"errno=-22"), "no errno reply"
PY
kill -0 "$tl" || fail "tunless died on bad UAPI input"
pretty "errno replies: ok"

pretty "idle, half-sent and unread clients do not block the daemon"
python3 - "$SOCK" "$NAME" <<'PY' || fail "the daemon was blocked by other clients"
import socket, subprocess, sys
held = []
for i in range(6):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
held[0].sendall(b"set=1\nlisten_port=51830\n")          # never finished
for s in held[1:3]:
    s.sendall(b"get=1\n\n" * 200)                      # replies never read
out = subprocess.run(["wg", "show", sys.argv[2], "listen-port"], capture_output=True, timeout=5)
assert out.stdout.strip() == b"51830", out
PY
pretty "concurrent clients: ok"

pretty "set semantics: own key ignored, update_only, remove of an unknown peer, replace_allowed_ips"
python3 - "$SOCK" "$node2_pub" "$c_pub" "$a_pub" <<'PY' || fail "UAPI set semantics differ from wireguard-go"
import base64, socket, sys
sock, own, unknown, a = sys.argv[1], *[base64.b64decode(k).hex() for k in sys.argv[2:5]]
def talk(req):
    s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sock); s.sendall(req.encode())
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    return data.decode()
def peers():
    return [l.split("=", 1)[1] for l in talk("get=1\n\n").splitlines() if l.startswith("public_key=")]
def allowed(peer):
    out, cur = [], None
    for l in talk("get=1\n\n").splitlines():
        k, _, v = l.partition("=")
        if k == "public_key": cur = v
        elif k == "allowed_ip" and cur == peer: out.append(v)
    return sorted(out)
assert talk(f"set=1\npublic_key={own}\nallowed_ip=10.80.0.50/32\n\n") == "errno=0\n\n"
assert own not in peers(), "a peer with our own key was created"
assert talk(f"set=1\npublic_key={unknown}\nupdate_only=true\nallowed_ip=10.80.0.51/32\n\n") == "errno=0\n\n"
assert unknown not in peers(), "update_only created a peer"
assert talk(f"set=1\npublic_key={unknown}\nremove=true\n\n") == "errno=0\n\n"
before = allowed(a)
assert talk(f"set=1\npublic_key={a}\nupdate_only=true\nallowed_ip=10.80.0.77/32\n\n") == "errno=0\n\n"
assert allowed(a) == sorted(before + ["10.80.0.77/32"]), allowed(a)
assert talk(f"set=1\npublic_key={a}\nreplace_allowed_ips=true\nallowed_ip=10.80.0.1/32\n\n") == "errno=0\n\n"
assert allowed(a) == ["10.80.0.1/32"], allowed(a)
PY
ping_a || fail "A lost connectivity after the set-semantics checks"
pretty "set semantics: ok"

pretty "SIGHUP reload: added peer, then a broken file"
write_conf "$WORK/node2.key" 51830 "$(printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.80.0.9/32' "$c_pub")"
hs_before=$(field latest-handshakes "$a_pub")
kill -HUP "$tl"
has_c() { wg show "$NAME" peers | grep -q "$c_pub"; }
wait_until 5 has_c || fail "reload did not add peer C"
ping_a || fail "A lost its session on reload"
[ "$(field latest-handshakes "$a_pub")" = "$hs_before" ] || fail "reload renegotiated the unchanged peer A"
[ "$(wg show "$NAME" public-key)" = "$node2_pub" ] || fail "reload changed the key"
printf '\n[Peer]\nPublicKey = not-a-key\n' >> "$WORK/node.conf"
line=$(grep -n 'not-a-key' "$WORK/node.conf" | cut -d: -f1)
kill -HUP "$tl"
wait_until 5 grep -q "node.conf:$line:" "$WORK/tunless.log" || fail "broken reload did not log file:line ($line)"
grep -q "running configuration stays in effect" "$WORK/tunless.log" || fail "broken reload message missing"
has_c || fail "broken reload dropped peer C"
ping_a || fail "A lost connectivity after a broken reload"
write_conf "$WORK/node2.key" 51831 "$(printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.80.0.9/32' "$c_pub")"
kill -HUP "$tl"
port_is() { [ "$(wg show "$NAME" listen-port)" = "$1" ]; }
wait_until 5 port_is 51831 || fail "reload did not move the listen port to 51831"
# A new listener section is applied by the reload (docs/operations.md#reload-sighup).
cp "$WORK/node.conf" "$WORK/node.conf.keep"
printf '\n[Socks5]\nBindAddress = 127.0.0.1:10801\n' >> "$WORK/node.conf"
kill -HUP "$tl"
has_10801() { n node ss -Hltn | grep -q ':10801 '; }
wait_until 5 has_10801 || fail "a new [Socks5] section was not applied by the reload"
mv "$WORK/node.conf.keep" "$WORK/node.conf"
pretty "reload: ok"

pretty "tunless status (text and JSON)"
n node "$TUNLESS_BIN" status --name "$NAME" > "$WORK/status.txt" || fail "tunless status failed"
grep -q "interface: $NAME" "$WORK/status.txt" || fail "status: no interface line"
grep -q "peer: $a_pub" "$WORK/status.txt" || fail "status: no peer A"
grep -Eq "latest handshake: .*(ago|now)" "$WORK/status.txt" || fail "status: no handshake age"
grep -q "drops:" "$WORK/status.txt" || fail "status: no drop counters"
# Without --name it probes every socket; other tunless nodes on this machine (concurrent
# tests) make it ask for --name instead, which must then list ours.
if ! "$TUNLESS_BIN" status > "$WORK/status2.txt" 2>&1; then
    grep -q "several tunless nodes are running:.* $NAME\b" "$WORK/status2.txt" ||
        fail "tunless status without --name: $(cat "$WORK/status2.txt")"
fi
"$TUNLESS_BIN" status --json --name "$NAME" > "$WORK/status.json" || fail "status --json failed"
python3 -m json.tool "$WORK/status.json" >/dev/null || fail "status --json is not valid JSON"
python3 - "$WORK/status.json" "$a_pub" "$node2_pub" <<'PY' || fail "status JSON content wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["public_key"] == sys.argv[3], d["public_key"]
assert d["listen_port"] == 51831
peer = [p for p in d["peers"] if p["public_key"] == sys.argv[2]][0]
assert peer["latest_handshake"] > 0 and peer["rx_bytes"] > 0
assert "drop.unknown_peer" in d["counters"]
PY
sed -n 1,12p "$WORK/status.txt" | sed 's/^/    /'
pretty "status: ok"

pretty "removing the control socket stops tunless with exit 0"
rm -f "$SOCK"
wait_until 5 bash -c "! kill -0 $tl" || fail "tunless did not stop after its socket was removed"
wait "$tl"; rc=$?
[ "$rc" -eq 0 ] || fail "tunless exited with $rc after socket removal"
[ -e "$WORK/tunless.pid" ] && fail "pidfile left behind"
pretty "socket removal: ok"

for k in node node2; do
    key=$(cat "$WORK/$k.key"); hex=$(echo "$key" | base64 -d | od -An -tx1 | tr -d ' \n')
    grep -qF -e "$key" -e "$hex" "$WORK/tunless.log" && fail "a private key appears in the log"
done
pretty "no private key in the log: ok"

pretty "--daemonize returns once the node is up"
cp "$WORK/node.conf" "$WORK/good.conf"
{ cat "$WORK/good.conf"; printf '\n[Peer]\nPublicKey = not-a-key\n'; } > "$WORK/broken.conf"
n node "$TUNLESS_BIN" up -c "$WORK/broken.conf" --name "$NAME" --daemonize --pidfile "$WORK/d.pid" \
    >"$WORK/daemon.log" 2>&1 && fail "--daemonize started with a broken config"
n node "$TUNLESS_BIN" up -c "$WORK/good.conf" --name "$NAME" --daemonize --pidfile "$WORK/d.pid" \
    >"$WORK/daemon.log" 2>&1 || fail "--daemonize failed: $(cat "$WORK/daemon.log")"
test -S "$SOCK" || fail "daemon returned before its socket was up"
dpid=$(cat "$WORK/d.pid"); PIDS+=("$dpid")
kill -0 "$dpid" || fail "daemon pid $dpid not running"
wg show "$NAME" peers | grep -q "$a_pub" || fail "daemonized node does not answer wg show"
# A failure after the fork reaches the foreground process through the readiness pipe.
sed 's/^ListenPort = .*/ListenPort = 0/' "$WORK/good.conf" > "$WORK/second.conf"
n node "$TUNLESS_BIN" up -c "$WORK/second.conf" --name "$NAME" --daemonize >"$WORK/daemon2.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "second --daemonize exited $rc, want 1"
grep -q "another process is listening" "$WORK/daemon2.log" || fail "second --daemonize: $(cat "$WORK/daemon2.log")"
kill -TERM "$dpid"
wait_until 5 bash -c "! kill -0 $dpid" || fail "daemon did not stop on SIGTERM"
[ -e "$WORK/d.pid" ] && fail "daemon left its pidfile"
[ -e "$SOCK" ] && fail "daemon left its socket"
pretty "daemonize: ok"

pretty "SysV init script: start, status, reload, stop"
INIT="$(dirname "$0")/../../tools/init/sysv/tunless"
initd() { n node env DEFAULTS=/nonexistent DAEMON="$(readlink -f "$TUNLESS_BIN")" CONFIG="$WORK/good.conf" \
    IFNAME="$NAME" PIDFILE="$WORK/init.pid" STATE_DIR="$WORK/state" sh "$INIT" "$@"; }
initd start >"$WORK/init.log" 2>&1 || fail "init start failed: $(cat "$WORK/init.log")"
ipid=$(cat "$WORK/init.pid"); PIDS+=("$ipid")
initd status >"$WORK/init-status.log" 2>&1 || fail "init status failed"
grep -q "interface: $NAME" "$WORK/init-status.log" || fail "init status did not show the interface"
initd start >/dev/null 2>&1 || fail "a second start is not idempotent"
[ "$(cat "$WORK/init.pid")" = "$ipid" ] || fail "second start replaced the daemon"
initd reload >/dev/null 2>&1 || fail "init reload failed"
state_written() { ls "$WORK/state" | grep -q .; }
wait_until 5 state_written || fail "the init script's state directory stayed empty (no timestamp floor)"
initd stop >/dev/null 2>&1 || fail "init stop failed"
kill -0 "$ipid" 2>/dev/null && fail "daemon still running after init stop"
initd status >/dev/null 2>&1; [ $? -eq 3 ] || fail "status of a stopped daemon is not 3"
pretty "init script: ok"

pretty "--syslog: lines reach /dev/log with facility daemon and a priority per level"
if command -v unshare >/dev/null; then
    # A private mount namespace with its own /dev, where a test listener plays syslogd.
    unshare -m bash -c '
        mount -t tmpfs none /dev || exit 77
        python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(\"/dev/log\"); s.settimeout(3)
out = open(sys.argv[1], \"w\")
try:
    while True: out.write(s.recv(4096).decode(errors=\"replace\") + \"\\n\"); out.flush()
except socket.timeout: pass
" "$1/syslog.txt" &
        for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
        timeout -s TERM 1 "$2" up -c "$1/broken.conf" --syslog >/dev/null 2>&1
        timeout -s TERM 1 "$2" up -c "$1/good.conf" --syslog --name "$3" >/dev/null 2>&1
        wait' _ "$WORK" "$(readlink -f "$TUNLESS_BIN")" "$NAME"
    grep -q '^<30>.*tunless\[[0-9]*\]: INFO control socket' "$WORK/syslog.txt" ||
        fail "no daemon.info syslog line: $(head -3 "$WORK/syslog.txt")"
    grep -q '^<27>.*tunless\[[0-9]*\]: ERROR' "$WORK/syslog.txt" ||
        fail "no daemon.err syslog line for the broken config: $(cat "$WORK/syslog.txt")"
    pretty "syslog: ok"
fi
echo "PASS"
