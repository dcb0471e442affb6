"""Tailnet state of the fake control server: users, pre-auth keys, nodes, pending interactive
logins, the packet-filter policy, and the fan-out of changes to open map streams.

Behaviour follows headscale (hscontrol/auth.go, state, mapper): addresses 100.64.0.N/32 and
fd7a:115c:a1e0::N/128, node names from Hostinfo.Hostname (sanitised, deduplicated), a node bound
to its machine key. Persisted as JSON in the state directory. Used by control.py, derp.py, admin.py.
"""

import asyncio
import json
import logging
import os
import re
import secrets
import time

log = logging.getLogger("fakehs.state")

ALLOW_ALL = [{"SrcIPs": ["*"], "DstPorts": [{"IP": "*", "Ports": {"First": 0, "Last": 65535}}]}]
SUBSCRIBER_QUEUE = 256  # map-stream backlog; a stream that falls this far behind is closed


def now_rfc3339(ts=None) -> str:
    t = time.gmtime(ts if ts is not None else time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


ZERO_TIME = "0001-01-01T00:00:00Z"


def sanitise_hostname(raw) -> str:
    # headscale util.ConvertWithFQDNRules-like: lower case, [a-z0-9-], max 63, no edge hyphens.
    name = str(raw or "").lower()
    name = re.sub(r"[^a-z0-9-]", "-", name)
    name = re.sub(r"-+", "-", name).strip("-")[:63].strip("-")
    return name or "node"


class Node:
    def __init__(self, node_id, user_id, machine_key, node_key, hostname, name, ephemeral):
        self.id = node_id
        self.user_id = user_id
        self.machine_key = machine_key  # "mkey:<hex>"
        self.node_key = node_key  # "nodekey:<hex>"
        self.disco_key = "discokey:" + "0" * 64
        self.hostname = hostname
        self.name = name
        self.ephemeral = ephemeral
        self.expired = False
        self.key_expiry = None  # RFC 3339 time the key expired at, once expired
        self.hostinfo = {"Hostname": hostname}
        self.endpoints = []
        self.home_derp = 0
        self.cap = 0
        self.created = now_rfc3339()
        self.last_seen = None
        self.online = False  # a Stream:true map poll is open
        self.streams = 0

    def ipv4(self):
        return f"100.64.0.{self.id}" if self.id < 255 else f"100.64.{self.id // 256}.{self.id % 256}"

    def addresses(self):
        return [f"{self.ipv4()}/32", f"fd7a:115c:a1e0::{self.id:x}/128"]

    def to_json(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("online", "streams")}

    @classmethod
    def from_json(cls, d):
        n = cls(d["id"], d["user_id"], d["machine_key"], d["node_key"], d["hostname"], d["name"],
                d["ephemeral"])
        for k, v in d.items():
            setattr(n, k, v)
        n.online, n.streams = False, 0
        return n


class PendingAuth:
    def __init__(self, auth_id, machine_key, request):
        self.auth_id = auth_id
        self.machine_key = machine_key
        self.request = request
        self.created = time.time()
        self.event = asyncio.Event()
        self.node_id = None
        self.error = None


class State:
    def __init__(self, state_dir, base_domain, ephemeral_timeout):
        self.state_dir = state_dir
        self.base_domain = base_domain
        self.ephemeral_timeout = ephemeral_timeout
        self.users = {1: {"ID": 1, "LoginName": "tests", "DisplayName": "tests",
                          "Created": now_rfc3339()}}
        self.preauth = {}  # key -> {"reusable", "ephemeral", "used", "user"}
        self.nodes = {}  # id -> Node
        self.next_id = 1
        self.policy = ALLOW_ALL
        self.pending = {}  # auth_id -> PendingAuth
        self.subscribers = set()  # MapSession objects (control.py)
        self.derp_close_hooks = []  # callables(node_key) when a node is deleted
        self.control_close_hooks = []
        self._ephemeral_timers = {}
        self._load()

    # ---- persistence ----
    def _path(self):
        return os.path.join(self.state_dir, "state.json")

    def _load(self):
        try:
            with open(self._path(), encoding="utf-8") as f:
                d = json.load(f)
            self.preauth = d.get("preauth", {})
            self.nodes = {n["id"]: Node.from_json(n) for n in d.get("nodes", [])}
            self.next_id = d.get("next_id", 1)
            self.policy = d.get("policy", ALLOW_ALL)
            for uid, u in d.get("users", {}).items():
                self.users[int(uid)] = u
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self._path(), exc)

    def save(self):
        d = {"preauth": self.preauth, "nodes": [n.to_json() for n in self.nodes.values()],
             "next_id": self.next_id, "policy": self.policy,
             "users": {str(k): v for k, v in self.users.items()}}
        tmp = self._path() + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(d, f, indent=1)
        os.replace(tmp, self._path())

    # ---- users and keys ----
    def user_for(self, name):
        for uid, u in self.users.items():
            if u["LoginName"] == name:
                return uid
        uid = max(self.users) + 1
        self.users[uid] = {"ID": uid, "LoginName": name, "DisplayName": name,
                           "Created": now_rfc3339()}
        return uid

    def add_preauth_key(self, key=None, reusable=False, ephemeral=False, user="tests"):
        key = key or "hskey-auth-" + secrets.token_hex(24)
        self.preauth[key] = {"reusable": bool(reusable), "ephemeral": bool(ephemeral),
                             "used": False, "user": self.user_for(user)}
        self.save()
        return key

    def check_preauth_key(self, key):
        """Returns (entry, error text)."""
        entry = self.preauth.get(key)
        if entry is None:
            return None, "invalid authkey"
        if entry["used"] and not entry["reusable"]:
            return None, "authkey already used"
        return entry, None

    # ---- nodes ----
    def node_by_key(self, node_key):
        for n in self.nodes.values():
            if n.node_key == node_key:
                return n
        return None

    def _unique_name(self, hostname, exclude_id=None):
        base = sanitise_hostname(hostname)
        taken = {n.name for n in self.nodes.values() if n.id != exclude_id}
        if base not in taken:
            return base
        i = 1
        while f"{base}-{i}" in taken:
            i += 1
        return f"{base}-{i}"

    def create_node(self, user_id, machine_key, node_key, hostinfo, ephemeral):
        hostname = str((hostinfo or {}).get("Hostname") or "")
        node = Node(self.next_id, user_id, machine_key, node_key, hostname,
                    self._unique_name(hostname), ephemeral)
        if isinstance(hostinfo, dict):
            node.hostinfo = hostinfo
        self.next_id += 1
        self.nodes[node.id] = node
        self.save()
        log.info("node %d registered: name=%s %s", node.id, node.name, node.addresses())
        self.broadcast("changed", node.id)
        return node

    def delete_node(self, node_id):
        node = self.nodes.pop(node_id, None)
        if node is None:
            return False
        self.save()
        log.info("node %d (%s) deleted", node_id, node.name)
        for hook in self.derp_close_hooks:
            hook(node.node_key)
        for hook in self.control_close_hooks:
            hook(node)
        self.broadcast("removed", node_id)
        return True

    def expire_node(self, node_id):
        node = self.nodes.get(node_id)
        if node is None:
            return False
        node.expired = True
        node.key_expiry = now_rfc3339()
        self.save()
        self.broadcast("changed", node_id)
        return True

    def set_policy(self, rules):
        self.policy = rules
        self.save()
        self.broadcast("policy", None)

    def set_online(self, node, online):
        node.streams += 1 if online else -1
        now_online = node.streams > 0
        if now_online == node.online:
            return
        node.online = now_online
        node.last_seen = now_rfc3339()
        timer = self._ephemeral_timers.pop(node.id, None)
        if timer:
            timer.cancel()
        if not now_online and node.ephemeral:
            loop = asyncio.get_running_loop()
            self._ephemeral_timers[node.id] = loop.call_later(
                self.ephemeral_timeout, self.delete_node, node.id)

    # ---- interactive login (AuthURL + Followup, headscale "auth register --auth-id") ----
    def new_pending(self, machine_key, request):
        auth_id = secrets.token_urlsafe(18)
        self.pending[auth_id] = PendingAuth(auth_id, machine_key, request)
        return self.pending[auth_id]

    def approve(self, auth_id, user="tests"):
        pend = self.pending.get(auth_id)
        if pend is None:
            return None, "unknown auth_id"
        if pend.node_id is not None:
            return self.nodes.get(pend.node_id), None
        req = pend.request
        existing = self.node_by_key(req.get("NodeKey"))
        if existing is not None:
            existing.expired = False
            node = existing
            self.save()
            self.broadcast("changed", node.id)
        else:
            node = self.create_node(self.user_for(user), pend.machine_key, req.get("NodeKey"),
                                    req.get("Hostinfo"), bool(req.get("Ephemeral")))
        pend.node_id = node.id
        pend.event.set()
        return node, None

    # ---- map-stream fan-out ----
    def broadcast(self, kind, node_id):
        for sub in list(self.subscribers):
            sub.notify(kind, node_id)
