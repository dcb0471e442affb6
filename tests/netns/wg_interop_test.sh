#!/usr/bin/env bash
# Interop of tunless (no tun device) with an unmodified wireguard-go + kernel tun peer.
#
#   ┌──────────────────── ns "peer" ───────────────────┐      ┌──────── ns "node" ────────┐
#   │ wireguard-go wg0  10.77.0.1/24  fd77::1/64       │      │ tunless (lwIP inside)     │
#   │ wireguard-go wg1  10.78.0.1/24  (wrong key)      │      │   10.77.0.2  fd77::2      │
#   │ veth-peer 192.168.77.1/24 ───────────────────────┼─veth─┼── veth-node 192.168.77.2  │
#   └──────────────────────────────────────────────────┘      └───────────────────────────┘
#
# Shows: handshake initiated by tunless and by wireguard-go; ping to tunless's IPv4 and IPv6
# mesh addresses; a restarted wireguard-go re-establishes the session; a peer with the wrong
# key gets nothing and tunless counts the drops; malformed datagrams are dropped without harm.
TEST_NAME=wg_interop
source "$(dirname "$0")/lib.sh"
require_netns
require_wireguard_go
command -v python3 >/dev/null || skip "python3 is needed to send malformed datagrams"

new_ns peer
new_ns node
veth peer 192.168.77.1/24 node 192.168.77.2/24

genkey "$WORK/peer.key"; genkey "$WORK/node.key"; genkey "$WORK/wrong.key"
peer_pub=$(wg pubkey < "$WORK/peer.key")
node_pub=$("$TUNLESS_BIN" pubkey < "$WORK/node.key")
[ "$node_pub" = "$(wg pubkey < "$WORK/node.key")" ] || fail "tunless pubkey disagrees with wg pubkey"

cat > "$WORK/node.conf" <<CONF
[Interface]
PrivateKey = $(cat "$WORK/node.key")
Address = 10.77.0.2/24, fd77::2/64
ListenPort = 51820

[Peer]
PublicKey = $peer_pub
AllowedIPs = 10.77.0.0/24, fd77::/64
Endpoint = 192.168.77.1:51820
PersistentKeepalive = 25
CONF

pretty "config check"
"$TUNLESS_BIN" up --check -c "$WORK/node.conf" >/dev/null || fail "tunless up --check rejected a valid config"

pretty "start wireguard-go without an endpoint: only tunless can start the handshake"
wggo=$(wireguard_go peer "${NS_PREFIX}wg0" "$WORK/peer.key" 51820 10.77.0.1/24 fd77::1/64)
n peer wg set "${NS_PREFIX}wg0" peer "$node_pub" allowed-ips 10.77.0.2/32,fd77::2/128

pretty "start tunless"
spawn node "$WORK/tunless.log" "$TUNLESS_BIN" up -v -c "$WORK/node.conf" --name "${NS_PREFIX}tl"
tl=$LAST_PID

handshake_time() { n peer wg show "$1" latest-handshakes | awk -v k="$2" '$1==k {print $2}'; }
has_handshake() { [ "$(handshake_time "$1" "$2")" != "0" ] && [ -n "$(handshake_time "$1" "$2")" ]; }

# Test that tunless initiates (PersistentKeepalive sends a keepalive at start, wg semantics).
wait_until 10 has_handshake "${NS_PREFIX}wg0" "$node_pub" || fail "tunless did not complete a handshake it initiated"
pretty "handshake initiated by tunless: ok"

# Test that the mesh addresses answer ping through lwIP.
n peer ping -c 3 -i 0.2 -W 2 10.77.0.2 >/dev/null || fail "ping 10.77.0.2 failed"
pretty "ping IPv4: ok"
n peer ping -6 -c 3 -i 0.2 -W 2 fd77::2 >/dev/null || fail "ping fd77::2 failed"
pretty "ping IPv6: ok"
n peer ping -c 2 -s 1300 -W 2 10.77.0.2 >/dev/null || fail "ping with 1300-byte payload failed"
pretty "ping large payload: ok"

# Test that a restarted wireguard-go peer (fresh state, it initiates this time) gets back in.
stop_pid "$wggo"
rm -f "/var/run/wireguard/${NS_PREFIX}wg0.sock"
wggo=$(wireguard_go peer "${NS_PREFIX}wg0" "$WORK/peer.key" 51820 10.77.0.1/24 fd77::1/64)
n peer wg set "${NS_PREFIX}wg0" peer "$node_pub" allowed-ips 10.77.0.2/32,fd77::2/128 endpoint 192.168.77.2:51820
wait_until 15 n peer ping -c 1 -W 1 10.77.0.2 || fail "no ping after wireguard-go restart"
has_handshake "${NS_PREFIX}wg0" "$node_pub" || fail "restarted peer shows no handshake"
pretty "restarted wireguard-go re-established the session: ok"

# SIGUSR1 makes tunless log its counters; the newest "drops:" line holds the named drops.
stats() { kill -USR1 "$tl"; sleep 0.3; grep ' drops:' "$WORK/tunless.log" | tail -n 1; }
drop_count() { local c; c=$(stats | grep -o "$1=[0-9]*" | cut -d= -f2); echo "${c:-0}"; }
drop_count_above() { [ "$(drop_count "$1")" -gt "$2" ]; }

# Test that a peer with the wrong key gets nothing, and tunless counts the drops.
wrong=$(wireguard_go peer "${NS_PREFIX}wg1" "$WORK/wrong.key" 51821 10.78.0.1/24)
n peer wg set "${NS_PREFIX}wg1" peer "$node_pub" allowed-ips 10.78.0.2/32 endpoint 192.168.77.2:51820
before=$(drop_count unknown_peer)
n peer ping -c 3 -i 0.3 -W 1 10.78.0.2 >/dev/null 2>&1 && fail "a peer with the wrong key got answers"
wait_until 8 drop_count_above unknown_peer "$before" || fail "unknown-peer initiations were not counted (before: $before, now: $(drop_count unknown_peer))"
after=$(drop_count unknown_peer)
[ "$(handshake_time "${NS_PREFIX}wg1" "$node_pub")" = "0" ] || fail "wrong-key peer completed a handshake"
stop_pid "$wrong"
pretty "wrong key rejected and counted ($after unknown_peer drops): ok"

# Test that malformed, short and oversized datagrams are dropped without harm.
n peer python3 - <<'PY'
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("192.168.77.2", 51820)
cases = [b"", b"\x01", b"\x01\x00\x00\x00" + os.urandom(144), b"\x02\x00\x00\x00" + os.urandom(88),
         b"\x03\x00\x00\x00" + os.urandom(60), b"\x04\x00\x00\x00" + os.urandom(28),
         b"\x04\x00\x00\x00" + os.urandom(1500), b"\x09" + os.urandom(200),
         b"\x01\x01\x01\x01" + os.urandom(144), os.urandom(65000), b"\x01\x00\x00\x00" + os.urandom(147)]
for _ in range(20):
    for c in cases:
        s.sendto(c, dst)
PY
sleep 0.5
kill -0 "$tl" 2>/dev/null || fail "tunless died on malformed input"
n peer ping -c 2 -i 0.2 -W 2 10.77.0.2 >/dev/null || fail "ping failed after malformed input"
line=$(stats)
echo "  $line"
for reason in too_short bad_length unknown_type; do
    c=$(echo "$line" | grep -o "$reason=[0-9]*" | cut -d= -f2)
    [ "${c:-0}" -gt 0 ] || fail "malformed datagrams not counted as $reason"
done
pretty "malformed datagrams dropped and counted, session unharmed: ok"

# Test a clean shutdown on SIGTERM.
kill -TERM "$tl"
wait_until 5 bash -c "! kill -0 $tl" || fail "tunless did not exit on SIGTERM"
wait "$tl"; rc=$?
[ "$rc" -eq 0 ] || fail "tunless exited with $rc on SIGTERM"
pretty "clean shutdown: ok"
echo "PASS"
