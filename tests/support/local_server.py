"""The HTTP plumbing of the fake endpoints in ``tests/support``: a JSON server on loopback.

A :class:`LocalServer` subclass implements :meth:`LocalServer.answer` (one parsed JSON request
in, one :class:`Reply` out) and gets the rest: a ``ThreadingHTTPServer`` on ``127.0.0.1`` at a
free port in a daemon thread (``start``/``stop`` or ``with``), ``url``/``base_url``, the JSON
body read (400 if it is not JSON), the reply written in one buffered write with Nagle off,
``GET /_stats`` (:meth:`LocalServer.stats`) and ``POST /_reset`` (:meth:`LocalServer.reset_over_http`)
for a server run in another process, and :func:`serve` for that process's ``main``. Standard
library only (FMEval's environment imports these modules too).

    >>> import json, urllib.request
    >>> class Echo(LocalServer):
    ...     def answer(self, request):
    ...         with self.lock:
    ...             self.requests.append(request.body)
    ...         return Reply(200, {"path": request.route, "got": request.body})
    >>> with Echo() as server:
    ...     sent = urllib.request.Request(server.url + "/v1/x?q=1", data=b'{"a": 1}', method="POST")
    ...     json.load(urllib.request.urlopen(sent)), json.load(urllib.request.urlopen(
    ...         server.url + "/_stats"))
    ({'path': '/v1/x', 'got': {'a': 1}}, {'requests': 1})
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    """One POST: its path (``route`` without the query), lower-cased headers, parsed JSON body."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]


@dataclass
class Reply:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    #: Called once the reply has been written to the socket (not if the client was gone).
    on_sent: Any = None


def not_found(request: Request) -> Reply:
    return Reply(404, {"error": {"message": f"unknown path {request.path}"}})


class LocalServer:
    """Base of the fake servers; subclasses implement :meth:`answer` (thread-safe)."""

    thread_name = "local-server"
    #: Logged requests, cleared by :meth:`reset`; hold :attr:`lock` to change them.
    requests: list[Any]

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """What ``GET /_stats`` returns."""
        with self.lock:
            return {"requests": len(self.requests)}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()

    def reset_over_http(self, body: Any) -> None:
        """``POST /_reset`` with its JSON body (None when empty)."""
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def lock(self) -> threading.Lock:
        lock = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_lock", threading.Lock())
        return lock

    def start(self) -> LocalServer:
        if not hasattr(self, "requests"):
            self.requests = []
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(
            target=self._server.serve_forever, daemon=True, name=self.thread_name
        ).start()
        return self

    def stop(self) -> None:
        server = self.__dict__.pop("_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        server = self.__dict__.get("_server")
        assert server is not None, "server not started"
        return server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (e.g. the MLflow deployments target)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``<url>/v1``: the OpenAI base URL (OPENAI_BASE_URL / OPENAI_API_BASE)."""
        return f"{self.url}/v1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen() backlog: set before the socket listens (in __init__)


class _Handler(BaseHTTPRequestHandler):
    owner: LocalServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (buffered file, flushed per request) and Nagle is off:
    # separate small writes would stall on delayed ACKs (~40 ms per keep-alive request).
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/_stats":
            self._send(Reply(200, self.owner.stats()))
        else:
            self._send(Reply(404, {"error": {"message": "not found"}}))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(Reply(400, {"error": {"message": "body is not JSON"}}))
            return
        request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if request.route == "/_reset":
            self.owner.reset_over_http(body or None)
            self._send(Reply(200, self.owner.stats()))
            return
        self._send(self.owner.answer(request))

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.payload).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            if reply.on_sent is not None:
                self.wfile.flush()
                reply.on_sent()
        except (BrokenPipeError, ConnectionResetError):  # client gave up (its timeout)
            pass


def serve(server: LocalServer) -> None:
    """Run ``server`` in the foreground of its own process: print its ``base_url`` as the first
    line of stdout, then serve until interrupted."""
    server.start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
