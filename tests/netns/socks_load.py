#!/usr/bin/env python3
"""SOCKS5 load client for proxy_load_test.sh (asyncio, standard library only).

  hold N PORT HOST DPORT SIZE SYNCDIR
      N concurrent SOCKS5 CONNECTs via 127.0.0.1:PORT to the echo server HOST:DPORT, SIZE
      bytes echoed on each; then writes SYNCDIR/open and holds all of them until SYNCDIR/go
      exists, echoes SIZE bytes on each again, closes them and exits 0 if every step of every
      connection succeeded.
  over LIMITED_PORT LIMIT FREE_PORT ROOM HOST DPORT
      LIMITED_PORT has MaxConnections = LIMIT: LIMIT CONNECTs succeed, the next gets REP 0x01.
      Then CONNECTs via FREE_PORT until the stack's MaxTcpConnections: ROOM succeed, the next
      gets REP 0x01. All held ones still echo; exits 0 if all of that held.
  pressure N PORT HOST DPORT BYTES SYNCDIR
      N connections each upload BYTES to a `sink` at HOST:DPORT that does not read yet, so
      tunless's send buffers fill the stack's memory cap; when the uploads stall, writes
      SYNCDIR/full and waits. Once the sink reads (its gate file), every upload must complete
      and the sink must report the SHA-256 of exactly what was sent; exits 0 if so.
  sink ADDR PORT GATE
      server: per connection, waits until the file GATE exists, then reads to EOF and answers
      the SHA-256 (hex) of what it read.
  bulk PORT HOST DPORT BYTES
      BYTES (a multiple of 64 KiB) echoed through one connection, sent and received at once;
      prints MB/s and exits 0 if the bytes came back unchanged.
"""
import asyncio, hashlib, os, socket, struct, sys, time

HANDSHAKES_IN_FLIGHT = 64  # below the listener's accept backlog (proxy/limits.hpp: 128)


async def socks_open(port, host, dport, timeout=20):
    """Returns (reader, writer, rep); rep is the REP byte, or -1 if the proxy closed/reset."""
    async def go():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        try:
            w.write(b"\x05\x01\x00")
            await w.drain()
            if await r.readexactly(2) != b"\x05\x00":
                raise RuntimeError("method selection refused")
            w.write(b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack(">H", dport))
            await w.drain()
            rep = await r.readexactly(10)
            return r, w, rep[1]
        except (asyncio.IncompleteReadError, ConnectionError):
            w.close()
            return None, None, -1
    return await asyncio.wait_for(go(), timeout)


async def echo(r, w, payload, timeout=30):
    async def go():
        w.write(payload)
        await w.drain()
        return await r.readexactly(len(payload)) == payload
    return await asyncio.wait_for(go(), timeout)


def hold(n, port, host, dport, size, sync):
    n, port, dport, size = int(n), int(port), int(dport), int(size)
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)

    async def one(i, opened, go):
        payload = os.urandom(size)
        async with gate:
            r, w, rep = await socks_open(port, host, dport)
        if rep != 0:
            raise RuntimeError("connection %d: REP %d" % (i, rep))
        if not await echo(r, w, payload):
            raise RuntimeError("connection %d: first echo differs" % i)
        opened.append(i)
        await go.wait()
        if not await echo(r, w, payload[::-1]):
            raise RuntimeError("connection %d: second echo differs" % i)
        w.close()
        await w.wait_closed()
        return True

    async def main():
        opened, go = [], asyncio.Event()
        t0 = time.time()
        tasks = [asyncio.ensure_future(one(i, opened, go)) for i in range(n)]
        while len(opened) < n and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        print("opened %d/%d connections, %d bytes echoed on each, in %.1f s"
              % (len(opened), n, size, time.time() - t0), flush=True)
        if len(opened) == n:
            open(os.path.join(sync, "open"), "w").close()
            while not os.path.exists(os.path.join(sync, "go")):
                await asyncio.sleep(0.1)
        go.set()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        ok = sum(1 for x in res if x is True)
        bad = [repr(x) for x in res if x is not True][:3]
        print("%d/%d connections echoed again and closed %s" % (ok, n, " ".join(bad)), flush=True)
        return ok == n

    sys.exit(0 if asyncio.run(main()) else 1)


def over(limited_port, limit, free_port, room, host, dport):
    limited_port, limit, free_port, room, dport = map(int, (limited_port, limit, free_port, room, dport))

    async def main():
        held, good = [], True
        for _ in range(limit):
            r, w, rep = await socks_open(limited_port, host, dport)
            if rep != 0:
                print("port %d: CONNECT under MaxConnections got REP %d" % (limited_port, rep))
                return False
            held.append((r, w))
        _, w, rep = await socks_open(limited_port, host, dport)
        print("port %d (MaxConnections = %d): connection %d got REP %d"
              % (limited_port, limit, limit + 1, rep))
        good = good and rep == 1
        if w:
            w.close()
        opened = 0
        while opened <= room:
            r, w, rep = await socks_open(free_port, host, dport)
            if rep != 0:
                break
            held.append((r, w))
            opened += 1
        print("port %d: %d more CONNECTs succeeded (room under MaxTcpConnections: %d), "
              "then REP %d" % (free_port, opened, room, rep))
        good = good and opened == room and rep == 1
        if w and rep != 0:
            w.close()
        echoed = 0
        for r, w in held:
            echoed += await echo(r, w, os.urandom(512))
            w.close()
        print("%d/%d held connections still echo" % (echoed, len(held)))
        return good and echoed == len(held)

    sys.exit(0 if asyncio.run(main()) else 1)


def pressure(n, port, host, dport, nbytes, sync):
    n, port, dport, nbytes = int(n), int(port), int(dport), int(nbytes)
    sent = [0] * n

    async def one(i, go):
        r, w, rep = await socks_open(port, host, dport)
        if rep != 0:
            raise RuntimeError("connection %d: REP %d" % (i, rep))
        h, block = hashlib.sha256(), os.urandom(1 << 14)
        while sent[i] < nbytes:
            w.write(block)
            h.update(block)
            await w.drain()
            sent[i] += len(block)
        w.write_eof()
        await go.wait()
        digest = await asyncio.wait_for(r.readexactly(64), 60)
        w.close()
        return digest.decode() == h.hexdigest()

    async def main():
        go = asyncio.Event()
        tasks = [asyncio.ensure_future(one(i, go)) for i in range(n)]
        last, still, t0 = -1, 0, time.time()
        while still < 10 and time.time() - t0 < 30 and not any(t.done() for t in tasks):
            await asyncio.sleep(0.1)
            total = sum(sent)
            still = still + 1 if total == last and total > 0 else 0
            last = total
        print("pressure: uploads stalled after %.1f MB (%d connections)" % (last / 1e6, n), flush=True)
        open(os.path.join(sync, "full"), "w").close()
        go.set()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        ok = sum(1 for x in res if x is True)
        bad = [repr(x) for x in res if x is not True][:3]
        print("pressure: %d/%d uploads of %d bytes arrived intact %s" % (ok, n, nbytes, " ".join(bad)))
        return ok == n

    sys.exit(0 if asyncio.run(main()) else 1)


def sink(addr, port, gate):
    async def handle(r, w):
        try:
            while not os.path.exists(gate):
                await asyncio.sleep(0.1)
            h = hashlib.sha256()
            while True:
                d = await r.read(1 << 16)
                if not d:
                    break
                h.update(d)
            w.write(h.hexdigest().encode())
            await w.drain()
            w.close()
        except Exception:
            pass

    async def main():
        srv = await asyncio.start_server(handle, addr, int(port), backlog=512)
        await srv.serve_forever()
    asyncio.run(main())


def bulk(port, host, dport, nbytes):
    port, dport, nbytes = int(port), int(dport), int(nbytes)

    async def main():
        r, w, rep = await socks_open(port, host, dport)
        if rep != 0:
            print("bulk: REP %d" % rep)
            return False
        block = os.urandom(1 << 16)
        t0 = time.time()

        async def send():
            for _ in range(nbytes // len(block)):
                w.write(block)
                await w.drain()
        sender = asyncio.ensure_future(send())
        got, h = 0, hashlib.sha256()
        while got < nbytes:
            chunk = await asyncio.wait_for(r.read(1 << 16), 30)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        await sender
        w.close()
        dt = time.time() - t0
        want = hashlib.sha256(block * (nbytes // len(block))).digest()
        same = h.digest() == want
        print("bulk: %d bytes echoed in %.2f s, %.1f MB/s each way, %s"
              % (got, dt, got / dt / 1e6, "same bytes" if same else "DIFFERENT bytes"))
        return got == nbytes and same

    sys.exit(0 if asyncio.run(main()) else 1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"hold": hold, "over": over, "pressure": pressure, "sink": sink, "bulk": bulk}[cmd](*args)
