"""ts2021 control plane: GET /key, the /ts2021 upgrade (Noise IK + early payload + HTTP/2),
POST /machine/register and POST /machine/map (long poll with little-endian length-prefixed
MapResponse messages).

Faithful to: tailscale control/controlhttp/controlhttpserver (101, then the Noise response and the
early write corked together), headscale hscontrol/noise.go (earlyNoise: magic, BE32 length and
EarlyNoise JSON as three writes; version gate -> 101 then EOF; register errors as
RegisterResponse.Error; 400 text for old capvers; 404 for unknown node keys), hscontrol/poll.go and
mapper (full map, then deltas and KeepAlive). Used by fake_headscale.py.
"""

import asyncio
import base64
import binascii
import json
import logging
import random
import struct
import time
import urllib.parse

from . import h2server, keys, noise
from .state import ZERO_TIME, now_rfc3339

log = logging.getLogger("fakehs.control")

UPGRADE_PROTO = "tailscale-control-protocol"
EARLY_MAGIC = b"\xff\xff\xffTS"
EARLY_NOISE_CAPVER = 49
HANDSHAKE_TIMEOUT = 30.0
NOT_IMPLEMENTED = {"/machine/whoami", "/machine/set-dns", "/machine/set-device-attr",
                   "/machine/audit-log", "/machine/id-token", "/machine/feature/query",
                   "/machine/update-health", "/machine/c2n", "/machine/webclient"}
MAX_ENDPOINTS = 64


class Config:
    def __init__(self, min_capver, keepalive, base_domain, server_url, derp_map, patch_updates):
        self.min_capver = min_capver
        self.keepalive = keepalive  # seconds, or None for headscale's 50-59 s jitter
        self.base_domain = base_domain
        self.server_url = server_url
        self.derp_map = derp_map
        self.patch_updates = patch_updates

    def keepalive_interval(self):
        return self.keepalive if self.keepalive else random.uniform(50.0, 59.0)


def frame_map(msg: dict) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return struct.pack("<I", len(body)) + body  # LITTLE-endian, controlclient/direct.go


class ControlServer:
    def __init__(self, state, config, static_private):
        self.state = state
        self.cfg = config
        self.static_private = static_private
        self.public_text = keys.text("mkey:", keys.public_of(static_private))
        self.conns = set()
        self.stats = {"noise_handshakes": 0, "noise_rejected": 0, "register_requests": 0,
                      "map_requests": 0, "map_streams_open": 0, "map_messages": 0,
                      "keepalives": 0, "lite_updates": 0}
        state.control_close_hooks.append(self._on_node_deleted)

    # ---- GET /key (headscale KeyHandler) ----
    def key_route(self, req):
        values = req.query.get("v")
        if not values:
            return 400, b"missing v parameter\n", "text/plain; charset=utf-8"
        try:
            version = int(values[0])
        except ValueError:
            return 400, b"invalid v parameter\n", "text/plain; charset=utf-8"
        if version < 39:
            return 200, b"", "text/plain; charset=utf-8"
        body = json.dumps({"legacyPublicKey": "mkey:" + "0" * 64,
                           "publicKey": self.public_text}).encode()
        return 200, body, "application/json"

    # ---- POST /ts2021 ----
    def ts2021_route(self, req):
        upgrade = req.header("upgrade").lower()
        if not upgrade:
            return 500, b"Internal error\n", "text/plain; charset=utf-8"
        if upgrade != UPGRADE_PROTO:
            return 400, b"unknown next protocol\n", "text/plain; charset=utf-8"
        init_b64 = req.header("x-tailscale-handshake")
        if not init_b64:
            return 400, b"missing Tailscale handshake header\n", "text/plain; charset=utf-8"
        try:
            init = base64.b64decode(init_b64, validate=True)
        except (binascii.Error, ValueError):
            return 400, b"invalid tailscale handshake header\n", "text/plain; charset=utf-8"
        return lambda r, reader, writer: self._serve_noise(init, reader, writer)

    async def _serve_noise(self, init, reader, writer):
        peer = writer.get_extra_info("peername")
        head = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + UPGRADE_PROTO +
                "\r\nConnection: upgrade\r\n\r\n").encode()
        try:
            hs = noise.respond(self.static_private, init)
        except noise.NoiseError as exc:
            # controlbase writes its error message into the corked conn, which is closed
            # without uncorking: the client sees the 101 and then EOF.
            self.stats["noise_rejected"] += 1
            log.warning("ts2021 %s: noise handshake failed: %s", peer, exc)
            writer.write(head)
            await writer.drain()
            return
        machine = keys.text("mkey:", hs.machine_public)
        if hs.version < self.cfg.min_capver:
            self.stats["noise_rejected"] += 1
            log.warning("ts2021 %s: unsupported client version %d (< %d), %s: 101 then close",
                        peer, hs.version, self.cfg.min_capver, machine)
            writer.write(head)
            await writer.drain()
            return
        self.stats["noise_handshakes"] += 1
        transport = noise.Transport(hs.tx_key, hs.rx_key)
        corked = bytearray(head + hs.response)
        if hs.version >= EARLY_NOISE_CAPVER:
            challenge = keys.text("chalpub:", keys.public_of(keys.new_private()))
            early = json.dumps({"nodeKeyChallenge": challenge}, separators=(",", ":")).encode()
            # headscale earlyNoise: three separate Write calls, hence three records.
            corked += transport.encrypt_record(EARLY_MAGIC)
            corked += transport.encrypt_record(struct.pack(">I", len(early)))
            corked += transport.encrypt(early)
        writer.write(bytes(corked))
        conn = NoiseConn(self, machine, hs.version, transport, reader, writer, peer)
        log.info("ts2021 %s: noise session up, machine %s, version %d", peer, machine, hs.version)
        self.conns.add(conn)
        try:
            await conn.run()
        finally:
            self.conns.discard(conn)

    def drop_connections(self, machine_key):
        n = 0
        for conn in list(self.conns):
            if conn.machine_key == machine_key:
                conn.close()
                n += 1
        return n

    def _on_node_deleted(self, node):
        # headscale ends the deleted node's poll; its Noise connection stays usable.
        for conn in list(self.conns):
            for sess in list(conn.sessions):
                if sess.node.id == node.id:
                    sess.stop("node deleted")

    # ---- JSON helpers ----
    def user_json(self, uid):
        u = self.state.users.get(uid) or self.state.users[1]
        return {"ID": u["ID"], "LoginName": u["LoginName"], "DisplayName": u["DisplayName"],
                "ProfilePicURL": "", "Created": u["Created"]}

    def login_json(self, uid):
        u = self.state.users.get(uid) or self.state.users[1]
        return {"ID": u["ID"], "Provider": "", "LoginName": u["LoginName"],
                "DisplayName": u["DisplayName"], "ProfilePicURL": ""}

    def authorized_response(self, node):
        return {"User": self.user_json(node.user_id), "Login": self.login_json(node.user_id),
                "NodeKeyExpired": False, "MachineAuthorized": True, "AuthURL": ""}

    def tail_node(self, node):
        """tailcfg.Node as headscale's TailNode fills it (omitempty fields left out)."""
        out = {
            "ID": node.id, "StableID": str(node.id),
            "Name": f"{node.name}.{self.cfg.base_domain}.", "User": node.user_id,
            "Key": node.node_key, "KeyExpiry": (node.key_expiry if node.expired else None)
            or ZERO_TIME, "Machine": node.machine_key,
            "DiscoKey": node.disco_key, "Addresses": node.addresses(),
            "AllowedIPs": node.addresses(), "Hostinfo": node.hostinfo, "Created": node.created,
            "Online": node.online,
        }
        if node.endpoints:
            out["Endpoints"] = list(node.endpoints)
        if node.home_derp:
            out["HomeDERP"] = node.home_derp
        if node.cap:
            out["Cap"] = node.cap
        if node.last_seen and not node.online:
            out["LastSeen"] = node.last_seen
        # headscale 0.25 marks an expired node only by a KeyExpiry in the past (never
        # "Expired"); clients derive expiry themselves (tailscale ipn/ipnlocal/expiry.go).
        out["MachineAuthorized"] = True
        return out

    def full_map(self, node):
        peers = [self.tail_node(n) for n in sorted(self.state.nodes.values(), key=lambda n: n.id)
                 if n.id != node.id]
        users = sorted({n.user_id for n in self.state.nodes.values()})
        return {
            "KeepAlive": False, "ControlTime": now_rfc3339(), "Node": self.tail_node(node),
            "DERPMap": self.cfg.derp_map, "Domain": self.cfg.base_domain,
            "CollectServices": False,
            "DNSConfig": {"Domains": [self.cfg.base_domain], "Resolvers": []},
            "PacketFilters": {"base": self.state.policy},
            "UserProfiles": [{"ID": uid, "LoginName": self.state.users[uid]["LoginName"],
                              "DisplayName": self.state.users[uid]["DisplayName"]}
                             for uid in users if uid in self.state.users],
            "SSHPolicy": {"rules": []},
            "Peers": peers,
        }


class NoiseConn:
    def __init__(self, server, machine_key, version, transport, reader, writer, peer):
        self.server = server
        self.machine_key = machine_key
        self.version = version
        self.transport = transport
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.sessions = set()
        self.h2 = h2server.H2Server(self._send, self._drain, self._handle, f"noise {peer}")
        self._closed = False

    def _send(self, data):
        if not self._closed:
            self.writer.write(self.transport.encrypt(data))

    async def _drain(self):
        if not self._closed:
            await self.writer.drain()

    def close(self):
        if not self._closed:
            self._closed = True
            self.h2.close()
            self.writer.close()

    async def run(self):
        self.h2.start()
        try:
            while not self._closed:
                data = await self.reader.read(65536)
                if not data:
                    log.info("noise %s: EOF", self.peer)
                    break
                plain = self.transport.feed(data)
                if plain:
                    self.h2.feed(plain)
        except noise.NoiseError as exc:
            log.warning("noise %s: closing: %s", self.peer, exc)
        except Exception as exc:  # noqa: BLE001 - h2 protocol errors and the like
            log.warning("noise %s: closing after %s: %s", self.peer, type(exc).__name__, exc)
        finally:
            for sess in list(self.sessions):
                sess.stop("connection closed")
            self.close()

    async def _handle(self, req, resp):
        path = req.path.split("?", 1)[0]
        if path == "/machine/register":
            if req.method != "POST":
                await resp.simple(405, b"Wrong method\n")
                return
            await self._register(req, resp)
        elif path == "/machine/map":
            await self._map(req, resp)
        elif path in NOT_IMPLEMENTED:
            await resp.simple(501, b"Not implemented\n")
        else:
            await resp.simple(404, b"404 page not found\n")

    # ---- /machine/register (headscale auth.go) ----
    async def _register(self, req, resp):
        srv = self.server
        srv.stats["register_requests"] += 1
        state = srv.state
        try:
            rr = json.loads(bytes(req.body))
            if not isinstance(rr, dict):
                raise ValueError("RegisterRequest is not an object")
        except ValueError as exc:
            log.warning("register from %s: bad JSON: %s", self.machine_key, exc)
            await self._json(resp, {"Error": f"invalid RegisterRequest: {exc}"})
            return
        version = rr.get("Version")
        if not isinstance(version, int) or version < srv.cfg.min_capver:
            await resp.simple(400, f"unsupported client version: ({version})\n".encode())
            return
        try:
            keys.parse("nodekey:", rr.get("NodeKey"))
            if rr.get("OldNodeKey"):
                keys.parse("nodekey:", rr["OldNodeKey"])
        except ValueError as exc:
            await self._json(resp, {"Error": str(exc)})
            return
        node_key = rr["NodeKey"]
        auth = rr.get("Auth") if isinstance(rr.get("Auth"), dict) else {}
        auth_key = auth.get("AuthKey") or ""
        followup = rr.get("Followup") or ""
        node = state.node_by_key(node_key)
        if node is None and rr.get("OldNodeKey"):
            node = state.node_by_key(rr["OldNodeKey"])
        if node is not None and node.machine_key != self.machine_key:
            await self._json(resp, {"Error": "node exists with a different machine key"})
            return
        expiry = rr.get("Expiry")
        if node is not None and isinstance(expiry, str) and expiry[:4].isdigit() and \
                expiry < now_rfc3339():
            # Logout: an Expiry in the past (Go sends Unix 123).
            log.info("node %d (%s) logged out", node.id, node.name)
            user = srv.user_json(node.user_id)
            if node.ephemeral:
                state.delete_node(node.id)
            else:
                state.expire_node(node.id)
            await self._json(resp, {"User": user, "NodeKeyExpired": True,
                                    "MachineAuthorized": False, "AuthURL": ""})
            return
        if auth_key:
            entry, err = state.check_preauth_key(auth_key)
            if err:
                log.warning("register %s: %s", node_key[:20], err)
                await self._json(resp, {"Error": err})
                return
            entry["used"] = True
            if node is None:
                node = state.create_node(entry["user"], self.machine_key, node_key,
                                         rr.get("Hostinfo"), entry["ephemeral"] or
                                         bool(rr.get("Ephemeral")))
            else:
                node.node_key, node.expired = node_key, False
                state.save()
                state.broadcast("changed", node.id)
            await self._json(resp, srv.authorized_response(node))
            return
        if node is not None and not node.expired:
            if node.node_key != node_key:  # rotation with OldNodeKey
                node.node_key = node_key
                state.save()
                state.broadcast("changed", node.id)
            await self._json(resp, srv.authorized_response(node))
            return
        if followup:
            auth_id = urllib.parse.urlsplit(followup).path.rstrip("/").rsplit("/", 1)[-1]
            pend = state.pending.get(auth_id)
            if pend is None or pend.machine_key != self.machine_key:
                await self._json(resp, {"Error": "invalid or unknown followup URL"})
                return
            log.info("register %s: waiting for approval of %s", node_key[:20], auth_id)
            await pend.event.wait()  # cancelled if the client resets the stream
            approved = state.nodes.get(pend.node_id)
            if approved is None:
                await self._json(resp, {"Error": pend.error or "registration not approved"})
                return
            await self._json(resp, srv.authorized_response(approved))
            return
        pend = state.new_pending(self.machine_key, rr)
        url = f"{srv.cfg.server_url}/register/{pend.auth_id}"
        log.info("register %s: interactive login, AuthURL %s", node_key[:20], url)
        await self._json(resp, {"AuthURL": url, "MachineAuthorized": False,
                                "NodeKeyExpired": False})

    async def _json(self, resp, obj, status=200):
        await resp.start(status, "application/json; charset=utf-8")
        await resp.end(json.dumps(obj).encode())

    # ---- /machine/map (headscale poll.go) ----
    async def _map(self, req, resp):
        srv = self.server
        srv.stats["map_requests"] += 1
        try:
            mr = json.loads(bytes(req.body))
            if not isinstance(mr, dict):
                raise ValueError("MapRequest is not an object")
        except ValueError as exc:
            await resp.simple(400, f"invalid MapRequest: {exc}\n".encode())
            return
        version = mr.get("Version")
        if not isinstance(version, int) or version < srv.cfg.min_capver:
            await resp.simple(400, f"unsupported client version: ({version})\n".encode())
            return
        node = srv.state.node_by_key(mr.get("NodeKey"))
        if node is None:
            await resp.simple(404, b"node not found\n")
            return
        if node.machine_key != self.machine_key:
            await resp.simple(404, b"node key in request does not match the one associated "
                                   b"with this machine key\n")
            return
        if mr.get("Compress"):
            await resp.simple(400, b"this fake server does not compress map responses\n")
            return
        try:
            changed = self._update_node(node, mr)
        except ValueError as exc:
            await resp.simple(400, f"invalid MapRequest: {exc}\n".encode())
            return
        node.cap = version
        stream = bool(mr.get("Stream"))
        if not stream:
            if mr.get("OmitPeers"):
                srv.stats["lite_updates"] += 1
                if changed:
                    srv.state.save()
                    srv.state.broadcast(changed, node.id)
            else:
                log.warning("map %s: Stream:false without OmitPeers gets an empty 200 "
                            "(headscale behaviour)", node.name)
            await resp.start(200)
            return
        if mr.get("OmitPeers"):
            log.warning("map %s: Stream:true with OmitPeers is ignored", node.name)
            await resp.start(200)
            return
        srv.state.save()
        await MapSession(self, node, resp).run()

    def _update_node(self, node, mr):
        """Apply DiscoKey/Hostinfo/Endpoints; returns "changed"/"patch" or None."""
        changed = False
        disco = mr.get("DiscoKey")
        if disco:
            keys.parse("discokey:", disco)
            changed |= disco != node.disco_key
            node.disco_key = disco
        hostinfo = mr.get("Hostinfo")
        if isinstance(hostinfo, dict):
            if hostinfo != node.hostinfo:
                changed = True
            node.hostinfo = hostinfo
            netinfo = hostinfo.get("NetInfo")
            if isinstance(netinfo, dict):
                pref = netinfo.get("PreferredDERP")
                if isinstance(pref, int) and pref != node.home_derp:
                    node.home_derp = pref
                    changed = True
        eps = mr.get("Endpoints")
        if isinstance(eps, list):
            if len(eps) > MAX_ENDPOINTS or not all(isinstance(e, str) and len(e) <= 64
                                                    for e in eps):
                raise ValueError("bad Endpoints")
            changed |= eps != node.endpoints
            node.endpoints = eps
        if not changed:
            return None
        return "patch" if self.server.cfg.patch_updates else "changed"


class MapSession:
    """One Stream:true long poll: full map, then deltas and keep-alives."""

    def __init__(self, conn, node, resp):
        self.conn = conn
        self.server = conn.server
        self.node = node
        self.resp = resp
        self.queue = asyncio.Queue(maxsize=256)
        self.stopped = None

    def notify(self, kind, node_id):
        if self.stopped:
            return
        try:
            self.queue.put_nowait((kind, node_id))
        except asyncio.QueueFull:
            self.stop("update queue overflow")

    def stop(self, why):
        if not self.stopped:
            self.stopped = why
            try:
                self.queue.put_nowait(("stop", None))
            except asyncio.QueueFull:
                self.resp.closed.set()

    async def _send(self, msg):
        await self.resp.write(frame_map(msg))
        self.server.stats["map_messages"] += 1

    async def run(self):
        srv, state, node = self.server, self.server.state, self.node
        state.set_online(node, True)
        state.broadcast("changed", node.id)  # peers see it online with fresh endpoints
        state.subscribers.add(self)
        self.conn.sessions.add(self)
        srv.stats["map_streams_open"] += 1
        log.info("map %s: stream open", node.name)
        try:
            await self.resp.start(200, "application/json; charset=utf-8")
            await self._send(srv.full_map(node))
            deadline = time.monotonic() + srv.cfg.keepalive_interval()
            while not self.stopped:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    await self._send({"KeepAlive": True})
                    srv.stats["keepalives"] += 1
                    deadline = time.monotonic() + srv.cfg.keepalive_interval()
                    continue
                try:
                    first = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    continue
                events = [first]
                while not self.queue.empty():
                    events.append(self.queue.get_nowait())
                msg = self._delta(events)
                if msg:
                    await self._send(msg)
        except h2server.StreamGone:
            pass
        finally:
            state.subscribers.discard(self)
            self.conn.sessions.discard(self)
            srv.stats["map_streams_open"] -= 1
            log.info("map %s: stream closed (%s)", node.name, self.stopped or "client went away")
            if node.id in state.nodes:
                was_online = node.online
                state.set_online(node, False)
                if was_online and not node.online:
                    state.broadcast("online", node.id)
            await self._finish()

    async def _finish(self):
        try:
            await self.resp.end()
        except h2server.StreamGone:
            pass

    def _delta(self, events):
        srv, state = self.server, self.server.state
        changed, patched, removed, online = [], [], [], {}
        policy = self_changed = False
        for kind, nid in events:
            if kind == "stop":
                continue
            if nid == self.node.id:
                self_changed = self_changed or kind in ("changed", "patch")
                continue
            if kind == "changed":
                changed.append(nid)
            elif kind == "patch":
                patched.append(nid)
            elif kind == "removed":
                removed.append(nid)
            elif kind == "online":
                n = state.nodes.get(nid)
                if n is not None:
                    online[str(nid)] = n.online
            elif kind == "policy":
                policy = True
        msg = {}
        live = lambda ids: sorted({i for i in ids if i in state.nodes and i not in removed})
        if live(changed):
            msg["PeersChanged"] = [srv.tail_node(state.nodes[i]) for i in live(changed)]
        patches = [i for i in live(patched) if i not in changed]
        if patches:
            msg["PeersChangedPatch"] = [self._patch(state.nodes[i]) for i in patches]
        if removed:
            msg["PeersRemoved"] = sorted(set(removed))
        if online:
            msg["OnlineChange"] = online
        if policy:
            msg["PacketFilters"] = {"base": state.policy}
        if self_changed and self.node.id in state.nodes:
            msg["Node"] = srv.tail_node(self.node)
        if msg:
            msg["ControlTime"] = now_rfc3339()
        return msg

    @staticmethod
    def _patch(node):
        # tailcfg.PeerChange: zero/empty fields mean "unchanged" (omitempty), so leave them out.
        p = {"NodeID": node.id, "Online": node.online}
        if node.home_derp:
            p["DERPRegion"] = node.home_derp
        if node.endpoints:
            p["Endpoints"] = list(node.endpoints)
        if node.disco_key != "discokey:" + "0" * 64:
            p["DiscoKey"] = node.disco_key
        return p
