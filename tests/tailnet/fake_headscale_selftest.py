#!/usr/bin/python3
"""Self-test of fake_headscale.py with a minimal, independently written Python client.

The client side here (Noise IK initiator per the Noise spec + tailscale controlbase framing,
HTTP/2 via h2 with client_side=True, DERP client) deliberately imports nothing from fakehs, so the
two halves check each other. Starts the server on 127.0.0.1 with TLS, registers nodes, follows map
streams, relays a DERP packet, deletes a node, changes the policy. Prints "N passed, N failed" and
exits 0 only if all checks pass. Runs in well under 20 s.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import h2.config
import h2.connection
import h2.events
import nacl.public
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base

HERE = os.path.dirname(os.path.abspath(__file__))
CAPVER = 130
HOSTNAME = "control.fakehs.test"
STEP_TIMEOUT = 5.0

RESULTS = []


def check(name, cond, detail=""):
    RESULTS.append((name, bool(cond)))
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else f"  [{detail}]"), flush=True)
    return bool(cond)


# ---------------------------------------------------------------- keys

def keypair():
    b = bytearray(os.urandom(32))
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    priv = bytes(b)
    return priv, crypto_scalarmult_base(priv)


# ---------------------------------------------------------------- Noise IK initiator (client)

def b2s(data):
    return hashlib.blake2s(data, digest_size=32).digest()


def hkdf(ck, ikm, n):
    prk = hmac.new(ck, ikm, hashlib.blake2s).digest()
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac.new(prk, prev + bytes([i]), hashlib.blake2s).digest()
        out.append(prev)
    return out


class Initiator:
    """Noise_IK_25519_ChaChaPoly_BLAKE2s, initiator role (Noise spec sections 5 and 7.5)."""

    def __init__(self, machine_priv, server_pub, version):
        self.s_priv = machine_priv
        self.rs = server_pub
        self.version = version
        self.h = b2s(b"Noise_IK_25519_ChaChaPoly_BLAKE2s")
        self.ck = self.h
        self._mix_hash(b"Tailscale Control Protocol v%d" % version)
        self._mix_hash(server_pub)

    def _mix_hash(self, data):
        self.h = b2s(self.h + data)

    def _mix_key(self, dh):
        self.ck, k = hkdf(self.ck, dh, 2)
        return k

    def _enc(self, k, pt):
        ct = ChaCha20Poly1305(k).encrypt(b"\0" * 12, pt, self.h)
        self._mix_hash(ct)
        return ct

    def initiation(self):
        self.e_priv, e_pub = keypair()
        self._mix_hash(e_pub)
        k = self._mix_key(crypto_scalarmult(self.e_priv, self.rs))
        enc_s = self._enc(k, crypto_scalarmult_base(self.s_priv))
        k = self._mix_key(crypto_scalarmult(self.s_priv, self.rs))
        tag = self._enc(k, b"")
        payload = e_pub + enc_s + tag
        return struct.pack(">HBH", self.version, 1, len(payload)) + payload

    def finish(self, resp):
        assert resp[0] == 2 and struct.unpack(">H", resp[1:3])[0] == 48, resp[:3].hex()
        re = resp[3:35]
        self._mix_hash(re)
        self._mix_key(crypto_scalarmult(self.e_priv, re))
        k = self._mix_key(crypto_scalarmult(self.s_priv, re))
        ChaCha20Poly1305(k).decrypt(b"\0" * 12, resp[35:51], self.h)
        self._mix_hash(resp[35:51])
        k1, k2 = hkdf(self.ck, b"", 2)
        return k1, k2  # client->server, server->client


class Records:
    """controlbase transport records as the client sees them: BE64 counter nonce."""

    def __init__(self, tx, rx):
        self.tx, self.rx = ChaCha20Poly1305(tx), ChaCha20Poly1305(rx)
        self.ntx = self.nrx = 0
        self.buf = b""
        self.max_record_seen = 0

    def seal(self, data):
        out = b""
        for i in range(0, len(data), 4077):
            ct = self.tx.encrypt(b"\0\0\0\0" + self.ntx.to_bytes(8, "big"), data[i:i + 4077], None)
            self.ntx += 1
            out += b"\x04" + len(ct).to_bytes(2, "big") + ct
        return out

    def open(self, data):
        self.buf += data
        out = b""
        while len(self.buf) >= 3:
            n = int.from_bytes(self.buf[1:3], "big")
            if len(self.buf) < 3 + n:
                break
            assert self.buf[0] == 4, f"record type {self.buf[0]}"
            self.max_record_seen = max(self.max_record_seen, 3 + n)
            out += self.rx.decrypt(b"\0\0\0\0" + self.nrx.to_bytes(8, "big"),
                                   self.buf[3:3 + n], None)
            self.nrx += 1
            self.buf = self.buf[3 + n:]
        return out


# ---------------------------------------------------------------- transport helpers

async def open_tls(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    return await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=HOSTNAME)


async def read_head(reader):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), STEP_TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


# ---------------------------------------------------------------- control client

class ControlClient:
    def __init__(self, port, ca, server_pub, version=CAPVER):
        self.port, self.ca, self.server_pub, self.version = port, ca, server_pub, version
        self.machine_priv, self.machine_pub = keypair()
        self.node_priv, self.node_pub = keypair()
        self.disco_priv, self.disco_pub = keypair()
        self.streams = {}
        self.early = None

    @property
    def node_key(self):
        return "nodekey:" + self.node_pub.hex()

    async def connect(self):
        """Returns after the early payload and h2 setup, or raises EOFError if closed after 101."""
        self.reader, self.writer = await open_tls(self.port, self.ca)
        hs = Initiator(self.machine_priv, self.server_pub, self.version)
        init = hs.initiation()
        assert len(init) == 101
        self.writer.write((
            "POST /ts2021 HTTP/1.1\r\nHost: %s\r\nUpgrade: tailscale-control-protocol\r\n"
            "Connection: upgrade\r\nX-Tailscale-Handshake: %s\r\nContent-Length: 0\r\n\r\n"
            % (HOSTNAME, base64.b64encode(init).decode())).encode())
        status, hdrs = await read_head(self.reader)
        assert status == 101 and hdrs.get("upgrade") == "tailscale-control-protocol", (status, hdrs)
        try:
            resp = await asyncio.wait_for(self.reader.readexactly(51), STEP_TIMEOUT)
        except asyncio.IncompleteReadError as exc:
            raise EOFError("closed after 101") from exc
        self.rec = Records(*hs.finish(resp))
        plain = b""
        while len(plain) < 9:
            plain += self.rec.open(await asyncio.wait_for(self.reader.read(65536), STEP_TIMEOUT))
        if plain[:5] == b"\xff\xff\xffTS":
            n = int.from_bytes(plain[5:9], "big")
            while len(plain) < 9 + n:
                plain += self.rec.open(await asyncio.wait_for(self.reader.read(65536), STEP_TIMEOUT))
            self.early = json.loads(plain[9:9 + n])
            plain = plain[9 + n:]
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                       header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(1 << 24)
        self._flush()
        self.task = asyncio.ensure_future(self._read_loop(plain))

    def _flush(self):
        data = self.h2.data_to_send()
        if data:
            self.writer.write(self.rec.seal(data))

    async def _read_loop(self, first):
        data = first
        try:
            while True:
                if data:
                    for ev in self.h2.receive_data(data):
                        self._event(ev)
                    self._flush()
                raw = await self.reader.read(65536)
                if not raw:
                    break
                data = self.rec.open(raw)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for q in self.streams.values():
                q.put_nowait(("end", None))

    def _event(self, ev):
        q = self.streams.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived) and q:
            q.put_nowait(("headers", dict(ev.headers)))
        elif isinstance(ev, h2.events.DataReceived) and q:
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            q.put_nowait(("data", ev.data))
        elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and q:
            q.put_nowait(("end", None))

    def start_request(self, path, body):
        sid = self.h2.get_next_available_stream_id()
        self.streams[sid] = asyncio.Queue()
        raw = json.dumps(body).encode()
        self.h2.send_headers(sid, [(":method", "POST"), (":scheme", "https"), (":path", path),
                                   (":authority", HOSTNAME), ("content-type", "application/json"),
                                   ("content-length", str(len(raw)))])
        self.h2.send_data(sid, raw, end_stream=True)
        self._flush()
        return sid

    async def request(self, path, body, timeout=STEP_TIMEOUT):
        sid = self.start_request(path, body)
        q = self.streams[sid]
        status, data = None, b""
        while True:
            kind, val = await asyncio.wait_for(q.get(), timeout)
            if kind == "headers":
                status = int(val[":status"])
            elif kind == "data":
                data += val
            else:
                return status, data

    def base_req(self, **kw):
        d = {"Version": self.version, "NodeKey": self.node_key,
             "Hostinfo": {"Hostname": kw.pop("hostname", "node"), "OS": "linux"}}
        d.update(kw)
        return d

    async def register(self, hostname, **kw):
        st, body = await self.request("/machine/register", self.base_req(hostname=hostname, **kw))
        return st, json.loads(body) if body else None

    def open_map(self, hostname, **kw):
        req = self.base_req(hostname=hostname, DiscoKey="discokey:" + self.disco_pub.hex(),
                            Stream=True, KeepAlive=True, Compress="", **kw)
        sid = self.start_request("/machine/map", req)
        return MapStream(self.streams[sid])

    def close(self):
        self.task.cancel()
        self.writer.close()


class MapStream:
    def __init__(self, q):
        self.q, self.buf, self.status, self.messages = q, b"", None, []

    async def next(self, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "little")
                if len(self.buf) >= 4 + n:
                    msg = json.loads(self.buf[4:4 + n])
                    self.buf = self.buf[4 + n:]
                    self.messages.append(msg)
                    return msg
            kind, val = await asyncio.wait_for(self.q.get(), max(0.01, deadline - time.monotonic()))
            if kind == "headers":
                self.status = int(val[":status"])
            elif kind == "data":
                self.buf += val
            else:
                raise EOFError("map stream ended")

    async def wait_for(self, pred, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = await self.next(deadline - time.monotonic())
            if pred(msg):
                return msg
        raise asyncio.TimeoutError()


# ---------------------------------------------------------------- DERP client

class DerpClient:
    MAGIC = b"DERP\xf0\x9f\x94\x91"

    def __init__(self, port, ca, node_priv, node_pub):
        self.port, self.ca, self.priv, self.pub = port, ca, node_priv, node_pub

    async def connect(self):
        self.reader, self.writer = await open_tls(self.port, self.ca)
        self.writer.write(("GET /derp HTTP/1.1\r\nHost: %s\r\nUpgrade: DERP\r\n"
                           "Connection: Upgrade\r\n\r\n" % HOSTNAME).encode())
        status, self.headers = await read_head(self.reader)
        assert status == 101, status
        t, payload = await self.frame()
        assert t == 1 and payload[:8] == self.MAGIC, (t, payload[:8])
        self.server_pub = payload[8:40]
        box = nacl.public.Box(nacl.public.PrivateKey(self.priv), nacl.public.PublicKey(self.server_pub))
        sealed = box.encrypt(json.dumps({"version": 2, "CanAckPings": True}).encode())
        self.send(2, self.pub + bytes(sealed))
        t, payload = await self.frame()
        assert t == 3, t
        self.server_info = json.loads(box.decrypt(payload[24:], payload[:24]))

    async def frame(self, timeout=STEP_TIMEOUT):
        head = await asyncio.wait_for(self.reader.readexactly(5), timeout)
        t, n = struct.unpack(">BI", head)
        return t, await asyncio.wait_for(self.reader.readexactly(n), timeout)

    async def frame_of(self, want, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            t, p = await self.frame(max(0.01, deadline - time.monotonic()))
            if t == want:
                return p

    def send(self, t, payload):
        self.writer.write(struct.pack(">BI", t, len(payload)) + payload)

    def close(self):
        self.writer.close()


# ---------------------------------------------------------------- admin helper

class Admin:
    def __init__(self, url):
        self.url = url

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    async def acall(self, *a):
        return await asyncio.get_running_loop().run_in_executor(None, self.call, *a)


def http_get(port, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    conn.sock = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", port), 5),
                                server_hostname=HOSTNAME)
    conn.request("GET", path, headers={"Host": HOSTNAME})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


# ---------------------------------------------------------------- the test scenario

def has_peer(msg, key, field="Peers"):
    return any(p.get("Key") == key for p in msg.get(field) or [])


async def scenario(ready):
    port = int(ready["listen"].rsplit(":", 1)[1])
    ca = ready["ca"]
    adm = Admin(ready["admin_url"])
    loop = asyncio.get_running_loop()

    # /key
    st, body = await loop.run_in_executor(None, http_get, port, ca, f"/key?v={CAPVER}")
    server_pub = bytes.fromhex(json.loads(body)["publicKey"][len("mkey:"):]) if st == 200 else b""
    check("GET /key returns the Noise key of the ready line",
          st == 200 and "mkey:" + server_pub.hex() == ready["control_public_key"], (st, body))
    st, body = await loop.run_in_executor(None, http_get, port, ca, "/key")
    check("GET /key without v is 400", st == 400, st)
    st, body = await loop.run_in_executor(None, http_get, port, ca, "/key?v=38")
    check("GET /key?v=38 is an empty 200", st == 200 and body == b"", (st, body))

    # capability-version gate: 101, then EOF
    old = ControlClient(port, ca, server_pub, version=100)
    try:
        await old.connect()
        check("capver 100 is refused with 101 then EOF", False, "handshake completed")
    except EOFError:
        check("capver 100 is refused with 101 then EOF", True)
    old.writer.close()

    a = ControlClient(port, ca, server_pub)
    b = ControlClient(port, ca, server_pub)
    await a.connect()
    await b.connect()
    check("early payload carries a chalpub challenge",
          str((a.early or {}).get("nodeKeyChallenge", "")).startswith("chalpub:"), a.early)

    st, bad = await a.register("alpha", Auth={"AuthKey": "no-such-key"})
    check("unknown pre-auth key gives RegisterResponse.Error", st == 200 and bad.get("Error"), bad)
    st, old_reg = await a.request("/machine/register", dict(a.base_req(hostname="x"), Version=100))
    check("register with capver 100 is 400", st == 400, st)

    key = ready["preauth_keys"][0]
    st, ra = await a.register("alpha", Auth={"AuthKey": key})
    st2, rb = await b.register("Beta Host!", Auth={"AuthKey": key})
    check("node A registers with the pre-auth key", st == 200 and ra.get("MachineAuthorized"), ra)
    check("node B registers with the same reusable key", st2 == 200 and rb.get("MachineAuthorized"), rb)
    st, again = await a.register("alpha")
    check("known node without Auth is authorized", again.get("MachineAuthorized") is True, again)

    ma = a.open_map("alpha")
    full_a = await ma.next()
    node = full_a.get("Node") or {}
    region = (full_a.get("DERPMap") or {}).get("Regions", {}).get("999", {})
    dnode = (region.get("Nodes") or [{}])[0]
    check("full map: self node with 100.64.0.N/32 and fd7a:115c:a1e0::N/128",
          any(x.startswith("100.64.0.") and x.endswith("/32") for x in node.get("Addresses", []))
          and any(x.startswith("fd7a:115c:a1e0::") for x in node.get("Addresses", [])), node)
    check("full map: self Name is <host>.<basedomain>.",
          node.get("Name") == "alpha.fakehs.test." and node.get("Key") == a.node_key, node.get("Name"))
    check("full map: DERP region 999 points at this server",
          region.get("RegionCode") == "headscale" and dnode.get("DERPPort") == port
          and dnode.get("HostName") == HOSTNAME and dnode.get("STUNPort") == -1, region)
    check("full map: allow-all PacketFilters base",
          (full_a.get("PacketFilters") or {}).get("base", [{}])[0].get("SrcIPs") == ["*"],
          full_a.get("PacketFilters"))
    check("full map: peer B listed with AllowedIPs", has_peer(full_a, b.node_key), full_a.get("Peers"))

    mb = b.open_map("Beta Host!")
    full_b = await mb.next()
    peer_a = [p for p in full_b.get("Peers", []) if p.get("Key") == a.node_key]
    check("B's full map has A online with its DiscoKey",
          peer_a and peer_a[0].get("Online") is True
          and peer_a[0].get("DiscoKey") == "discokey:" + a.disco_pub.hex(), peer_a)
    check("B's name is sanitised", (full_b.get("Node") or {}).get("Name") == "beta-host.fakehs.test.",
          (full_b.get("Node") or {}).get("Name"))
    try:
        await ma.wait_for(lambda m: has_peer(m, b.node_key, "PeersChanged"))
        check("A gets PeersChanged when B's stream opens", True)
    except asyncio.TimeoutError:
        check("A gets PeersChanged when B's stream opens", False, ma.messages[-3:])

    # Lite endpoint update from B.
    lite = b.base_req(hostname="Beta Host!", DiscoKey="discokey:" + b.disco_pub.hex(),
                      Stream=False, OmitPeers=True, Endpoints=["192.0.2.7:41641"],
                      EndpointTypes=[2])
    lite["Hostinfo"]["NetInfo"] = {"PreferredDERP": 999}
    st, body = await b.request("/machine/map", lite)
    check("lite update (Stream:false, OmitPeers:true) is an empty 200", st == 200 and body == b"",
          (st, body))
    try:
        await ma.wait_for(lambda m: any(p.get("Key") == b.node_key and p.get("HomeDERP") == 999
                                              and p.get("Endpoints") == ["192.0.2.7:41641"]
                                              for p in m.get("PeersChanged") or []))
        check("A sees B's endpoints and HomeDERP 999", True)
    except asyncio.TimeoutError:
        check("A sees B's endpoints and HomeDERP 999", False, ma.messages[-3:])

    try:
        await ma.wait_for(lambda m: m.get("KeepAlive") is True, timeout=3)
        check("KeepAlive message on the map stream", True)
    except asyncio.TimeoutError:
        check("KeepAlive message on the map stream", False)

    # A large map (> one Noise record): a node with a big Hostinfo.
    big = ControlClient(port, ca, server_pub)
    await big.connect()
    st, rbig = await big.register("bigone", Auth={"AuthKey": key})
    bigreq = big.base_req(hostname="bigone", DiscoKey="discokey:" + big.disco_pub.hex(),
                          Stream=False, OmitPeers=True)
    bigreq["Hostinfo"]["Services"] = [{"Proto": "tcp", "Port": i, "Description": "x" * 40}
                                      for i in range(200)]
    st, _ = await big.request("/machine/map", bigreq)
    try:
        await ma.wait_for(lambda m: any(p.get("Key") == big.node_key
                                        and (p.get("Hostinfo") or {}).get("Services")
                                        for p in m.get("PeersChanged") or []))
        check("a >4 KiB map message spans several Noise records",
              a.rec.max_record_seen == 4096 and big.rec.ntx > 2, a.rec.max_record_seen)
    except asyncio.TimeoutError:
        check("a >4 KiB map message spans several Noise records", False, st)

    # DERP relay.
    da = DerpClient(port, ca, a.node_priv, a.node_pub)
    db = DerpClient(port, ca, b.node_priv, b.node_pub)
    await da.connect()
    await db.connect()
    check("DERP 101 carries Derp-Version 2 and the server key",
          da.headers.get("derp-version") == "2"
          and da.headers.get("derp-public-key") == ready["derp_public_key"], da.headers)
    check("DERP ServerInfo opens with version 2", da.server_info.get("version") == 2, da.server_info)
    da.send(7, b"\x01")
    payload = b"\x04\x00\x00\x00hello-from-A" + os.urandom(100)
    da.send(4, b.node_pub + payload)
    got = await db.frame_of(5)
    check("DERP relays A->B with the source key", got == a.node_pub + payload, got[:40].hex())
    da.send(0x12, b"12345678")
    check("DERP Ping -> Pong", await da.frame_of(0x13) == b"12345678")
    stranger_priv, stranger_pub = keypair()
    ds = DerpClient(port, ca, stranger_priv, stranger_pub)
    try:
        await ds.connect()
        check("DERP rejects an unregistered node key", False, "got ServerInfo")
    except (asyncio.IncompleteReadError, ConnectionError, AssertionError):
        check("DERP rejects an unregistered node key", True)
    db.send(4, a.node_pub + b"reply")
    await da.frame_of(5)
    da.close()
    try:
        gone = await db.frame_of(8)
        check("PeerGone(A, disconnected) to B after A leaves", gone == a.node_pub + b"\x00", gone.hex())
    except asyncio.TimeoutError:
        check("PeerGone(A, disconnected) to B after A leaves", False, "timeout")
    da2 = DerpClient(port, ca, a.node_priv, a.node_pub)
    await da2.connect()
    da2.send(4, b.node_pub + os.urandom(64 * 1024 + 1))
    try:
        await da2.frame(timeout=3)
        check("oversized DERP packet closes the connection", False, "still open")
    except (asyncio.IncompleteReadError, ConnectionError):
        check("oversized DERP packet closes the connection", True)
    st, stats = await adm.acall("GET", "/admin/derp-stats")
    check("admin derp-stats counts frames", stats["frames_in"].get("SendPacket", 0) >= 2
          and stats["frames_out"].get("RecvPacket", 0) >= 2
          and stats["counters"].get("closed_bad_frame", 0) >= 1, stats)

    # Interactive login of node C.
    c = ControlClient(port, ca, server_pub)
    await c.connect()
    st, rc = await c.register("gamma")
    url = (rc or {}).get("AuthURL", "")
    check("no Auth on an unknown node gives AuthURL <server>/register/<id>",
          url.startswith(ready["url"] + "/register/"), rc)
    follow = asyncio.ensure_future(c.register("gamma", Followup=url))
    await asyncio.sleep(0.3)
    check("Followup blocks until approval", not follow.done())
    st, ap = await adm.acall("POST", "/admin/approve", {"auth_id": url.rsplit("/", 1)[1]})
    st, rc2 = await asyncio.wait_for(follow, STEP_TIMEOUT)
    check("approval completes the Followup with MachineAuthorized",
          rc2.get("MachineAuthorized") is True, rc2)

    # Policy change -> PacketFilters.
    rules = [{"SrcIPs": ["100.64.0.2/32"], "DstPorts": [{"IP": "*", "Ports": {"First": 22, "Last": 22}}]}]
    st, _ = await adm.acall("PUT", "/admin/policy", {"rules": rules})
    try:
        await ma.wait_for(lambda m: (m.get("PacketFilters") or {}).get("base") == rules)
        check("policy change reaches the stream as PacketFilters", st == 200)
    except asyncio.TimeoutError:
        check("policy change reaches the stream as PacketFilters", False, ma.messages[-2:])

    # Delete B -> PeersRemoved.
    st, nodes = await adm.acall("GET", "/admin/nodes")
    bid = [n["id"] for n in nodes if n["node_key"] == b.node_key][0]
    st, _ = await adm.acall("DELETE", f"/admin/nodes/{bid}")
    try:
        await ma.wait_for(lambda m: bid in (m.get("PeersRemoved") or []))
        check("deleting B sends PeersRemoved to A", st == 200)
    except asyncio.TimeoutError:
        check("deleting B sends PeersRemoved to A", False, ma.messages[-2:])
    try:
        await mb.wait_for(lambda m: False, timeout=2)
    except EOFError:
        check("B's own stream ends after deletion", True)
    except asyncio.TimeoutError:
        check("B's own stream ends after deletion", False)
    st, body = await b.request("/machine/map", lite)
    check("map for a deleted node is 404", st == 404, (st, body))

    # A's stream closes -> OnlineChange at C? C has no stream; check with big's stream instead.
    mbig = big.open_map("bigone")
    await mbig.next()
    a.close()
    try:
        await mbig.wait_for(lambda m: any(v is False for v in (m.get("OnlineChange") or {}).values()))
        check("closing A's connection sends OnlineChange false", True)
    except asyncio.TimeoutError:
        check("closing A's connection sends OnlineChange false", False, mbig.messages[-2:])
    for cl in (b, big, c):
        cl.close()
    db.close()
    da2.close()


async def expect_closed(reader, timeout=STEP_TIMEOUT):
    """True if the peer closes (EOF/reset) within timeout, draining whatever it sends first."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not await asyncio.wait_for(reader.read(65536), deadline - time.monotonic()):
                return True
    except (ConnectionError, ssl.SSLError):
        return True
    except asyncio.TimeoutError:
        return False
    return False


async def upgrade_raw(port, ca, init_bytes):
    reader, writer = await open_tls(port, ca)
    writer.write(("POST /ts2021 HTTP/1.1\r\nHost: x\r\nUpgrade: tailscale-control-protocol\r\n"
                  "Connection: upgrade\r\nX-Tailscale-Handshake: %s\r\n\r\n"
                  % base64.b64encode(init_bytes).decode()).encode())
    return reader, writer


async def robustness(ready):
    """Malformed input gets a log line and a closed connection, never a dead server."""
    port = int(ready["listen"].rsplit(":", 1)[1])
    ca = ready["ca"]
    server_pub = bytes.fromhex(ready["control_public_key"][5:])
    r, w = await open_tls(port, ca)
    w.write(b"\x00\x01garbage request line\r\n\r\n")
    check("garbage HTTP request gets 400 and close",
          (await asyncio.wait_for(r.read(100), STEP_TIMEOUT)).startswith(b"HTTP/1.1 400"))
    w.close()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(os.urandom(300))
    check("non-TLS bytes on the TLS port are dropped", await expect_closed(r))
    w.close()
    for name, init in (("short handshake", os.urandom(50)),
                       ("random 101-byte handshake", struct.pack(">HBH", CAPVER, 1, 96) + os.urandom(96)),
                       ("low-order ephemeral key", struct.pack(">HBH", CAPVER, 1, 96) + bytes(96))):
        r, w = await upgrade_raw(port, ca, init)
        status, _ = await read_head(r)
        check(f"{name}: 101 then EOF", status == 101 and await expect_closed(r), status)
        w.close()
    wrong_priv, wrong_pub = keypair()
    hs = Initiator(keypair()[0], wrong_pub, CAPVER)
    r, w = await upgrade_raw(port, ca, hs.initiation())
    status, _ = await read_head(r)
    check("handshake for the wrong server key: 101 then EOF",
          status == 101 and await expect_closed(r), status)
    w.close()
    cl = ControlClient(port, ca, server_pub)
    await cl.connect()
    cl.task.cancel()
    cl.writer.write(b"\x04\x00\x20" + os.urandom(32))
    check("undecryptable Noise record closes the session", await expect_closed(cl.reader))
    cl.writer.close()
    cl = ControlClient(port, ca, server_pub)
    await cl.connect()
    cl.task.cancel()
    cl.writer.write(cl.rec.seal(b"\x00\x00\x08\x00\x00\x00\x00\x00\x00" + os.urandom(8)))
    check("invalid HTTP/2 (DATA on stream 0) closes the session", await expect_closed(cl.reader))
    cl.writer.close()
    cl = ControlClient(port, ca, server_pub)
    await cl.connect()
    st, body = await cl.request("/machine/map", {"Version": CAPVER, "NodeKey": 17})
    st2, body2 = await cl.request("/machine/register", {"Version": CAPVER, "NodeKey": ""})
    st3, body3 = await cl.request("/machine/map", [1, 2])
    check("malformed map/register bodies get 4xx/Error, session stays",
          st == 404 and st2 == 200 and json.loads(body2).get("Error") and st3 == 400,
          (st, body, st2, body2, st3))
    cl.close()
    d = DerpClient(port, ca, *keypair())
    d.reader, d.writer = await open_tls(port, ca)
    d.writer.write(b"GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\n\r\n")
    await read_head(d.reader)
    await d.frame()
    d.send(2, os.urandom(90))
    check("DERP ClientInfo that does not open closes the connection", await expect_closed(d.reader))
    d.close()
    loop = asyncio.get_running_loop()
    st, body = await loop.run_in_executor(None, http_get, port, ca, f"/key?v={CAPVER}")
    check("server still answers /key after the abuse", st == 200, st)


def main():
    with tempfile.TemporaryDirectory(prefix="fakehs-selftest-") as tmp:
        cmd = [sys.executable, os.path.join(HERE, "fake_headscale.py"), "--listen", "127.0.0.1:0",
               "--tls", "--hostname", HOSTNAME, "--state-dir", tmp, "--ca-out",
               os.path.join(tmp, "ca-out.pem"), "--preauth-key", "selftest-key,reusable",
               "--keepalive-seconds", "1", "--derp-keepalive-seconds", "1",
               "--log-level", os.environ.get("FAKEHS_LOG", "WARNING")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        try:
            line = proc.stdout.readline()
            ready = json.loads(line)
            check("server prints a ready line", ready.get("event") == "ready", line)
            asyncio.run(asyncio.wait_for(scenario(ready), 12))
            asyncio.run(asyncio.wait_for(robustness(ready), 6))
        except Exception as exc:  # noqa: BLE001 - report, do not hide
            import traceback
            traceback.print_exc()
            check("scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
        finally:
            alive = proc.poll() is None
            check("server survived the whole scenario", alive, proc.returncode)
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed ({time.monotonic() - started:.1f} s)")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
