#!/usr/bin/env bash
# Idle cost of a tailnet node: bytes per day and wake-ups of registered tunless nodes that carry
# no traffic (issue 9: "≤ 2 MB/day; Tailscale's own client is reported at about 30 MB/day").
#
#              ┌──────────────────── ns "ctl" (router) ─────────────────────┐
#              │ fake_headscale.py: control + DERP region 999, TLS          │
#              │   10.99.0.1:443 (on lo), admin API 127.0.0.1:9080          │
#              │   default keep-alives: map 50-59 s (headscale), DERP       │
#              │   60-65 s (derper)                                         │
#              │ veth-c1 10.99.1.1/24                  veth-c2 10.99.2.1/24 │
#              └──────┬─────────────────────────────────────────┬───────────┘
#   ┌──────── ns "n1" ┴─────────────────┐   ┌──────── ns "n2" ──┴────────────────┐
#   │ veth-n1 10.99.1.2/24  <- measured │   │ veth-n2 10.99.2.2/24  <- measured  │
#   │ tunless [Tailnet] Hostname = n1   │   │ tunless [Tailnet] Hostname = n2    │
#   └───────────────────────────────────┘   └────────────────────────────────────┘
#
# Both nodes register, see each other as peers, settle, and then nothing is sent through them
# for IDLE_SECONDS. Per node over that window: bytes and packets on its veth from
# /sys/class/net/*/statistics (both directions; Ethernet frames, and IP = minus 14 bytes per
# frame), extrapolated to a day; bytes per TCP connection from `ss -ti` (bytes_sent/received
# are TCP payload = TLS bytes, segs_in/out count segments) labelled control or DERP from the
# fake's log; every frame on the veth classified by an AF_PACKET sniffer (connection,
# direction, size, TLS record lengths, spacing of the server's pushes); wake-ups = voluntary +
# nonvoluntary context switches of tunless (all threads) per second; the fake's own count of
# map and DERP keep-alives it sent.
#
# Usage (root): tools/bench/tailnet_idle.sh
#   IDLE_SECONDS=600       measured window (bytes/day are extrapolated from it)
#   NODES=2                1 or 2 nodes (with 1 the node has no peer)
#   SETTLE_SECONDS=10      wait after both nodes run and see each other, before the window
#   KEEPALIVE= DERP_KEEPALIVE=   fixed keep-alive seconds for the fake (default: its jitter)
#   TUNLESS_BIN=build/tools/tunless/tunless   OUT=results file (.md; raw .json next to it)
# Only traffic inside the three namespaces it creates; all is removed on exit (trap); processes
# are stopped by PID.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
IDLE_SECONDS=${IDLE_SECONDS:-600}
NODES=${NODES:-2}
SETTLE_SECONDS=${SETTLE_SECONDS:-10}
export TUNLESS_BIN=${TUNLESS_BIN:-$TOP/build/tools/tunless/tunless}
OUT=${OUT:-/tmp/tunless-tailnet-idle-$(date -u +%Y%m%dT%H%M%SZ).md}
TEST_NAME=tailnet-idle
source "$TOP/tests/netns/lib.sh"
require_netns
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is needed (Debian's, with python3-h2/nacl/cryptography)"
"$PY" -c 'import h2, nacl, cryptography' 2>/dev/null \
    || skip "/usr/bin/python3 lacks h2, nacl or cryptography (tools/setup.sh installs them)"
command -v curl >/dev/null || skip "curl is needed"
[ -x "$TUNLESS_BIN" ] || fail "no tunless at $TUNLESS_BIN (build it, or set TUNLESS_BIN)"
case $NODES in 1) NODE_LIST="n1";; 2) NODE_LIST="n1 n2";; *) fail "NODES must be 1 or 2";; esac
FAKEHS="$TOP/tests/tailnet/fake_headscale.py"
CTL_IP=10.99.0.1
ADMIN_PORT=9080
AUTHKEY="tskey-idle-$$-reusable"

# Names resolve only from /etc/hosts inside the namespaces (as in tests/netns/tailnet_test.sh):
# no DNS query or nss module can leave them.
ETC_DIRS=()
for name in ctl $NODE_LIST; do
    d="/etc/netns/$(ns "$name")"
    mkdir -p "$d"
    printf '127.0.0.1 localhost\n' > "$d/hosts"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$d/resolv.conf"
    printf 'hosts: files dns\n' > "$d/nsswitch.conf"
    ETC_DIRS+=("$d")
done
trap 'rc_=$?; rm -rf "${ETC_DIRS[@]}"; (exit $rc_); cleanup' EXIT

pretty "topology: router ctl (fake headscale $CTL_IP:443) and node(s) $NODE_LIST"
# IPv4-only test bed: no IPv6 router solicitations from freshly created veths (the kernel sends
# them with backoff for minutes after link-up; they are not the node's cost).
no_rs() { n "$1" sysctl -qw net.ipv6.conf.default.router_solicitations=0 2>/dev/null || true; }
new_ns ctl; no_rs ctl
n ctl ip addr add "$CTL_IP/32" dev lo
n ctl sysctl -qw net.ipv4.ip_forward=1
i=0
for node in $NODE_LIST; do
    i=$((i + 1))
    new_ns "$node"; no_rs "$node"
    ip link add "veth-c$i" netns "$(ns ctl)" type veth peer name "veth-$node" netns "$(ns "$node")"
    n ctl ip addr add "10.99.$i.1/24" dev "veth-c$i"; n ctl ip link set "veth-c$i" up
    n "$node" ip addr add "10.99.$i.2/24" dev "veth-$node"; n "$node" ip link set "veth-$node" up
    n "$node" ip route add 10.99.0.0/16 via "10.99.$i.1"
done

bg ctl "$WORK/fakehs.log" env PYTHONDONTWRITEBYTECODE=1 "$PY" -B "$FAKEHS" \
    --listen "$CTL_IP:443" --tls --hostname ctl.test --state-dir "$WORK/fakehs" \
    --ca-out "$WORK/ca.pem" --preauth-key "$AUTHKEY,reusable" \
    ${KEEPALIVE:+--keepalive-seconds "$KEEPALIVE"} ${DERP_KEEPALIVE:+--derp-keepalive-seconds "$DERP_KEEPALIVE"} \
    --admin "127.0.0.1:$ADMIN_PORT" --base-domain tailnet.test >/dev/null
wait_until 20 grep -q '^{"event": "ready"' "$WORK/fakehs.log" || fail "the fake headscale did not print its ready line"
admin() { n ctl curl -sS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/admin/$1"; }

pretty "start tunless on $NODE_LIST (no proxies, no traffic)"
declare -A TL
for node in $NODE_LIST; do
    (umask 077; cat > "$WORK/$node.conf" <<CONF
[Tailnet]
ControlURL = https://$CTL_IP
AuthKey = $AUTHKEY
Hostname = $node
CAFile = $WORK/ca.pem
CONF
    )
    mkdir -p -m 0700 "$WORK/state-$node"
    spawn "$node" "$WORK/tunless-$node.log" "$TUNLESS_BIN" up -c "$WORK/$node.conf" \
        --state-dir "$WORK/state-$node" --name "${NS_PREFIX}$node"
    TL[$node]=$LAST_PID
done
status() { n "$1" "$TUNLESS_BIN" status --json --name "${NS_PREFIX}$1" 2>/dev/null; }
# jq-free look-ups in `tunless status --json`: state, and whether every other node is an
# online peer.
ready() {
    local node=$1 others
    others=$(echo "$NODE_LIST" | tr ' ' '\n' | grep -vx "$node" | tr '\n' ' ')
    kill -0 "${TL[$node]}" 2>/dev/null || fail "tunless on $node exited (see its log)"
    status "$node" | "$PY" -c '
import json, sys
st = json.load(sys.stdin); tn = st.get("tailnet", {})
want = set(sys.argv[1].split())
online = {p.get("name", "").split(".")[0] for p in tn.get("peers", []) if p.get("online")}
sys.exit(0 if tn.get("state") == "running" and want <= online else 1)' "$others"
}
for node in $NODE_LIST; do
    wait_until 60 ready "$node" || fail "$node is not running with its peer(s) online after 60 s: $(status "$node" | head -c 600)"
done
pretty "all running; settling ${SETTLE_SECONDS}s"
sleep "$SETTLE_SECONDS"

# ---- the window ---------------------------------------------------------------------------
ctxt() { # PID: "voluntary+nonvoluntary nonvoluntary" context switches over all threads
    cat /proc/"$1"/task/*/status 2>/dev/null \
        | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} /^nonvoluntary/ {nv += $2} END {print s, nv}'
}
snapshot() { # TAG: counters of every node, the fake's stats
    local tag=$1 node f
    date +%s.%N > "$WORK/$tag.time"
    for node in $NODE_LIST; do
        for f in rx_bytes tx_bytes rx_packets tx_packets; do
            n "$node" cat "/sys/class/net/veth-$node/statistics/$f"
        done | tr '\n' ' ' > "$WORK/$node.$tag.sys"
        ctxt "${TL[$node]}" > "$WORK/$node.$tag.ctxt"
        grep -E '^Vm(RSS|HWM):' "/proc/${TL[$node]}/status" | tr -s ' \t' ' ' | tr '\n' ' ' > "$WORK/$node.$tag.rss"
        n "$node" ss -tinH > "$WORK/$node.$tag.ss"
    done
    admin stats > "$WORK/$tag.control.json"
    admin derp-stats > "$WORK/$tag.derp.json"
}

# The sniffer: every frame on IFACE for SECONDS, classified per TCP connection (by the local
# port), ARP, UDP or other; direction from the packet type the kernel reports.
SNIFF='
import json, socket, struct, sys, time
iface, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
flows = {}
t0 = time.monotonic(); end = t0 + seconds
def tls_records(p):
    out = []
    while len(p) >= 5 and p[0] in (20, 21, 22, 23) and p[1] == 3:
        n = struct.unpack(">H", p[3:5])[0]; out.append(n); p = p[5 + n:]
    return out
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(min(left, 5.0))
    try:
        pkt, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    d = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
    etype = pkt[12:14]
    key, kind, pay = "other", f"{len(pkt)}B", 0
    if etype == b"\x08\x06":
        key = "arp"
    elif etype == b"\x08\x00" and len(pkt) >= 34:
        ihl = (pkt[14] & 15) * 4; proto = pkt[23]; tot = struct.unpack(">H", pkt[16:18])[0]
        l4 = pkt[14 + ihl:]
        if proto in (6, 17) and len(l4) >= 8:
            sp, dp = struct.unpack(">HH", l4[:4]); lp = sp if d == "out" else dp
            if proto == 6 and len(l4) >= 20:
                off = (l4[12] >> 4) * 4; pay = tot - ihl - off
                flags = "".join(c for c, b in zip("FSRPA", (1, 2, 4, 8, 16)) if l4[13] & b)
                recs = tls_records(l4[off:off + pay]) if pay else []
                key = f"tcp {lp}"
                kind = f"{len(pkt)}B {flags} payload {pay}" + (f" tls {recs}" if recs else "")
            else:
                key = f"udp {lp}"
        else:
            key = f"ipv4 proto {proto}"
    elif etype == b"\x86\xdd" and len(pkt) >= 54:
        nh = pkt[20]
        key = f"ipv6 next header {nh}" + (f" icmpv6 type {pkt[54]}" if nh == 58 else "")
    else:
        key = f"ethertype 0x{etype.hex()}"
    f = flows.setdefault(key, {"in": [0, 0], "out": [0, 0], "kinds": {}, "in_data_t": []})
    f[d][0] += 1; f[d][1] += len(pkt)
    k = f"{d} {kind}"; f["kinds"][k] = f["kinds"].get(k, 0) + 1
    if d == "in" and pay:
        f["in_data_t"].append(round(time.monotonic() - t0, 3))
print(json.dumps(flows), flush=True)
'
pretty "idle window ${IDLE_SECONDS}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
declare -A SN
for node in $NODE_LIST; do
    spawn "$node" "$WORK/$node.sniff.json" "$PY" -c "$SNIFF" "veth-$node" "$IDLE_SECONDS"
    SN[$node]=$LAST_PID
done
snapshot start
# `wait` also returns when a child is stopped (e.g. someone attaches strace to tunless), so
# wait until the sniffers are really gone and judge them by their output.
for node in $NODE_LIST; do
    while kill -0 "${SN[$node]}" 2>/dev/null; do wait "${SN[$node]}"; done
    grep -q '^{' "$WORK/$node.sniff.json" || fail "the sniffer on $node failed: $(cat "$WORK/$node.sniff.json")"
done
snapshot end
for node in $NODE_LIST; do
    kill -0 "${TL[$node]}" 2>/dev/null || fail "tunless on $node exited during the window"
done

# ---- report -------------------------------------------------------------------------------
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$TOP" diff --quiet HEAD -- core transports tools/tunless 2>/dev/null || commit="$commit+dirty"
"$PY" - "$WORK" "$NODE_LIST" "$commit" "$LOAD0" "$OUT" <<'PY' | tee "$OUT"
import json, re, sys
work, nodes, commit, load0, out = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5]
rd = lambda p: open(f"{work}/{p}").read()
T = float(rd("end.time")) - float(rd("start.time")); day = 86400 / T
# Local ports of the nodes' connections, labelled by the fake's log lines.
label = {}
for m in re.finditer(r"(ts2021|derp) \('([\d.]+)', (\d+)\)", rd("fakehs.log")):
    label[(m.group(2), m.group(3))] = "control (ts2021: Noise + HTTP/2 map stream)" if m.group(1) == "ts2021" else "DERP"
def ss_conns(text):
    conns, cur = {}, None
    for line in text.splitlines():
        if not line[:1].isspace():
            eps = re.findall(r"([\d.]+):(\d+)", line)
            cur = eps[0] if len(eps) >= 2 and eps[1][1] == "443" else None
        elif cur:
            v = {k: int(x) for k, x in re.findall(r"\b(bytes_sent|bytes_received|segs_out|segs_in):(\d+)", line)}
            conns[cur] = v
    return conns
mb = lambda b: b * day / 1e6
res = {"seconds": T, "commit": commit, "load1": load0, "nodes": {}}
print(f"#### tailnet idle: {len(nodes)} node(s), {T:.0f} s window, commit {commit}, load1 {load0}\n")
print("| node | frames in+out | Ethernet bytes | MB/day (Ethernet) | MB/day (IP) | wake-ups/s (of which involuntary) | VmRSS start → end |")
print("|---|---|---|---|---|---|---|")
rows = []
for nd in nodes:
    s0 = [int(x) for x in rd(f"{nd}.start.sys").split()]; s1 = [int(x) for x in rd(f"{nd}.end.sys").split()]
    b = (s1[0] - s0[0]) + (s1[1] - s0[1]); p = (s1[2] - s0[2]) + (s1[3] - s0[3])
    (a0, n0), (a1, n1) = [map(int, rd(f"{nd}.{t}.ctxt").split()) for t in ("start", "end")]
    cx, nvx = (a1 - a0) / T, (n1 - n0) / T
    rss = lambda t: rd(f"{nd}.{t}.rss").split()[1]
    print(f"| {nd} | {p} | {b} | {mb(b):.3f} | {mb(b - 14 * p):.3f} | {cx:.3f} ({nvx:.3f}) | {rss('start')} → {rss('end')} kB |")
    res["nodes"][nd] = {"bytes": b, "pkts": p, "mb_day_eth": mb(b), "mb_day_ip": mb(b - 14 * p), "wakeups_per_s": cx, "involuntary_per_s": nvx}
print("\nPer TCP connection (`ss -ti` deltas: TCP payload bytes = TLS bytes, and segments; "
      "frames and Ethernet bytes from the sniffer):\n")
print("| node | connection | local port | TLS bytes in/out | segs in/out | frames in/out | Ethernet bytes in/out | MB/day (Ethernet) | server pushes, mean spacing |")
print("|---|---|---|---|---|---|---|---|---|")
details = []
for nd in nodes:
    c0, c1 = ss_conns(rd(f"{nd}.start.ss")), ss_conns(rd(f"{nd}.end.ss"))
    sn = json.loads(rd(f"{nd}.sniff.json"))
    if set(c0) != set(c1):
        print(f"| {nd} | connections changed during the window: {sorted(c0)} -> {sorted(c1)} | | | | | | | |")
    res["nodes"][nd]["conns"] = {}
    for ep in sorted(c1):
        a, z = c0.get(ep, {}), c1[ep]
        dl = {k: z.get(k, 0) - a.get(k, 0) for k in ("bytes_received", "bytes_sent", "segs_in", "segs_out")}
        f = sn.get(f"tcp {ep[1]}", {"in": [0, 0], "out": [0, 0], "kinds": {}, "in_data_t": []})
        ts = f["in_data_t"]
        sp = f"{len(ts)}, {(ts[-1] - ts[0]) / (len(ts) - 1):.1f} s" if len(ts) > 1 else f"{len(ts)}"
        name = label.get(ep, "other")
        eth = f["in"][1] + f["out"][1]
        print(f"| {nd} | {name} | {ep[1]} | {dl['bytes_received']} / {dl['bytes_sent']} | {dl['segs_in']} / {dl['segs_out']} | "
              f"{f['in'][0]} / {f['out'][0]} | {f['in'][1]} / {f['out'][1]} | {mb(eth):.3f} | {sp} |")
        res["nodes"][nd]["conns"][name] = {"port": ep[1], **dl, "eth_in": f["in"][1], "eth_out": f["out"][1],
                                            "frames": f["in"][0] + f["out"][0], "mb_day_eth": mb(eth)}
        details.append((nd, name, f["kinds"]))
    open_ports = {ep[1] for ep in c1}
    for k, f in sorted(sn.items()):
        if not (k.startswith("tcp ") and k.split()[1] in open_ports):
            details.append((nd, k, f["kinds"]))
            print(f"| {nd} | {k} (not an open connection) | | | | {f['in'][0]} / {f['out'][0]} | {f['in'][1]} / {f['out'][1]} | {mb(f['in'][1] + f['out'][1]):.3f} | |")
print()
for nd in nodes:
    cs = res["nodes"][nd]["conns"].values()
    eth = sum(c["eth_in"] + c["eth_out"] for c in cs)
    ip = eth - 14 * sum(c["frames"] for c in cs)
    rest = res["nodes"][nd]["bytes"] - eth
    print(f"- {nd}: the open TLS connections {mb(eth):.3f} MB/day (Ethernet), {mb(ip):.3f} MB/day (IP); everything else on the veth "
          f"(ARP, IPv6 link traffic, closed connections) {mb(rest):.3f} MB/day")
    res["nodes"][nd]["mb_day_conns_eth"], res["nodes"][nd]["mb_day_conns_ip"] = mb(eth), mb(ip)
print("\nFrames by connection, direction, Ethernet size, TCP flags, TCP payload and TLS record lengths (count):\n")
for nd, name, kinds in details:
    print(f"- {nd} {name}: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
cs0, cs1 = json.loads(rd("start.control.json")), json.loads(rd("end.control.json"))
d0, d1 = json.loads(rd("start.derp.json")), json.loads(rd("end.derp.json"))
ka = cs1.get("keepalives", 0) - cs0.get("keepalives", 0)
mm = cs1.get("map_messages", 0) - cs0.get("map_messages", 0)
fo = {k: v - d0["frames_out"].get(k, 0) for k, v in d1["frames_out"].items() if v != d0["frames_out"].get(k, 0)}
fi = {k: v - d0["frames_in"].get(k, 0) for k, v in d1["frames_in"].items() if v != d0["frames_in"].get(k, 0)}
print(f"\nThe fake in the window (all nodes): map messages sent {mm}, of which keep-alives {ka} "
      f"(one per {T * len(nodes) / ka:.1f} s per node)" if ka else f"\nThe fake in the window: map messages {mm}, no keep-alives", end="")
print(f"; DERP frames sent {fo or 'none'}, received {fi or 'none'}.")
res["fake"] = {"map_messages": mm, "map_keepalives": ka, "derp_frames_out": fo, "derp_frames_in": fi}
json.dump(res, open(out[:-3] + ".json" if out.endswith(".md") else out + ".json", "w"), indent=1)
PY
pretty "results: $OUT"
