#!/usr/bin/python3
"""Helpers for tailnet_test.sh (standard library only). JSON comes on stdin.

  udp-recv IP PORT SECONDS READY     count datagrams to IP:PORT for SECONDS; touches READY
                                     once bound; prints the count
  udp-send IP PORT COUNT             send COUNT small datagrams
  tcp-accept IP PORT SECONDS READY   accept one connection within SECONDS, print "accepted"
  tn FIELD                           `tunless status --json`: tailnet.FIELD
  addr4                              status: the node's first tailnet IPv4 (no prefix)
  peer NAME FIELD                    status: FIELD of the tailnet peer whose first DNS label
                                     is NAME (lists joined by ","); exit 1 if there is none
  wg-peer KEY_B64                    status: endpoint of the WireGuard peer KEY (exit 1: none)
  nodekey-b64 NODEKEY                "nodekey:<hex>" -> base64 (the WireGuard public key)
  node HOSTNAME FIELD                fake's /admin/nodes: FIELD of the node HOSTNAME
  derp-frames                        fake's /admin/derp-stats: "SENT RECV" packet frames
"""
import base64
import json
import socket
import sys
import time


def load():
    try:
        return json.load(sys.stdin)
    except ValueError as exc:
        raise SystemExit(f"not JSON: {exc}") from exc


def fmt(v):
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def udp_recv(ip, port, seconds, ready):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    open(ready, "w").close()
    deadline = time.monotonic() + float(seconds)
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            s.recvfrom(2048)
            n += 1
        except socket.timeout:
            break
    print(n)


def udp_send(ip, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(count)):
        s.sendto(b"probe-%d" % i, (ip, int(port)))
        time.sleep(0.02)


def tcp_accept(ip, port, seconds, ready):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(1)
    s.settimeout(float(seconds))
    open(ready, "w").close()
    try:
        c, _ = s.accept()
        c.close()
        print("accepted")
    except socket.timeout:
        print("timeout")
        return 1
    return 0


def tailnet(st):
    t = st.get("tailnet")
    if not isinstance(t, dict):
        raise SystemExit("status has no \"tailnet\" object")
    return t


def find_peer(st, name):
    for p in tailnet(st).get("peers") or []:
        if str(p.get("name", "")).split(".")[0] == name:
            return p
    return None


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "udp-recv":
        return udp_recv(*args)
    if cmd == "udp-send":
        return udp_send(*args)
    if cmd == "tcp-accept":
        return tcp_accept(*args)
    if cmd == "nodekey-b64":
        hexkey = args[0].removeprefix("nodekey:")
        print(base64.b64encode(bytes.fromhex(hexkey)).decode())
        return 0
    data = load()
    if cmd == "tn":
        print(fmt(tailnet(data).get(args[0], "")))
    elif cmd == "addr4":
        v4 = [a for a in tailnet(data).get("addresses") or [] if "." in a]
        if not v4:
            return 1
        print(v4[0].split("/")[0])
    elif cmd == "peer":
        p = find_peer(data, args[0])
        if p is None:
            return 1
        print(fmt(p.get(args[1], "")))
    elif cmd == "wg-peer":
        for p in data.get("peers") or []:
            if p.get("public_key") == args[0]:
                print(fmt(p.get("endpoint")))
                return 0
        return 1
    elif cmd == "node":
        for n in data:
            if n.get("hostname") == args[0] or n.get("name") == args[0]:
                print(fmt(n.get(args[1], "")))
                return 0
        return 1
    elif cmd == "derp-frames":
        print(data["frames_in"].get("SendPacket", 0), data["frames_out"].get("RecvPacket", 0))
    else:
        raise SystemExit(f"unknown command {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
