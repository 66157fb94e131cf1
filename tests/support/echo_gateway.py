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
from dataclasses import dataclass, field
from typing import Any

try:  # imported as support.echo_gateway (tests), or from tests/support itself
    from support.local_server import LocalServer, Reply, Request, not_found
except ImportError:
    from local_server import (
        LocalServer,
        Reply,
        Request,
        not_found,
    )  # run as a script: its folder is on sys.path


@dataclass
class EchoGateway(LocalServer):
    score: int = 3
    requests: list[dict[str, Any]] = field(default_factory=list)

    thread_name = "echo-gateway"

    def answer(self, request: Request) -> Reply:
        body, headers = request.body, request.headers
        with self.lock:
            self.requests.append({"path": request.path, "headers": headers, "body": body})
        echoed = "; ".join(
            f"{k}: {v}"
            for k, v in headers.items()
            if k == "authorization" or k == "api-key" or k.startswith("x-")
        )
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if not request.route.endswith("/chat/completions"):
            return not_found(request)
        if "REJECT" in prompt:
            return Reply(
                401,
                {
                    "error": {
                        "message": f"Invalid credentials ({echoed})",
                        "type": "invalid_request_error",
                    }
                },
            )
        answer = {"score": self.score, "justification": f"graded with {echoed}"}
        return Reply(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": json.dumps(answer)},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
        )
