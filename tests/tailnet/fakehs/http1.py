"""Minimal HTTP/1.1 server side: request parsing with bounds, plain responses, keep-alive, and
hand-over of the raw stream for the two upgrades (/ts2021 and /derp). Used by the public listener
(fake_headscale.py) and the admin listener (admin.py). Not a general HTTP server: no chunked
request bodies, 16 KiB of headers, 1 MiB bodies.
"""

import asyncio
import logging
import urllib.parse

log = logging.getLogger("fakehs.http1")

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY = 1 << 20
HEADER_TIMEOUT = 30.0

REASONS = {101: "Switching Protocols", 200: "OK", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, method, target, version, headers, body, peer):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body
        self.peer = peer
        parsed = urllib.parse.urlsplit(target)
        self.path = parsed.path
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)

    def wants_close(self):
        return self.header("connection").lower() == "close" or self.version == "HTTP/1.0"


async def read_request(reader: asyncio.StreamReader, peer) -> Request:
    """Returns None on a clean EOF before any byte; raises BadRequest on malformed input."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise BadRequest("connection closed inside the request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    except asyncio.TimeoutError as exc:
        raise BadRequest("timeout reading the request head") from exc
    if len(head) > MAX_HEADER_BYTES:
        raise BadRequest("request head too large")
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # latin-1 cannot fail, kept for clarity
        raise BadRequest("undecodable head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:100]!r}")
        headers[name.lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequest("chunked request bodies are not supported")
    length = headers.get("content-length", "0") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        raise BadRequest(f"bad content-length {length[:20]!r}")
    body = b""
    if int(length):
        try:
            body = await asyncio.wait_for(reader.readexactly(int(length)), HEADER_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            raise BadRequest("short request body") from exc
    return Request(method, target, version, headers, body, peer)


def response(status, body=b"", content_type="text/plain; charset=utf-8", headers=(), close=False):
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    if body or status not in (101, 204):
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def serve(reader, writer, route, name):
    """Keep-alive loop. route(request) returns either (status, body, content_type) or a
    coroutine function taking (request, reader, writer) that takes the connection over."""
    peer = writer.get_extra_info("peername")
    try:
        while True:
            try:
                req = await read_request(reader, peer)
            except BadRequest as exc:
                log.warning("%s %s: bad HTTP request: %s", name, peer, exc)
                writer.write(response(400, f"bad request: {exc}\n".encode(), close=True))
                await writer.drain()
                return
            if req is None:
                return
            result = route(req)
            if callable(result):
                await result(req, reader, writer)
                return
            status, body, ctype = result
            close = req.wants_close()
            writer.write(response(status, body, ctype, close=close))
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
        log.info("%s %s: connection ended: %s", name, peer, exc)
    except Exception:  # noqa: BLE001 - one connection never takes the server down
        log.exception("%s %s: connection handler failed", name, peer)
    finally:
        writer.close()
