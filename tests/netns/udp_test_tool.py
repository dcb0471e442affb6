#!/usr/bin/env python3
"""UDP helpers for the netns tests.

  udp_test_tool.py echo IP PORT
      UDP echo server (answers every datagram with the same bytes).
  udp_test_tool.py ping IP PORT COUNT [SOURCE_PORTS]
      Sends COUNT datagrams to IP:PORT from one socket (or, with SOURCE_PORTS=N, from N
      different sockets, one datagram each, oldest first) and checks that each comes back
      unchanged. Exit 0 when every echo arrived.
  udp_test_tool.py socks5 PROXY_IP PROXY_PORT TARGET_HOST TARGET_PORT COUNT
      SOCKS5 UDP ASSOCIATE (RFC 1928 §4/§7) round trip: opens the control connection, relays
      COUNT datagrams to TARGET (an IPv4 literal or a domain name) and checks the echoes and
      the reply header (the source must be an IPv4 address with TARGET_PORT).
"""
import ipaddress
import os
import socket
import struct
import sys

TIMEOUT = 3.0


def echo(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    print(f"udp echo on {ip}:{port}", flush=True)
    while True:
        data, src = s.recvfrom(65535)
        s.sendto(data, src)


def roundtrip(sock, dst, payload):
    sock.sendto(payload, dst)
    data, _ = sock.recvfrom(65535)
    return data == payload


def ping(ip, port, count, source_ports=0):
    dst = (ip, port)
    if source_ports:
        for i in range(source_ports):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(TIMEOUT)
            if not roundtrip(s, dst, b"flow-%d-" % i + os.urandom(16)):
                return 1
            s.close()
        return 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    for i in range(count):
        if not roundtrip(s, dst, b"ping-%d-" % i + os.urandom(32 + 40 * i)):
            return 1
    return 0


def socks5(proxy_ip, proxy_port, host, port, count):
    ctl = socket.create_connection((proxy_ip, proxy_port), timeout=TIMEOUT)
    ctl.sendall(b"\x05\x01\x00")
    if ctl.recv(2) != b"\x05\x00":
        print("method selection failed")
        return 1
    ctl.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")  # client address not known yet
    reply = ctl.recv(10)
    if len(reply) != 10 or reply[1] != 0 or reply[3] != 1:
        print(f"UDP ASSOCIATE refused: {reply!r}")
        return 1
    relay = (socket.inet_ntoa(reply[4:8]), struct.unpack("!H", reply[8:10])[0])
    try:
        ipaddress.IPv4Address(host)
        dst = b"\x01" + socket.inet_aton(host)
    except ValueError:
        dst = b"\x03" + bytes([len(host)]) + host.encode()
    header = b"\x00\x00\x00" + dst + struct.pack("!H", port)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(TIMEOUT)
    for i in range(count):
        payload = b"socks-%d-" % i + os.urandom(24)
        u.sendto(header + payload, relay)
        data, _ = u.recvfrom(65535)
        if data[:4] != b"\x00\x00\x00\x01" or struct.unpack("!H", data[8:10])[0] != port:
            print(f"bad reply header {data[:10]!r}")
            return 1
        if data[10:] != payload:
            print("payload mismatch")
            return 1
    # A fragment (FRAG != 0) must be dropped (RFC 1928 §7): no answer.
    u.sendto(b"\x00\x00\x01" + dst + struct.pack("!H", port) + b"frag", relay)
    u.settimeout(0.5)
    try:
        u.recvfrom(65535)
        print("fragment was relayed")
        return 1
    except socket.timeout:
        pass
    ctl.close()
    print(f"relay {relay[0]}:{relay[1]}: {count} datagrams ok")
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "echo":
        echo(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ping":
        extra = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        sys.exit(ping(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), extra))
    elif cmd == "socks5":
        sys.exit(socks5(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])))
    sys.exit(2)


if __name__ == "__main__":
    main()
