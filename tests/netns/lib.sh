# Shared helpers for the network-namespace tests (sourced, bash). Modelled on the WireGuard
# kernel selftest netns.sh: one-line helpers per namespace, trap-based cleanup, bounded waits.
# Everything a test creates (namespaces, veths, processes) is recorded and removed on exit;
# processes are ended by PID. Traffic stays inside the namespaces the test creates.
set -u

# ctest treats 77 as "skipped" (SKIP_RETURN_CODE).
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; dump_logs; exit 1; }
pretty() { printf '\033[32m[%s]\033[0m %s\n' "$TEST_NAME" "$*"; }

: "${TUNLESS_BIN:?TUNLESS_BIN must point at the tunless executable}"
TEST_NAME=${TEST_NAME:-netns}
WORK=$(mktemp -d "/tmp/tunless-${TEST_NAME}.XXXXXX")
NS_PREFIX="tl$$"
declare -a PIDS=() NAMESPACES=()
# Every tunless a test starts keeps its state (timestamp floor, default config) in the test's
# own directory, never in /var/lib/tunless (systemd's convention, honoured by the CLI).
export STATE_DIRECTORY="$WORK/state"
mkdir -p -m 0700 "$STATE_DIRECTORY"

require_netns() {
    [ "$(id -u)" -eq 0 ] || skip "network-namespace tests need root (run as root; CI is root)"
    command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
    ip netns add "${NS_PREFIX}probe" 2>/dev/null || skip "cannot create network namespaces here (no CAP_SYS_ADMIN / netns support)"
    ip netns del "${NS_PREFIX}probe"
}

# The wireguard-go binary the peers run: Debian's by default; the benchmark can point this at
# another build (e.g. bookworm-backports', which batches with UDP GSO/GRO).
WIREGUARD_GO=${WIREGUARD_GO:-wireguard-go}
require_wireguard_go() {
    command -v "$WIREGUARD_GO" >/dev/null || skip "$WIREGUARD_GO not found (tools/setup.sh installs Debian's wireguard-go)"
    command -v wg >/dev/null || skip "wg (wireguard-tools) is not installed"
    [ -c /dev/net/tun ] || skip "/dev/net/tun is missing: the reference peer needs a kernel tun"
}

# ns NAME -> real namespace name; n NAME cmd... runs cmd inside it.
ns() { echo "${NS_PREFIX}$1"; }
n() { local name=$1; shift; ip netns exec "$(ns "$name")" "$@"; }
new_ns() {
    ip netns add "$(ns "$1")"
    NAMESPACES+=("$(ns "$1")")
    n "$1" ip link set lo up
}
# veth A_NS A_ADDR B_NS B_ADDR  (addresses with prefix, e.g. 192.168.77.1/24)
veth() {
    local a=$1 aa=$2 b=$3 ba=$4
    ip link add "veth-$a" netns "$(ns "$a")" type veth peer name "veth-$b" netns "$(ns "$b")"
    n "$a" ip addr add "$aa" dev "veth-$a"
    n "$b" ip addr add "$ba" dev "veth-$b"
    n "$a" ip link set "veth-$a" up
    n "$b" ip link set "veth-$b" up
}

# bg NAME LOG cmd... : start cmd in namespace NAME in the background; echo its PID.
bg() {
    local name=$1 log=$2; shift 2
    ip netns exec "$(ns "$name")" "$@" >"$log" 2>&1 &
    local pid=$!
    # Callers read ${PIDS[-1]}; and bg often runs inside $(...), a subshell whose PIDS the
    # parent never sees, so the PID also goes to a file the cleanup reads.
    PIDS+=("$pid")
    echo "$pid" >> "$WORK/pids"
    echo "$pid"
}

# spawn NAME LOG cmd... : like bg, but in the calling shell (no command substitution), so the
# process stays our child and `wait "$LAST_PID"` returns its exit status. Sets LAST_PID.
spawn() {
    local name=$1 log=$2; shift 2
    ip netns exec "$(ns "$name")" "$@" >"$log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

stop_pid() {
    local pid=$1 sig=${2:-TERM}
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

# wait_until TIMEOUT_S cmd... : poll every 0.1 s until cmd succeeds; bounded.
wait_until() {
    local t=$1; shift
    local deadline=$(( $(date +%s%N) + t * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# A test may define extra_dump (state worth seeing when it fails: daemon status, socket queues);
# it runs before the logs, while every process is still up.
dump_logs() {
    if declare -F extra_dump >/dev/null; then extra_dump >&2 || true; fi
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 40 lines)" >&2
        tail -n 40 "$f" >&2
    done
}

cleanup() {
    local rc=$?
    set +e
    [ -f "$WORK/pids" ] && while read -r pid; do PIDS+=("$pid"); done < "$WORK/pids"
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    for n_ in "${NAMESPACES[@]}"; do ip netns del "$n_" 2>/dev/null; done
    # wireguard-go leaves its UAPI socket behind when killed hard.
    rm -f /var/run/wireguard/"${NS_PREFIX}"*.sock
    # Everything we created must be gone (the netns.sh closing check).
    for n_ in "${NAMESPACES[@]}"; do
        ip netns list | grep -qw "$n_" && echo "cleanup: namespace $n_ leaked" >&2 && rc=1
    done
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && echo "cleanup: process $pid leaked" >&2 && rc=1
    done
    [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# wireguard_go NS IFNAME PRIVKEY_FILE LISTEN_PORT ADDR... : start a wireguard-go interface.
wireguard_go() {
    local name=$1 ifname=$2 key=$3 port=$4; shift 4
    local pid
    pid=$(bg "$name" "$WORK/wggo-$ifname.log" env WG_PROCESS_FOREGROUND=1 "$WIREGUARD_GO" "$ifname")
    wait_until 5 n "$name" test -S "/var/run/wireguard/$ifname.sock" || fail "wireguard-go $ifname did not start"
    n "$name" wg set "$ifname" private-key "$key" listen-port "$port"
    for a in "$@"; do n "$name" ip addr add "$a" dev "$ifname"; done
    n "$name" ip link set "$ifname" up
    echo "$pid"
}

genkey() { (umask 077; wg genkey > "$1"); }

# The topology most tests share: namespaces "peer" and "node" joined by a veth
# (192.168.77.1 / .2), keys $WORK/peer.key and $WORK/node.key, and $peer_pub / $node_pub.
# tunless runs in "node" as 10.77.0.2 (node_conf), wireguard-go in "peer" as 10.77.0.1 (wg_peer).
mesh_pair() {
    new_ns peer
    new_ns node
    veth peer 192.168.77.1/24 node 192.168.77.2/24
    genkey "$WORK/peer.key"; genkey "$WORK/node.key"
    peer_pub=$(wg pubkey < "$WORK/peer.key")
    node_pub=$(wg pubkey < "$WORK/node.key")
}

# node_conf [PEER_ENDPOINT]: prints tunless's [Interface] and [Peer] for mesh_pair's topology;
# tests append their own sections.
node_conf() {
    cat <<CONF
[Interface]
PrivateKey = $(cat "$WORK/node.key")
Address = 10.77.0.2/24
ListenPort = 51820

[Peer]
PublicKey = $peer_pub
AllowedIPs = 10.77.0.0/24
Endpoint = ${1:-192.168.77.1:51820}
PersistentKeepalive = 25
CONF
}

# wg_peer [wg set ARGS...]: starts wireguard-go ${NS_PREFIX}wg0 in "peer" (10.77.0.1/24, port
# 51820) with tunless's key as a peer (10.77.0.2/32) plus ARGS (e.g. endpoint ...); prints its
# PID.
wg_peer() {
    local pid
    pid=$(wireguard_go peer "${NS_PREFIX}wg0" "$WORK/peer.key" 51820 10.77.0.1/24) || return 1
    n peer wg set "${NS_PREFIX}wg0" peer "$node_pub" allowed-ips 10.77.0.2/32 "$@"
    echo "$pid"
}
