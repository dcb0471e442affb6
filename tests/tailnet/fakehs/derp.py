"""Embedded DERP relay (protocol version 2) served at GET /derp with Upgrade: DERP.

Follows tailscale derp/derp.go (frame types, magic, limits) and derp/derpserver/derpserver.go
(accept: ServerKey, ClientInfo within 10 s, verifyClient, ServerInfo; SendPacket -> RecvPacket with
the source key; Ping -> Pong; KeepAlive every 60 s + jitter; PeerGone(disconnected) to the clients
that received packets from a peer that leaves; PeerGone(not here), rate limited, for disco packets
to absent keys; newest connection of a duplicated key is the active one) and headscale's embedded
server (hscontrol/derp/server: verify_clients against registered node keys, 101 with Derp-Version
and Derp-Public-Key headers, no 101 on Derp-Fast-Start). Used by fake_headscale.py.
"""

import asyncio
import json
import logging
import os
import random
import struct
import time

import nacl.exceptions
import nacl.public

from . import keys

log = logging.getLogger("fakehs.derp")

MAGIC = "DERP🔑".encode()  # 44 45 52 50 f0 9f 94 91
PROTOCOL_VERSION = 2
KEY_LEN = 32
NONCE_LEN = 24
MAX_PACKET = 64 << 10
MAX_FRAME = 1 << 20
MAX_CLIENT_INFO = 256 << 10
HANDSHAKE_TIMEOUT = 10.0
SEND_QUEUE_DEPTH = 32  # derpserver perClientSendQueueDepth
DISCO_MAGIC = "TS💬".encode()

FRAME_NAMES = {0x01: "ServerKey", 0x02: "ClientInfo", 0x03: "ServerInfo", 0x04: "SendPacket",
               0x05: "RecvPacket", 0x06: "KeepAlive", 0x07: "NotePreferred", 0x08: "PeerGone",
               0x09: "PeerPresent", 0x0A: "ForwardPacket", 0x10: "WatchConns",
               0x11: "ClosePeer", 0x12: "Ping", 0x13: "Pong", 0x14: "Health",
               0x15: "Restarting"}
F_SERVER_KEY, F_CLIENT_INFO, F_SERVER_INFO, F_SEND, F_RECV, F_KEEPALIVE, F_PREFERRED, \
    F_PEER_GONE = range(1, 9)
F_FORWARD, F_WATCH, F_CLOSE_PEER, F_PING, F_PONG = 0x0A, 0x10, 0x11, 0x12, 0x13
PEER_GONE_DISCONNECTED, PEER_GONE_NOT_HERE = 0, 1


class FrameError(Exception):
    pass


def frame(ftype: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BI", ftype, len(payload)) + payload


def looks_disco(pkt: bytes) -> bool:
    return len(pkt) >= len(DISCO_MAGIC) + KEY_LEN and pkt.startswith(DISCO_MAGIC)


class Client:
    def __init__(self, server, key, writer, peer):
        self.server = server
        self.key = key
        self.writer = writer
        self.peer = peer
        self.queue = asyncio.Queue(maxsize=SEND_QUEUE_DEPTH)
        self.preferred = False
        self.info = {}
        self.sent_to_me = set()  # keys that sent us packets (upstream sawSrc)
        self.peer_gone_tokens = 3.0  # rate.NewLimiter(rate.Every(time.Second), 3)
        self.peer_gone_at = time.monotonic()
        self.closed = False

    def enqueue(self, data: bytes, ftype: int) -> bool:
        try:
            self.queue.put_nowait((ftype, data))
            return True
        except asyncio.QueueFull:
            return False

    def allow_peer_gone(self) -> bool:
        now = time.monotonic()
        self.peer_gone_tokens = min(3.0, self.peer_gone_tokens + (now - self.peer_gone_at))
        self.peer_gone_at = now
        if self.peer_gone_tokens >= 1.0:
            self.peer_gone_tokens -= 1.0
            return True
        return False

    def close(self):
        if not self.closed:
            self.closed = True
            self.writer.close()


class DerpServer:
    def __init__(self, state, private_key, keepalive, verify_clients):
        self.state = state
        self.private = private_key
        self.public = keys.public_of(private_key)
        self._box_key = nacl.public.PrivateKey(private_key)
        self.keepalive = keepalive  # seconds or None for 60 s + up to 5 s jitter
        self.verify_clients = verify_clients
        self.clients = {}  # key bytes -> list of Client (last = active)
        self.frames_in = {}
        self.frames_out = {}
        self.drops = {}
        self.counters = {"accepted": 0, "rejected": 0, "closed_bad_frame": 0, "dup_client": 0}
        state.derp_close_hooks.append(self.drop_key_text)

    # ---- HTTP side ----
    def route(self, req):
        upgrade = req.header("upgrade").lower()
        if upgrade != "derp":
            return 426, b"DERP requires connection upgrade\n", "text/plain; charset=utf-8"
        return self._serve

    async def _serve(self, req, reader, writer):
        peer = writer.get_extra_info("peername")
        if req.header("derp-fast-start") != "1":
            writer.write((
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n"
                f"Derp-Version: {PROTOCOL_VERSION}\r\n"
                f"Derp-Public-Key: {keys.text('nodekey:', self.public)}\r\n\r\n").encode())
        writer.write(frame(F_SERVER_KEY, MAGIC + self.public))
        self._count(self.frames_out, F_SERVER_KEY)
        try:
            client = await asyncio.wait_for(self._accept(reader, writer, peer), HANDSHAKE_TIMEOUT)
        except (asyncio.TimeoutError, FrameError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self.counters["rejected"] += 1
            log.warning("derp %s: handshake failed: %s", peer, exc or type(exc).__name__)
            return
        if client is None:
            return
        await self._run(client, reader)

    async def _read_frame(self, reader, max_len):
        head = await reader.readexactly(5)
        ftype, length = struct.unpack(">BI", head)
        self._count(self.frames_in, ftype)
        if length > max_len:
            raise FrameError(f"{FRAME_NAMES.get(ftype, hex(ftype))} frame of {length} bytes "
                             f"exceeds {max_len}")
        return ftype, await reader.readexactly(length)

    async def _accept(self, reader, writer, peer):
        ftype, payload = await self._read_frame(reader, MAX_CLIENT_INFO)
        if ftype != F_CLIENT_INFO:
            raise FrameError(f"bad frame type 0x{ftype:x}, want ClientInfo")
        if len(payload) < KEY_LEN + NONCE_LEN:
            raise FrameError("short client info")
        ckey = payload[:KEY_LEN]
        nonce, box = payload[KEY_LEN:KEY_LEN + NONCE_LEN], payload[KEY_LEN + NONCE_LEN:]
        try:
            plain = nacl.public.Box(self._box_key, nacl.public.PublicKey(ckey)).decrypt(box, nonce)
            info = json.loads(plain)
            if not isinstance(info, dict):
                raise ValueError("ClientInfo is not a JSON object")
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise FrameError(f"cannot open ClientInfo: {exc}") from exc
        key_text = keys.text("nodekey:", ckey)
        if self.verify_clients and self.state.node_by_key(key_text) is None:
            self.counters["rejected"] += 1
            log.warning("derp %s: client %s rejected: not a registered node key", peer, key_text)
            writer.close()
            return None
        client = Client(self, ckey, writer, peer)
        client.info = info
        conns = self.clients.setdefault(ckey, [])
        if conns:
            self.counters["dup_client"] += 1
        conns.append(client)
        self.counters["accepted"] += 1
        sealed = nacl.public.Box(self._box_key, nacl.public.PublicKey(ckey)).encrypt(
            json.dumps({"version": PROTOCOL_VERSION}).encode(), os.urandom(NONCE_LEN))
        writer.write(frame(F_SERVER_INFO, bytes(sealed)))  # nonce || box
        self._count(self.frames_out, F_SERVER_INFO)
        log.info("derp %s: client %s connected (%s)", peer, key_text, info)
        return client

    # ---- steady state ----
    async def _run(self, client, reader):
        sender = asyncio.ensure_future(self._send_loop(client))
        try:
            while not client.closed:
                ftype, payload = await self._read_frame(reader, MAX_FRAME)
                self._handle(client, ftype, payload)
        except FrameError as exc:
            self.counters["closed_bad_frame"] += 1
            log.warning("derp %s: closing: %s", client.peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            client.close()
            self._unregister(client)

    def _handle(self, client, ftype, payload):
        if ftype == F_SEND:
            if len(payload) < KEY_LEN:
                raise FrameError("short send packet frame")
            if len(payload) - KEY_LEN > MAX_PACKET:
                raise FrameError(f"data packet longer ({len(payload) - KEY_LEN}) than max "
                                 f"of {MAX_PACKET}")
            self._forward(client, payload[:KEY_LEN], payload[KEY_LEN:])
        elif ftype == F_PREFERRED:
            if len(payload) != 1:
                raise FrameError("frameNotePreferred wrong size")
            client.preferred = payload[0] != 0
        elif ftype == F_PING:
            if len(payload) < 8 or len(payload) > 1000:
                raise FrameError(f"bad ping size {len(payload)}")
            client.enqueue(payload[:8], F_PONG)
        elif ftype in (F_FORWARD, F_WATCH, F_CLOSE_PEER):
            raise FrameError("insufficient permissions (mesh frame from a non-mesh client)")
        # Unknown frame types are skipped (derpserver handleUnknownFrame).

    def _forward(self, src, dst_key, pkt):
        conns = self.clients.get(dst_key)
        dst = conns[-1] if conns else None
        if dst is None:
            self._drop("unknown_dest")
            if looks_disco(pkt) and src.allow_peer_gone():
                src.enqueue(dst_key + bytes([PEER_GONE_NOT_HERE]), F_PEER_GONE)
            return
        if not dst.enqueue(src.key + pkt, F_RECV):
            self._drop("queue_tail")
            return
        dst.sent_to_me.add(src.key)

    async def _send_loop(self, client):
        try:
            while not client.closed:
                interval = self.keepalive or (60.0 + random.uniform(0, 5))
                try:
                    ftype, payload = await asyncio.wait_for(client.queue.get(), interval)
                except asyncio.TimeoutError:
                    ftype, payload = F_KEEPALIVE, b""
                client.writer.write(frame(ftype, payload))
                self._count(self.frames_out, ftype)
                await client.writer.drain()
        except (ConnectionError, OSError):
            client.close()

    def _unregister(self, client):
        conns = self.clients.get(client.key, [])
        if client in conns:
            conns.remove(client)
        if not conns:
            self.clients.pop(client.key, None)
            # derpserver notePeerGoneFromRegionLocked: tell every client that received
            # packets from the departed key.
            for others in self.clients.values():
                for other in others:
                    if client.key in other.sent_to_me:
                        other.sent_to_me.discard(client.key)
                        other.enqueue(client.key + bytes([PEER_GONE_DISCONNECTED]), F_PEER_GONE)
        log.info("derp %s: client %s gone", client.peer, keys.text("nodekey:", client.key))

    # ---- admin ----
    def drop_key_text(self, key_text):
        try:
            raw = keys.parse("nodekey:", key_text)
        except ValueError:
            return 0
        conns = list(self.clients.get(raw, []))
        for c in conns:
            c.close()
        return len(conns)

    def _count(self, table, ftype):
        name = FRAME_NAMES.get(ftype, f"0x{ftype:02x}")
        table[name] = table.get(name, 0) + 1

    def _drop(self, reason):
        self.drops[reason] = self.drops.get(reason, 0) + 1

    def stats(self):
        return {"frames_in": dict(self.frames_in), "frames_out": dict(self.frames_out),
                "drops": dict(self.drops), "counters": dict(self.counters),
                "clients": [{"node_key": keys.text("nodekey:", k), "connections": len(v),
                             "preferred": v[-1].preferred if v else False}
                            for k, v in self.clients.items()]}
