"""HTTP/2 server (h2 library, client_side=False) over the decrypted Noise byte stream.

headscale serves golang.org/x/net/http2.Server.ServeConn on the hijacked controlbase.Conn
(hscontrol/noise.go): prior-knowledge h2c, several concurrent streams (the endless map poll next
to register/lite-update requests), flow control both ways. This module owns the h2 state machine;
control.py supplies the per-request handler. Request bodies are capped at 1 MiB like headscale.
"""

import asyncio
import email.utils
import logging

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

log = logging.getLogger("fakehs.h2")

MAX_BODY = 1 << 20


class StreamGone(Exception):
    pass


class Request:
    def __init__(self, stream_id, headers):
        self.stream_id = stream_id
        self.headers = {}
        for name, value in headers:
            self.headers[name.lower()] = value
        self.method = self.headers.get(":method", "")
        self.path = self.headers.get(":path", "")
        self.body = bytearray()
        self.too_large = False


class Response:
    """Writer for one stream; write() waits for the peer's flow-control window."""

    def __init__(self, server, stream_id):
        self._server = server
        self.stream_id = stream_id
        self.closed = asyncio.Event()
        self.window = asyncio.Event()
        self.headers_sent = False
        self.ended = False

    async def start(self, status, content_type=None, extra=()):
        hdrs = [(":status", str(status)), ("date", email.utils.formatdate(usegmt=True))]
        if content_type:
            hdrs.append(("content-type", content_type))
        hdrs.extend(extra)
        self._server.call(lambda c: c.send_headers(self.stream_id, hdrs))
        self.headers_sent = True
        await self._server.drain()

    async def write(self, data: bytes):
        view = memoryview(data)
        while len(view):
            if self.closed.is_set():
                raise StreamGone()
            conn = self._server.conn
            try:
                window = conn.local_flow_control_window(self.stream_id)
            except h2.exceptions.StreamClosedError as exc:
                raise StreamGone() from exc
            size = min(window, len(view), conn.max_outbound_frame_size)
            if size <= 0:
                self.window.clear()
                waiter = asyncio.ensure_future(self.window.wait())
                closer = asyncio.ensure_future(self.closed.wait())
                await asyncio.wait([waiter, closer], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                closer.cancel()
                continue
            chunk = bytes(view[:size])
            if not self._server.call(lambda c: c.send_data(self.stream_id, chunk)):
                raise StreamGone()
            view = view[size:]
        await self._server.drain()

    async def end(self, data: bytes = b""):
        if data:
            await self.write(data)
        if not self.closed.is_set() and not self.ended:
            self.ended = True
            self._server.call(lambda c: c.end_stream(self.stream_id))
            await self._server.drain()

    async def simple(self, status, body: bytes, content_type="text/plain; charset=utf-8"):
        await self.start(status, content_type if body else None)
        await self.end(body)


class H2Server:
    """One HTTP/2 server connection. send_raw(bytes) puts plaintext into the Noise transport,
    drain() awaits socket back-pressure, handler(request, response) is an async callable."""

    def __init__(self, send_raw, drain, handler, name):
        self._send_raw = send_raw
        self._drain = drain
        self._handler = handler
        self.name = name
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self._requests = {}
        self._responses = {}
        self._tasks = {}
        self.terminated = asyncio.Event()
        self.requests_served = 0

    def start(self):
        # Settings in the spirit of Go's http2.Server defaults: 250 streams, 1 MiB windows.
        self.conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 250,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: 1 << 20,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20,
        })
        # Settings given as initial values count as already acknowledged, so h2 must be told
        # about the larger inbound frame size directly.
        self.conn.max_inbound_frame_size = 1 << 20
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(1 << 30)
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self._send_raw(data)

    def call(self, fn) -> bool:
        """Run an h2 operation and flush; False if the stream/connection is gone."""
        try:
            fn(self.conn)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError) as exc:
            log.debug("%s: h2 operation failed: %s", self.name, exc)
            return False
        finally:
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - transport already failing
                log.debug("%s: flush failed: %s", self.name, exc)
        return True

    async def drain(self):
        await self._drain()

    def feed(self, data: bytes):
        """Process decrypted bytes. Raises h2 ProtocolError for a broken peer (caller closes)."""
        try:
            events = self.conn.receive_data(data)
        finally:
            self.flush()
        for ev in events:
            self._on_event(ev)
        self.flush()

    def _on_event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self._requests[ev.stream_id] = Request(ev.stream_id, ev.headers)
            self._responses[ev.stream_id] = Response(self, ev.stream_id)
        elif isinstance(ev, h2.events.DataReceived):
            req = self._requests.get(ev.stream_id)
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if req is None:
                return
            if len(req.body) + len(ev.data) > MAX_BODY:
                req.too_large = True
            else:
                req.body += ev.data
        elif isinstance(ev, h2.events.StreamEnded):
            req = self._requests.pop(ev.stream_id, None)
            if req is not None:
                task = asyncio.ensure_future(self._run(req, self._responses[ev.stream_id]))
                self._tasks[ev.stream_id] = task
        elif isinstance(ev, h2.events.StreamReset):
            self._stream_gone(ev.stream_id)
        elif isinstance(ev, h2.events.WindowUpdated):
            if ev.stream_id == 0:
                for r in self._responses.values():
                    r.window.set()
            elif ev.stream_id in self._responses:
                self._responses[ev.stream_id].window.set()
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for r in self._responses.values():
                r.window.set()
        elif isinstance(ev, h2.events.ConnectionTerminated):
            log.info("%s: client sent GOAWAY (error %s)", self.name, ev.error_code)
            self.terminated.set()

    def _stream_gone(self, stream_id):
        self._requests.pop(stream_id, None)
        resp = self._responses.pop(stream_id, None)
        if resp is not None:
            resp.closed.set()
        task = self._tasks.pop(stream_id, None)
        if task is not None and not task.done():
            task.cancel()

    async def _run(self, req, resp):
        try:
            if req.too_large:
                await resp.simple(413, b"request body too large\n")
            else:
                await self._handler(req, resp)
                if not resp.headers_sent:
                    await resp.simple(500, b"handler wrote nothing\n")
                await resp.end()
            self.requests_served += 1
        except StreamGone:
            log.info("%s: stream %d closed by the client", self.name, req.stream_id)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - never let one request kill the server
            log.exception("%s: handler for %s %s failed", self.name, req.method, req.path)
            if not resp.headers_sent:
                self.call(lambda c: c.send_headers(req.stream_id, [(":status", "500")],
                                                   end_stream=True))
            else:
                self.call(lambda c: c.reset_stream(req.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR))
        finally:
            self._tasks.pop(req.stream_id, None)
            self._responses.pop(req.stream_id, None)

    def close(self):
        for task in list(self._tasks.values()):
            task.cancel()
        for resp in self._responses.values():
            resp.closed.set()
        self._tasks.clear()
        self.terminated.set()

    def goaway(self):
        self.call(lambda c: c.close_connection())
