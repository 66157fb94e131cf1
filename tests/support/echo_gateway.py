"""A careless OpenAI-compatible gateway that echoes the request's credentials back (for tests).

``POST .../chat/completions`` on ``127.0.0.1``: a request whose prompt contains ``REJECT`` gets
HTTP 401 with the ``Authorization`` header and every ``X-*`` header quoted in the error message
(as some gateways do); any other request gets a well-formed judge answer whose justification
quotes them too. Requests are logged (:attr:`EchoGateway.requests`: path, lower-cased headers,
parsed body).

    >>> import openai
    >>> with EchoGateway() as gateway:
    ...     client = openai.OpenAI(base_url=gateway.base_url, api_key="sk-abc", max_retries=0)
    ...     try:
    ...         client.chat.completions.create(model="m", messages=[{"role": "user", "content": "REJECT"}])
    ...     except openai.AuthenticationError as exc:
    ...         print(exc.status_code, "Bearer sk-abc" in str(exc))
    401 True
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class EchoGateway:
    score: int = 3
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> EchoGateway:
        handler = type("Handler", (_Handler,), {"gateway": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


class _Handler(BaseHTTPRequestHandler):
    gateway: EchoGateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.gateway._lock:
            self.gateway.requests.append({"path": self.path, "headers": headers, "body": body})
        echoed = "; ".join(f"{k}: {v}" for k, v in headers.items()
                           if k == "authorization" or k == "api-key" or k.startswith("x-"))
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if not self.path.split("?")[0].endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"unknown path {self.path}"}})
        elif "REJECT" in prompt:
            self._send(401, {"error": {"message": f"Invalid credentials ({echoed})",
                                       "type": "invalid_request_error"}})
        else:
            answer = {"score": self.gateway.score, "justification": f"graded with {echoed}"}
            self._send(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                 "role": "assistant", "content": json.dumps(answer)}}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
