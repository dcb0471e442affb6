#!/usr/bin/env python3
"""Servers and clients for proxy_tcp_test.sh (standard library only).

  serve ADDR PORT DIR         HTTP: GET /<file> from DIR, PUT/POST answers the body's SHA-256
  echo ADDR PORT              TCP echo (asyncio)
  proxyv2 ADDR PORT           reads a PROXY v2 header, answers "OK <src-ip> <src-port>\n"
  socks-many N HOST PORT SIZE N parallel SOCKS5 CONNECTs to an echo server, SIZE bytes each
  socks-bad AUTHPORT PORT     malformed/refused requests; checks every reply code
  slow-read URLHOST PORT PATH SECONDS   SOCKS5 GET, reads ~32 KiB/s for SECONDS, then closes
  vanish N HOST PORT PATH     N SOCKS5 GETs that read 1 MB each and then reset their socket
"""
import asyncio, hashlib, http.server, os, socket, socketserver, struct, sys, threading, time

def socks_connect(host, port, proxy=("127.0.0.1", 1080), auth=None, timeout=20):
    s = socket.create_connection(proxy, timeout=timeout)
    if auth:
        s.sendall(b"\x05\x01\x02")
        assert s.recv(2) == b"\x05\x02"
        u, p = auth
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        assert recv_exact(s, 2) == b"\x01\x00", "auth failed"
    else:
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00"
    ip = socket.inet_aton(host)
    s.sendall(b"\x05\x01\x00\x01" + ip + struct.pack(">H", port))
    rep = recv_exact(s, 10)
    if rep[1] != 0:
        raise RuntimeError("socks reply %d" % rep[1])
    return s

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            break
        buf += c
    return buf

def recv_all(s):
    out = []
    while True:
        c = s.recv(65536)
        if not c:
            return b"".join(out)
        out.append(c)

# ---- servers -------------------------------------------------------------------------------

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        while n > 0:
            c = self.rfile.read(min(n, 1 << 20))
            if not c:
                break
            h.update(c)
            n -= len(c)
        body = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT

def serve(addr, port, directory):
    os.chdir(directory)
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 512
        allow_reuse_address = True
    S((addr, int(port)), Handler).serve_forever()

def echo(addr, port):
    async def handle(r, w):
        try:
            while True:
                d = await r.read(65536)
                if not d:
                    break
                w.write(d)
                await w.drain()
            w.close()
        except Exception:
            pass
    async def main():
        srv = await asyncio.start_server(handle, addr, int(port), backlog=512)
        await srv.serve_forever()
    asyncio.run(main())

def proxyv2(addr, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        hdr = recv_exact(c, 16)
        sig = b"\r\n\r\n\x00\r\nQUIT\n"
        if hdr[:12] != sig or hdr[12] != 0x21 or hdr[13] != 0x11:
            c.sendall(b"BAD\n"); c.close(); continue
        ln = struct.unpack(">H", hdr[14:16])[0]
        body = recv_exact(c, ln)
        src = socket.inet_ntoa(body[0:4]); sport = struct.unpack(">H", body[8:10])[0]
        c.sendall(("OK %s %d\n" % (src, sport)).encode())
        c.close()

# ---- clients -------------------------------------------------------------------------------

def socks_many(n, host, port, size):
    n, port, size = int(n), int(port), int(size)
    payload = os.urandom(size)
    async def one(i):
        r, w = await asyncio.open_connection("127.0.0.1", 1080)
        w.write(b"\x05\x01\x00"); await w.drain()
        assert await r.readexactly(2) == b"\x05\x00"
        w.write(b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)); await w.drain()
        rep = await r.readexactly(10)
        assert rep[1] == 0, "reply %d" % rep[1]
        async def send():
            w.write(payload); await w.drain()
        t = asyncio.ensure_future(send())
        got = await r.readexactly(size)
        await t
        w.close()
        return got == payload
    async def main():
        res = await asyncio.wait_for(asyncio.gather(*[one(i) for i in range(n)], return_exceptions=True), 120)
        ok = sum(1 for x in res if x is True)
        bad = [x for x in res if x is not True][:3]
        print("%d/%d connections ok %s" % (ok, n, bad))
        return ok == n
    sys.exit(0 if asyncio.run(main()) else 1)

def expect_close(s):
    s.settimeout(5)
    try:
        return s.recv(16) == b""
    except ConnectionResetError:
        return True

def socks_bad(auth_port, port):
    auth_port, port = int(auth_port), int(port)
    failures = []
    def check(name, cond):
        print("  %-44s %s" % (name, "ok" if cond else "FAIL"))
        if not cond:
            failures.append(name)
    def conn(p=port):
        return socket.create_connection(("127.0.0.1", p), timeout=15)
    def request(cmd, atyp_addr, p=port, greeting=b"\x05\x01\x00"):
        s = conn(p); s.sendall(greeting); assert recv_exact(s, 2) == b"\x05\x00"
        s.sendall(b"\x05" + bytes([cmd]) + b"\x00" + atyp_addr); return s
    # SOCKS4 / wrong version in the greeting: no reply, close.
    s = conn(); s.sendall(b"\x04\x01\x00\x50\x0a\x4d\x00\x01\x00")
    check("greeting version 4: closed without reply", expect_close(s))
    s = conn(); s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    check("HTTP on the SOCKS port: closed without reply", expect_close(s))
    s = conn(); s.sendall(b"\x05\x01\x02")
    check("only user/pass offered (no auth configured): 05 FF", recv_exact(s, 2) == b"\x05\xff" and expect_close(s))
    s = conn(); s.sendall(b"\x05\x01\x00"); recv_exact(s, 2); s.sendall(b"\x04\x01\x00\x01\x0a\x4d\x00\x01\x00\x50")
    r = recv_exact(s, 10); check("request version 4: REP 01 + close", r[:2] == b"\x05\x01" and expect_close(s))
    s = request(2, b"\x01" + socket.inet_aton("10.77.0.1") + struct.pack(">H", 80))
    r = recv_exact(s, 10); check("BIND: REP 07 + close", r[:2] == b"\x05\x07" and expect_close(s))
    s = request(9, b"\x01" + socket.inet_aton("10.77.0.1") + struct.pack(">H", 80))
    r = recv_exact(s, 10); check("unknown command 9: REP 07 + close", r[:2] == b"\x05\x07" and expect_close(s))
    s = request(1, b"\x05" + b"\x00" * 6)
    r = recv_exact(s, 10); check("address type 5: REP 08 + close", r[:2] == b"\x05\x08" and expect_close(s))
    s = request(1, b"\x01" + socket.inet_aton("192.168.77.1") + struct.pack(">H", 80))
    r = recv_exact(s, 10); check("outside AllowedIPs (host network): REP 02", r[:2] == b"\x05\x02" and expect_close(s))
    s = request(1, b"\x01" + socket.inet_aton("10.77.0.1") + struct.pack(">H", 1))
    r = recv_exact(s, 10); check("closed port on the peer: REP 05", r[:2] == b"\x05\x05" and expect_close(s))
    s = request(1, b"\x03\x0bno.such.tld" + struct.pack(">H", 80))
    r = recv_exact(s, 10); check("unresolvable name: REP 04", r[:2] == b"\x05\x04" and expect_close(s))
    s = conn(auth_port); s.sendall(b"\x05\x01\x02"); ok = recv_exact(s, 2) == b"\x05\x02"
    s.sendall(b"\x01\x04user\x05wrong"); r = recv_exact(s, 2)
    check("wrong password: 01 01 + close", ok and r == b"\x01\x01" and expect_close(s))
    s = conn(auth_port); s.sendall(b"\x05\x01\x00")
    check("auth required, only no-auth offered: 05 FF", recv_exact(s, 2) == b"\x05\xff" and expect_close(s))
    try:
        s = socks_connect("10.77.0.1", 7000, proxy=("127.0.0.1", auth_port), auth=(b"user", b"secret"))
        s.sendall(b"ping"); check("right password: CONNECT works", recv_exact(s, 4) == b"ping")
    except Exception as e:
        check("right password: CONNECT works (%s)" % e, False)
    # HTTP proxy faults.
    def http(req):
        s = socket.create_connection(("127.0.0.1", 8080), timeout=15); s.sendall(req)
        return recv_all(s).split(b"\r\n", 1)[0]
    check("HTTP garbage: 400", http(b"HELLO\r\n\r\n").startswith(b"HTTP/1.1 400"))
    check("HTTP CONNECT outside AllowedIPs: 403",
          http(b"CONNECT 192.168.77.1:80 HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 403"))
    check("HTTP CONNECT to a closed port: 502",
          http(b"CONNECT 10.77.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 502"))
    check("HTTP origin-form: 400", http(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400"))
    def http_auth(req):
        s = socket.create_connection(("127.0.0.1", 8081), timeout=15); s.sendall(req)
        return s
    s = http_auth(b"CONNECT 10.77.0.1:7000 HTTP/1.1\r\nHost: x\r\n\r\n")
    check("HTTP CONNECT without credentials: 407", recv_all(s).startswith(b"HTTP/1.1 407"))
    s = http_auth(b"CONNECT 10.77.0.1:7000 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic dXNlcjp3cm9uZw==\r\n\r\n")
    check("HTTP CONNECT with a wrong password: 407", recv_all(s).startswith(b"HTTP/1.1 407"))
    s = http_auth(b"CONNECT 10.77.0.1:7000 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c: break
        head += c
    s.sendall(b"ping")
    check("HTTP CONNECT with Basic user:secret: 200 + tunnel", head.startswith(b"HTTP/1.1 200") and recv_exact(s, 4) == b"ping")
    sys.exit(1 if failures else 0)

def limit(port):
    """MaxConnections = 2 on this listener: a third client gets REP 0x01, the two keep working."""
    try:
        a = socks_connect("10.77.0.1", 7000, proxy=("127.0.0.1", int(port)))
        b = socks_connect("10.77.0.1", 7000, proxy=("127.0.0.1", int(port)))
        try:
            socks_connect("10.77.0.1", 7000, proxy=("127.0.0.1", int(port)))
            refused = False
        except RuntimeError as e:  # "socks reply 1", then the proxy closes
            refused = str(e) == "socks reply 1"
    except Exception as e:
        print("limit test: %r" % e)
        sys.exit(1)
    ok = True
    for s in (a, b):
        s.sendall(b"still here")
        ok = ok and recv_exact(s, 10) == b"still here"
    print("third refused: %s, first two still work: %s" % (refused, ok))
    sys.exit(0 if refused and ok else 1)

def slow_read(host, port, path, seconds):
    s = socks_connect(host, int(port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("GET /%s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
    end = time.time() + float(seconds); n = 0
    while time.time() < end:
        c = s.recv(4096)
        if not c:
            break
        n += len(c); time.sleep(0.125)
    print("slow reader read %d bytes in %s s" % (n, seconds))
    s.close()

def vanish(n, host, port, path):
    socks = []
    for _ in range(int(n)):
        s = socks_connect(host, int(port))
        s.sendall(("GET /%s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
        socks.append(s)
    for s in socks:
        got = 0
        while got < (1 << 20):
            c = s.recv(65536)
            if not c:
                break
            got += len(c)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print("%s clients vanished after 1 MB each" % n)

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "echo": echo, "proxyv2": proxyv2, "socks-many": socks_many,
     "socks-bad": socks_bad, "limit": limit, "slow-read": slow_read, "vanish": vanish}[cmd](*args)
