#!/usr/bin/python3
"""Fake Tailscale control server (ts2021: Noise IK + HTTP/2) with an embedded DERP relay, for CI
tests of tunless' tailnet client. Written from the upstream Go sources, not from our C++ code; see
README.md next to this file. Run with Debian's /usr/bin/python3 (python3-h2, -nacl, -cryptography).

Prints one JSON line to stdout when ready; logs go to stderr.
"""

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakehs import admin, control, derp, http1, keys, state, tls  # noqa: E402

log = logging.getLogger("fakehs")
DERP_REGION = 999


def host_port(text, what):
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit():
        raise SystemExit(f"{what}: expected host:port, got {text!r}")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise SystemExit(f"{what}: host must be a literal IP address, got {host!r}") from exc
    return ip, int(port)


def check_local(ip, what, loopback_only=False):
    # Tests run on loopback or inside network namespaces with private addressing; never bind a
    # wildcard or a public address.
    ok = ip.is_loopback if loopback_only else (
        ip.is_loopback or (ip.is_private and not ip.is_unspecified) or ip.is_link_local)
    if not ok or ip.is_unspecified:
        raise SystemExit(f"{what}: refusing non-{'loopback' if loopback_only else 'local'} "
                         f"address {ip}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:0", help="control+DERP host:port (port 0 = any)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--tls", dest="tls", action="store_true", default=True,
                   help="serve HTTPS (default)")
    g.add_argument("--plain", dest="tls", action="store_false", help="serve plain HTTP")
    p.add_argument("--hostname", default="localhost",
                   help="name in the server certificate and the DERPMap HostName")
    p.add_argument("--server-url", help="server_url for AuthURLs (default scheme://hostname:port)")
    p.add_argument("--state-dir", help="keys, CA and state.json (default: a new temp dir)")
    p.add_argument("--ca-out", help="where to write the CA certificate (default state-dir/ca.pem)")
    p.add_argument("--preauth-key", action="append", default=[], metavar="KEY[,reusable][,ephemeral]",
                   help="pre-auth key (single-use unless ',reusable'); repeatable")
    p.add_argument("--keepalive-seconds", type=float,
                   help="map KeepAlive interval (default 50-59 s jittered, like headscale)")
    p.add_argument("--derp-keepalive-seconds", type=float,
                   help="DERP KeepAlive interval (default 60 s + up to 5 s jitter)")
    p.add_argument("--min-capver", type=int, default=113, help="minimum capability version")
    p.add_argument("--admin", default="127.0.0.1:0", help="admin API host:port (loopback only)")
    p.add_argument("--base-domain", default="fakehs.test", help="MagicDNS base domain")
    p.add_argument("--no-verify-clients", action="store_true",
                   help="let any node key use DERP (headscale verify_clients: false)")
    p.add_argument("--patch-updates", action="store_true",
                   help="send endpoint/home-DERP/disco changes as PeersChangedPatch")
    p.add_argument("--ephemeral-timeout", type=float, default=30.0,
                   help="seconds before a disconnected ephemeral node is deleted")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


class App:
    def __init__(self, args):
        self.args = args
        self.listen_ip, self.listen_port = host_port(args.listen, "--listen")
        check_local(self.listen_ip, "--listen")
        self.admin_ip, self.admin_port = host_port(args.admin, "--admin")
        check_local(self.admin_ip, "--admin", loopback_only=True)
        self.state_dir = args.state_dir or tempfile.mkdtemp(prefix="fakehs-")
        os.makedirs(self.state_dir, exist_ok=True)
        self.ca_out = args.ca_out or os.path.join(self.state_dir, "ca.pem")

    def route(self, req):
        path = req.path
        if path == "/key" and req.method == "GET":
            return self.control.key_route(req)
        if path == "/ts2021":
            if req.method != "POST":
                return 400, b"websocket upgrade is not supported by this fake server\n", "text/plain"
            return self.control.ts2021_route(req)
        if path == "/derp":
            return self.derp.route(req)
        if path in ("/derp/probe", "/derp/latency-check"):
            return 200, b"", "text/plain"
        if path.startswith("/register/"):
            auth_id = path[len("/register/"):]
            return 200, (f"Fake headscale: approve with POST /admin/approve "
                         f'{{"auth_id": "{auth_id}"}} on the admin listener.\n').encode(), "text/plain"
        if path == "/health":
            return 200, b'{"status":"pass"}\n', "application/json"
        return 404, b"404 page not found\n", "text/plain"

    async def run(self):
        a = self.args
        noise_priv = keys.load_or_create(os.path.join(self.state_dir, "noise_private.key"))
        derp_priv = keys.load_or_create(os.path.join(self.state_dir, "derp_server_private.key"))
        self.state = state.State(self.state_dir, a.base_domain, a.ephemeral_timeout)
        for spec in a.preauth_key:
            parts = spec.split(",")
            flags = set(parts[1:])
            unknown = flags - {"reusable", "ephemeral"}
            if not parts[0] or unknown:
                raise SystemExit(f"--preauth-key: bad spec {spec!r}")
            if parts[0] not in self.state.preauth:
                self.state.add_preauth_key(parts[0], "reusable" in flags, "ephemeral" in flags)
        ssl_ctx = None
        if a.tls:
            ssl_ctx = tls.make_server_context(self.state_dir, a.hostname, str(self.listen_ip),
                                              self.ca_out)
        server = await asyncio.start_server(
            lambda r, w: http1.serve(r, w, self.route, "public"), str(self.listen_ip),
            self.listen_port, ssl=ssl_ctx, limit=http1.MAX_HEADER_BYTES,
            ssl_handshake_timeout=10 if ssl_ctx else None)
        port = server.sockets[0].getsockname()[1]
        scheme = "https" if a.tls else "http"
        host_for_url = a.hostname if ":" not in a.hostname else f"[{a.hostname}]"
        server_url = a.server_url or f"{scheme}://{host_for_url}:{port}"
        node = {"Name": str(DERP_REGION), "RegionID": DERP_REGION, "HostName": a.hostname,
                "STUNPort": -1, "DERPPort": port}
        node["IPv6" if self.listen_ip.version == 6 else "IPv4"] = str(self.listen_ip)
        derp_map = {"Regions": {str(DERP_REGION): {
            "RegionID": DERP_REGION, "RegionCode": "headscale",
            "RegionName": "Headscale Embedded DERP", "Nodes": [node]}}}
        cfg = control.Config(a.min_capver, a.keepalive_seconds, a.base_domain, server_url,
                             derp_map, a.patch_updates)
        self.control = control.ControlServer(self.state, cfg, noise_priv)
        self.derp = derp.DerpServer(self.state, derp_priv, a.derp_keepalive_seconds,
                                    not a.no_verify_clients)
        adm = admin.Admin(self.state, self.control, self.derp)
        admin_server = await asyncio.start_server(
            lambda r, w: http1.serve(r, w, adm.route, "admin"), str(self.admin_ip),
            self.admin_port, limit=http1.MAX_HEADER_BYTES)
        admin_port = admin_server.sockets[0].getsockname()[1]

        def fmt(ip, p):
            return f"[{ip}]:{p}" if ip.version == 6 else f"{ip}:{p}"

        ready = {"event": "ready", "listen": fmt(self.listen_ip, port), "url": server_url,
                 "tls": bool(a.tls), "hostname": a.hostname,
                 "admin": fmt(self.admin_ip, admin_port),
                 "admin_url": f"http://{fmt(self.admin_ip, admin_port)}",
                 "ca": os.path.abspath(self.ca_out) if a.tls else None,
                 "state_dir": os.path.abspath(self.state_dir),
                 "control_public_key": self.control.public_text,
                 "derp_public_key": keys.text("nodekey:", self.derp.public),
                 "derp_region": DERP_REGION, "min_capver": a.min_capver,
                 "preauth_keys": [s.split(",")[0] for s in a.preauth_key], "pid": os.getpid()}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        log.info("ready: %s", ready)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        server.close()
        admin_server.close()
        for conn in list(self.control.conns):
            conn.close()
        for conns in list(self.derp.clients.values()):
            for c in conns:
                c.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        stream=sys.stderr,
                        format="%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")
    app = App(args)
    asyncio.run(app.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
