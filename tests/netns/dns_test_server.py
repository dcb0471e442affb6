#!/usr/bin/env python3
"""Tiny authoritative-style DNS server for the netns tests (RFC 1035 layouts, UDP only).

usage: dns_test_server.py BIND_IP PORT NAME=IPV4 [NAME=IPV4 ...]
Answers A queries for the given names (TTL 30), NOERROR with no answer for AAAA of a known
name, NXDOMAIN otherwise. Every query is logged as "query <src-ip> <name> <type>" so a test
can check where the query came from (e.g. a mesh address: it travelled through WireGuard).
"""
import socket
import struct
import sys


def parse_question(msg):
    pos, labels = 12, []
    while True:
        n = msg[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii").lower())
        pos += 1 + n
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return ".".join(labels), qtype, qclass, pos + 4


def answer(msg, records):
    (qid, flags, qd) = struct.unpack("!HHH", msg[:6])
    name, qtype, qclass, end = parse_question(msg)
    question = msg[12:end]
    rd = flags & 0x0100
    body = b""
    count = 0
    if name not in records:
        rcode = 3
    else:
        rcode = 0
        if qtype == 1 and qclass == 1:
            body = struct.pack("!HHHIH", 0xC00C, 1, 1, 30, 4) + socket.inet_aton(records[name])
            count = 1
    header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, count, 0, 0)
    return header + question + body, name, qtype


def main():
    bind_ip, port = sys.argv[1], int(sys.argv[2])
    records = dict(arg.lower().split("=", 1) for arg in sys.argv[3:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind_ip, port))
    print(f"dns server on {bind_ip}:{port} names={sorted(records)}", flush=True)
    while True:
        msg, src = sock.recvfrom(4096)
        try:
            reply, name, qtype = answer(msg, records)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            continue
        print(f"query {src[0]} {name} {qtype}", flush=True)
        sock.sendto(reply, src)


if __name__ == "__main__":
    main()
