#!/usr/bin/env python3
"""Traffic source/sink, clients and measurement for tools/bench/run.sh (standard library only).

  server PORT                       threaded TCP server on 0.0.0.0:PORT; the client's first byte
                                    picks the mode: D = send until the client closes (download),
                                    U = receive until EOF then answer a JSON line of stats
                                    (upload), P = 1-byte ping-pong, F = send 1 byte at once.
  bulk  --mode D|U --to H:P [--socks H:P] --seconds T     bulk transfer, JSON result line
  iperf --mode D|U --to H:P --seconds T                   the same through iperf3 -c (-R for D)
  rr    --to H:P [--socks H:P] --seconds T                1-byte round trips per second
  cfb   --to H:P [--socks H:P] [--count N]                connect-to-first-byte (ms)
  sniff IFACE SECONDS LOCAL_IP PORT...   AF_PACKET L2 byte count on IFACE per local UDP port
                                    (frames from and to LOCAL_IP:PORT) and in total
  report RESULTS.jsonl              markdown tables (median [min-max], ratio to reference b)

Every client takes --pids name=PID,... and then reports per-process CPU seconds (utime+stime
from /proc/PID/stat) and the peak VmRSS sampled every 20 ms, plus whole-machine busy CPU from
/proc/stat, all as deltas over the measured interval. A "gap" is a pause > 100 ms between two
successive recv()/send() completions while the transfer runs.
"""
import argparse, json, os, socket, socketserver, statistics, struct, sys, threading, time

GAP = 0.100
CHUNK = 256 * 1024
TCK = os.sysconf("SC_CLK_TCK")

# ---- /proc sampling ------------------------------------------------------------------------

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK  # utime + stime (fields 14, 15)

def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / TCK

class Meter:
    """CPU/RSS deltas of named daemons over an interval, RSS sampled in a thread."""
    def __init__(self, pids):
        self.pids = pids
        self.peak = {k: 0 for k in pids}
        self.stop_ = threading.Event()
    def _sample(self):
        while not self.stop_.is_set():
            for k, p in self.pids.items():
                try:
                    self.peak[k] = max(self.peak[k], proc_status(p, "VmRSS"))
                except OSError:
                    pass
            self.stop_.wait(0.02)
    def start(self):
        self.cpu0 = {k: proc_cpu(p) for k, p in self.pids.items()}
        self.rss0 = {k: proc_status(p, "VmRSS") for k, p in self.pids.items()}
        self.m0 = machine_busy()
        self.t = threading.Thread(target=self._sample, daemon=True)
        self.t.start()
    def finish(self):
        self.stop_.set()
        self.t.join()
        out = {"machine_cpu": machine_busy() - self.m0}
        for k, p in self.pids.items():
            out[f"cpu_{k}"] = proc_cpu(p) - self.cpu0[k]
            out[f"rss_before_{k}"] = self.rss0[k]
            out[f"rss_peak_{k}"] = self.peak[k]
            out[f"hwm_{k}"] = proc_status(p, "VmHWM")
        return out

def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])

def emit(a, res):
    res.update(json.loads(a.tag or "{}"))
    res["load1"] = a.load1
    print(json.dumps(res), flush=True)

def parse_pids(text):
    pids = {}
    for item in filter(None, (text or "").split(",")):
        k, v = item.split("=")
        pids[k] = int(v)
    return pids

# ---- server --------------------------------------------------------------------------------

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = s.recv(1)
        try:
            if mode == b"D":
                buf = bytes(CHUNK)
                while True:
                    s.sendall(buf)
            elif mode == b"U":
                s.sendall(json.dumps(receive_stats(s, None)).encode() + b"\n")
            elif mode == b"P":
                while True:
                    d = s.recv(64)
                    if not d:
                        return
                    s.sendall(d)
            elif mode == b"F":
                s.sendall(b"!")
                s.recv(1)
        except OSError:
            pass

def receive_stats(s, deadline):
    """Reads until EOF (or deadline); bytes, first-to-last-byte time and gaps > GAP."""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    total = 0
    first = last = None
    gap_time = max_gap = 0.0
    gaps = 0
    while True:
        n = s.recv_into(view)
        now = time.monotonic()
        if n == 0:
            break
        if first is None:
            first = now
        else:
            d = now - last
            max_gap = max(max_gap, d)
            if d > GAP:
                gaps += 1
                gap_time += d
        last = now
        total += n
        if deadline is not None and now >= deadline:
            break
    dur = (last - first) if first is not None and last > first else 0.0
    return {"bytes": total, "dur": dur, "gaps": gaps, "gap_time": gap_time, "max_gap": max_gap}

def serve(port):
    class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128
    S(("0.0.0.0", int(port)), Handler).serve_forever()

# ---- clients -------------------------------------------------------------------------------

def hostport(text):
    h, p = text.rsplit(":", 1)
    return h, int(p)

def recv_exact(s, n):
    out = b""
    while len(out) < n:
        c = s.recv(n - len(out))
        if not c:
            raise ConnectionError("EOF")
        out += c
    return out

def connect(to, socks, timeout=30):
    """TCP to `to`, directly or through a SOCKS5 proxy (RFC 1928 CONNECT, IPv4, no auth)."""
    if not socks:
        s = socket.create_connection(to, timeout=timeout)
    else:
        s = socket.create_connection(socks, timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"\x05\x01\x00\x05\x01\x00\x01" + socket.inet_aton(to[0]) + struct.pack(">H", to[1]))
        if recv_exact(s, 2) != b"\x05\x00":
            raise ConnectionError("SOCKS5 method refused")
        rep = recv_exact(s, 10)
        if rep[1] != 0:
            raise ConnectionError(f"SOCKS5 reply {rep[1]}")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def bulk(a):
    to, socks = hostport(a.to), a.socks and hostport(a.socks)
    s = connect(to, socks)
    meter = Meter(parse_pids(a.pids))
    res = {}
    if a.mode == "D":
        s.sendall(b"D")
        # Let the first bytes arrive (connection and server warm), then measure T seconds.
        s.recv(65536)
        meter.start()
        st = receive_stats(s, time.monotonic() + a.seconds)
        res.update(meter.finish())
        s.close()
    else:
        s.sendall(b"U")
        buf = bytes(CHUNK)
        meter.start()
        t0 = time.monotonic()
        end = t0 + a.seconds
        last = t0
        gaps, gap_time, max_gap, sent = 0, 0.0, 0.0, 0
        while last < end:
            s.sendall(buf)
            now = time.monotonic()
            d = now - last
            max_gap = max(max_gap, d)
            if d > GAP:
                gaps += 1
                gap_time += d
            last = now
            sent += len(buf)
        s.shutdown(socket.SHUT_WR)
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(4096)
            if not c:
                break
            line += c
        t1 = time.monotonic()
        res.update(meter.finish())
        srv = json.loads(line)
        # Receiver-side gaps are the ones that matter; the sender's blocking shows the same stall.
        st = {"bytes": srv["bytes"], "dur": t1 - t0, "gaps": max(gaps, srv["gaps"]),
              "gap_time": max(gap_time, srv["gap_time"]), "max_gap": max(max_gap, srv["max_gap"])}
        s.close()
    res.update(st)
    res["mbps"] = st["bytes"] / st["dur"] / 1e6 if st["dur"] else 0.0
    emit(a, res)

def iperf(a):
    """iperf3 as the client (C, kernel TCP on the client side), same meters; gaps from 0.1 s intervals."""
    import subprocess
    h, port = hostport(a.to)
    cmd = ["iperf3", "-c", h, "-p", str(port), "-t", str(max(1, int(a.seconds))), "-i", "0.1", "-J", "-O", "1"]
    if a.mode == "D":
        cmd.append("-R")
    meter = Meter(parse_pids(a.pids))
    meter.start()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + 60)
    res = meter.finish()
    j = json.loads(out.stdout)
    if "error" in j:
        raise SystemExit(j["error"])
    end = j["end"]["sum_received"]
    empty, runs, run = [], [], 0.0
    for iv in j["intervals"]:
        if iv["sum"].get("omitted"):
            continue
        if iv["sum"]["bytes"] == 0:
            empty.append(iv["sum"]["seconds"])
            run += iv["sum"]["seconds"]
        else:
            runs.append(run)
            run = 0.0
    runs.append(run)
    # An interval of 0.1 s with no bytes counts as gap time; max gap = longest empty stretch.
    # Meter spans the 1 s omitted warm-up too: CPU per GB uses all bytes the meter saw.
    omitted = sum(iv["sum"]["bytes"] for iv in j["intervals"] if iv["sum"].get("omitted"))
    res.update({"bytes": end["bytes"] + omitted, "dur": end["seconds"], "mbps": end["bytes"] / end["seconds"] / 1e6,
                "gaps": sum(1 for r in runs if r > 0), "gap_time": sum(empty), "max_gap": max(runs),
                "retransmits": j["end"].get("sum_sent", {}).get("retransmits")})
    emit(a, res)

def rr(a):
    s = connect(hostport(a.to), a.socks and hostport(a.socks))
    s.sendall(b"P")
    meter = Meter(parse_pids(a.pids))
    for _ in range(50):  # warm-up
        s.sendall(b"x"); recv_exact(s, 1)
    meter.start()
    t0 = time.monotonic()
    end = t0 + a.seconds
    n = 0
    lat = []
    while True:
        t = time.monotonic()
        if t >= end:
            break
        s.sendall(b"x")
        recv_exact(s, 1)
        lat.append(time.monotonic() - t)
        n += 1
    dur = time.monotonic() - t0
    res = meter.finish()
    s.close()
    lat.sort()
    res.update({"rtts": n, "dur": dur, "rtt_per_s": n / dur,
                "rtt_p50_us": lat[len(lat) // 2] * 1e6, "rtt_p99_us": lat[int(len(lat) * 0.99)] * 1e6})
    emit(a, res)

def cfb(a):
    to, socks = hostport(a.to), a.socks and hostport(a.socks)
    times = []
    for _ in range(a.count):
        t0 = time.monotonic()
        s = connect(to, socks)
        s.sendall(b"F")
        recv_exact(s, 1)
        times.append((time.monotonic() - t0) * 1e3)
        s.close()
        time.sleep(0.05)
    emit(a, {"cfb_ms": statistics.median(times), "cfb_all_ms": times})

# ---- idle traffic --------------------------------------------------------------------------

def sniff(iface, seconds, local_ip, ports):
    """Counts L2 bytes seen on IFACE (both directions): UDP to/from the local `ports`, and all."""
    ports = {int(p) for p in ports}
    local = socket.inet_aton(local_ip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(0.5)
    end = time.monotonic() + float(seconds)
    all_bytes = all_pkts = 0
    per = {p: [0, 0] for p in ports}
    hist = {}
    while time.monotonic() < end:
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            continue
        all_bytes += len(pkt); all_pkts += 1
        if len(pkt) >= 42 and pkt[12:14] == b"\x08\x00" and pkt[23] == 17:
            ihl = (pkt[14] & 0x0F) * 4
            sp, dp = struct.unpack(">HH", pkt[14 + ihl:18 + ihl])
            # Attribute to the daemon on this side (local IP), whatever the far port is.
            out = pkt[26:30] == local
            port = sp if out else dp
            if port in per:
                per[port][0] += len(pkt); per[port][1] += 1
                # WireGuard message type (first byte of the UDP payload) and frame size.
                kind = f"{'out' if out else 'in'} type{pkt[14 + ihl + 8]} {len(pkt)}B"
                hist.setdefault(str(port), {}).setdefault(kind, 0)
                hist[str(port)][kind] += 1
    print(json.dumps({"seconds": float(seconds), "all_bytes": all_bytes, "all_pkts": all_pkts,
                      "udp_port_bytes_pkts": {str(k): v for k, v in per.items()}, "kinds": hist}), flush=True)

# ---- report --------------------------------------------------------------------------------

def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)

def fmt(t, digits=1):
    if t is None:
        return "–"
    m, lo, hi = t
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}–{hi:.{digits}f}]"

def ratio(t, ref):
    if t is None or ref is None or not ref[0]:
        return "–"
    return f"{t[0] / ref[0]:.2f}x"

def report(path):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    header = [l.strip()[2:] for l in open(path) if l.startswith("# ")]
    if header:
        print("```\n" + "\n".join(header) + "\n```\n")
    by = {}
    order = []
    for r in rows:
        k = (r["case"], r.get("dir", ""))
        if k not in by:
            order.append(k)
        by.setdefault(k, []).append(r)
    def bulk_fig(rs):
        ours = rs[0].get("ours")
        f = {"mbps": med([r["mbps"] for r in rs]),
             "cpu": med([r[f"cpu_{ours}"] / (r["bytes"] / 1e9) for r in rs]) if ours else None,
             "peer": med([r[f"cpu_{rs[0]['peer']}"] / (r["bytes"] / 1e9) for r in rs]) if rs[0].get("peer") else None,
             "mach": med([r["machine_cpu"] / (r["bytes"] / 1e9) for r in rs]),
             "gap": med([r["gap_time"] * 1e3 for r in rs]),
             "maxgap": med([r["max_gap"] * 1e3 for r in rs]),
             "rss": med([r.get(f"rss_peak_{ours}") for r in rs]) if ours else None,
             "load": med([r.get("load1") for r in rs])}
        return f
    print("#### Bulk TCP (MB/s = 10^6 bytes/s; CPU in seconds per GB moved; median [min–max])\n")
    print("| case | dir | runs | MB/s | vs (b) | per round vs (b) | daemon CPU s/GB | vs (b) | peer daemon CPU s/GB | machine CPU s/GB | vs (b) | gap time >100 ms (ms) | max gap (ms) | daemon RSS peak kB | load1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k in order:
        rs = by[k]
        if rs[0]["kind"] not in ("bulk", "iperf"):
            continue
        f = bulk_fig(rs)
        ref = by.get(("i_b_wggo_both" if k[0].startswith("i_") else "b_wggo_both", k[1]))
        rf = bulk_fig(ref) if ref else {}
        # Each run against (b) of its own round (run.sh interleaves the cases): robust to the
        # machine's speed drifting between rounds, which the ratio of medians is not.
        ref_by_round = {r.get("round"): r["mbps"] for r in ref or [] if r.get("round")}
        paired = med([r["mbps"] / ref_by_round[r["round"]] for r in rs
                      if r.get("round") in ref_by_round and ref_by_round[r["round"]]])
        print(f"| {k[0]} | {k[1]} | {len(rs)} | {fmt(f['mbps'])} | {ratio(f['mbps'], rf.get('mbps'))} | "
              f"{fmt(paired, 2)} | "
              f"{fmt(f['cpu'], 2)} | {ratio(f['cpu'], rf.get('cpu'))} | {fmt(f['peer'], 2)} | {fmt(f['mach'], 2)} | "
              f"{ratio(f['mach'], rf.get('mach'))} | {fmt(f['gap'], 0)} | {fmt(f['maxgap'], 0)} | {fmt(f['rss'], 0)} | {fmt(f['load'], 2)} |")
    print("\n#### 1-byte request/response (round trips per second, one connection)\n")
    print("| case | runs | RTT/s | vs (b) | p50 µs | p99 µs | daemon CPU s | load1 |")
    print("|---|---|---|---|---|---|---|---|")
    ref = by.get(("f_rr_wggo", ""))
    rref = med([r["rtt_per_s"] for r in ref]) if ref else None
    for k in order:
        rs = by[k]
        if rs[0]["kind"] != "rr":
            continue
        ours = rs[0].get("ours")
        t = med([r["rtt_per_s"] for r in rs])
        print(f"| {k[0]} | {len(rs)} | {fmt(t, 0)} | {ratio(t, rref)} | {fmt(med([r['rtt_p50_us'] for r in rs]), 0)} | "
              f"{fmt(med([r['rtt_p99_us'] for r in rs]), 0)} | {fmt(med([r[f'cpu_{ours}'] for r in rs]), 2) if ours else '–'} | "
              f"{fmt(med([r.get('load1') for r in rs]), 2)} |")
    print("\n#### Connect to first byte (ms; warm = tunnel up, cold = fresh daemon/session, handshake included)\n")
    print("| case | runs | ms | load1 |")
    print("|---|---|---|---|")
    for k in order:
        rs = by[k]
        if rs[0]["kind"] != "cfb":
            continue
        print(f"| {k[0]} | {len(rs)} | {fmt(med([r['cfb_ms'] for r in rs]), 2)} | {fmt(med([r.get('load1') for r in rs]), 2)} |")
    rss = [r for r in rows if r["kind"] == "rss"]
    if rss:
        print("\n#### Memory of the tunless daemon (kB)\n")
        print("| measurement | VmRSS | of which RssAnon | of which RssFile (shared libraries, binary) | VmHWM |")
        print("|---|---|---|---|---|")
        for r in rss:
            print(f"| {r['case']} | {r['rss']} | {r.get('anon', '–')} | {r.get('file', '–')} | {r['hwm']} |")

def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("server"); sp.add_argument("port")
    for name in ("bulk", "rr", "cfb", "iperf"):
        c = sub.add_parser(name)
        c.add_argument("--to", required=True)
        c.add_argument("--socks")
        c.add_argument("--seconds", type=float, default=2)
        c.add_argument("--pids", default="")
        c.add_argument("--count", type=int, default=5)
        c.add_argument("--tag", default="")
        if name in ("bulk", "iperf"):
            c.add_argument("--mode", choices=("D", "U"), required=True)
    sn = sub.add_parser("sniff"); sn.add_argument("iface"); sn.add_argument("seconds"); sn.add_argument("local_ip"); sn.add_argument("ports", nargs="+")
    rp = sub.add_parser("report"); rp.add_argument("path")
    a = p.parse_args()
    a.load1 = load1()
    if a.cmd == "server":
        serve(a.port)
    elif a.cmd == "bulk":
        bulk(a)
    elif a.cmd == "iperf":
        iperf(a)
    elif a.cmd == "rr":
        rr(a)
    elif a.cmd == "cfb":
        cfb(a)
    elif a.cmd == "sniff":
        sniff(a.iface, a.seconds, a.local_ip, a.ports)
    else:
        report(a.path)

if __name__ == "__main__":
    main()
