"""A Chat Completions server on 127.0.0.1 that answers from a script: the one fake the project allows.

It speaks the real wire protocol over a real socket (``POST /v1/chat/completions``, JSON in and
out, error bodies shaped as OpenAI's), so the ``openai`` client and the LLM agent run unchanged.
Each scripted reply is one of:

* ``reply(content, calls=[(name, arguments_json)], prompt_tokens, completion_tokens)``
* ``failure(status)`` — an HTTP error with an OpenAI-style error body.

Every request body is kept in ``server.requests`` for the test to inspect.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


def reply(
    content: Optional[str] = None,
    calls: Optional[list[tuple[str, str]]] = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 10,
) -> dict[str, Any]:
    """A successful completion: text and/or tool calls (arguments as the raw JSON string)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(calls)
        ]
    return {
        "status": 200,
        "body": {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop", "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
    }


def failure(status: int) -> dict[str, Any]:
    """An HTTP error as OpenAI sends it."""
    return {"status": status, "body": {"error": {"message": f"scripted error {status}", "type": "server_error"}}}


class FakeOpenAI:
    """The server; use as a context manager. ``base_url`` is what ``[agent] base_url`` takes."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server.lock:
                    server.requests.append({"path": self.path, "body": body})
                    answer = server.script.pop(0) if server.script else failure(400)
                if self.path != "/v1/chat/completions":
                    answer = failure(404)
                data = json.dumps(answer["body"]).encode()
                self.send_response(answer["status"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
