"""Admin JSON-over-HTTP API for tests, on its own loopback listener (never the public one).

  GET    /admin/nodes                     -> [node...]
  DELETE /admin/nodes/<id>                -> {"deleted": id}        (peers get PeersRemoved)
  POST   /admin/nodes/<id>/expire         -> {"expired": id}
  POST   /admin/preauthkey {reusable, ephemeral, user, key?} -> {"key": "..."}
  GET    /admin/pending                   -> [{"auth_id", "node_key", "hostname"}]
  POST   /admin/approve {auth_id, user?}  -> {"node": node}
  GET    /admin/policy                    -> {"rules": [...]}
  PUT    /admin/policy {rules: [...]}     -> {"rules": [...]}       (streams get PacketFilters)
  GET    /admin/derp-stats                -> frame counters, drops, connected clients
  POST   /admin/drop-derp-client {node_key | node_id}   -> {"closed": n}
  POST   /admin/drop-control-client {node_id | machine_key} -> {"closed": n}
  GET    /admin/stats                     -> control counters
Used by fake_headscale.py; bodies are JSON, errors are {"error": "..."} with 4xx.
"""

import json
import logging

log = logging.getLogger("fakehs.admin")


class ApiError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status


class Admin:
    def __init__(self, state, control, derp):
        self.state = state
        self.control = control
        self.derp = derp

    def node_json(self, n):
        return {"id": n.id, "name": n.name, "hostname": n.hostname, "user": n.user_id,
                "node_key": n.node_key, "machine_key": n.machine_key, "disco_key": n.disco_key,
                "addresses": n.addresses(), "online": n.online, "endpoints": n.endpoints,
                "home_derp": n.home_derp, "ephemeral": n.ephemeral, "expired": n.expired,
                "cap": n.cap, "hostinfo": n.hostinfo}

    def route(self, req):
        try:
            status, obj = self._dispatch(req)
        except ApiError as exc:
            status, obj = exc.status, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - admin errors never crash the server
            log.exception("admin %s %s failed", req.method, req.path)
            status, obj = 500, {"error": f"{type(exc).__name__}: {exc}"}
        return status, (json.dumps(obj) + "\n").encode(), "application/json"

    def _body(self, req):
        if not req.body:
            return {}
        try:
            obj = json.loads(req.body)
        except ValueError as exc:
            raise ApiError(400, f"bad JSON body: {exc}") from exc
        if not isinstance(obj, dict):
            raise ApiError(400, "JSON body must be an object")
        return obj

    def _node_id(self, text):
        try:
            return int(text)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"bad node id {text!r}") from exc

    def _dispatch(self, req):
        parts = [p for p in req.path.split("/") if p]
        if parts[:1] != ["admin"]:
            raise ApiError(404, "not found")
        parts = parts[1:]
        m = req.method
        st = self.state
        if parts == ["nodes"] and m == "GET":
            return 200, [self.node_json(n) for n in sorted(st.nodes.values(), key=lambda n: n.id)]
        if len(parts) == 2 and parts[0] == "nodes" and m == "DELETE":
            nid = self._node_id(parts[1])
            if not st.delete_node(nid):
                raise ApiError(404, f"no node {nid}")
            return 200, {"deleted": nid}
        if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "expire" and m == "POST":
            nid = self._node_id(parts[1])
            if not st.expire_node(nid):
                raise ApiError(404, f"no node {nid}")
            return 200, {"expired": nid}
        if parts == ["preauthkey"] and m == "POST":
            b = self._body(req)
            key = st.add_preauth_key(b.get("key"), b.get("reusable", False),
                                     b.get("ephemeral", False), str(b.get("user", "tests")))
            return 200, {"key": key, "reusable": bool(b.get("reusable", False)),
                         "ephemeral": bool(b.get("ephemeral", False))}
        if parts == ["pending"] and m == "GET":
            return 200, [{"auth_id": p.auth_id, "node_key": p.request.get("NodeKey"),
                          "hostname": (p.request.get("Hostinfo") or {}).get("Hostname"),
                          "approved": p.node_id is not None} for p in st.pending.values()]
        if parts == ["approve"] and m == "POST":
            b = self._body(req)
            node, err = st.approve(str(b.get("auth_id", "")), str(b.get("user", "tests")))
            if err:
                raise ApiError(404, err)
            return 200, {"node": self.node_json(node)}
        if parts == ["policy"] and m == "GET":
            return 200, {"rules": st.policy}
        if parts == ["policy"] and m == "PUT":
            rules = self._body(req).get("rules")
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                raise ApiError(400, "rules must be a list of FilterRule objects")
            st.set_policy(rules)
            return 200, {"rules": rules}
        if parts == ["derp-stats"] and m == "GET":
            return 200, self.derp.stats()
        if parts == ["drop-derp-client"] and m == "POST":
            b = self._body(req)
            key = b.get("node_key")
            if key is None and "node_id" in b:
                node = st.nodes.get(self._node_id(b["node_id"]))
                key = node.node_key if node else None
            if not key:
                raise ApiError(404, "no such node")
            return 200, {"closed": self.derp.drop_key_text(key)}
        if parts == ["drop-control-client"] and m == "POST":
            b = self._body(req)
            mkey = b.get("machine_key")
            if mkey is None and "node_id" in b:
                node = st.nodes.get(self._node_id(b["node_id"]))
                mkey = node.machine_key if node else None
            if not mkey:
                raise ApiError(404, "no such node")
            return 200, {"closed": self.control.drop_connections(mkey)}
        if parts == ["stats"] and m == "GET":
            return 200, dict(self.control.stats, noise_connections=len(self.control.conns))
        raise ApiError(404, f"no admin route {m} {req.path}")
