"""The MCP server over Streamable HTTP, behind a bearer token.

The SDK's own Streamable HTTP app (sessions, SSE streams, DNS-rebinding protection on loopback) is
served by uvicorn; in front of it sits one check: every request must carry
``Authorization: Bearer <token>``, else 401. A token is always required because a tool call runs
arbitrary commands: an unauthenticated port on even 127.0.0.1 is a shell for every local user and
for any web page that can reach it. The listening socket is bound before serving so the URL
printed is the real one (port 0 picks a free port).
"""

from __future__ import annotations

import hmac
import socket
from typing import TYPE_CHECKING, Any

from agentexec.errors import UsageError

if TYPE_CHECKING:  # the SDK is imported when serving, so a bad --http fails fast
    from agentexec.integrations.mcp_server import ToolBridge

#: The path the SDK's app serves MCP on; clients connect to ``http://HOST:PORT/mcp``.
MCP_PATH = "/mcp"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1), ``[::1]:PORT`` for IPv6."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--http {text!r}: expected HOST:PORT with a port 0-65535, e.g. --http 127.0.0.1:8765")
    return host, int(port_text)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a busy port is a one-line error, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--http {host}:{port}: cannot listen there ({exc.strerror}); pick another port") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{MCP_PATH}"


class BearerTokenGate:
    """ASGI middleware: a request without ``Authorization: Bearer <token>`` gets 401 and goes no further."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._authorised(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"www-authenticate", b'Bearer realm="agentexec"'), (b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"missing or wrong bearer token\n"})
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Any) -> bool:
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)


async def serve_http(bridge: ToolBridge, sock: socket.socket, token: str, max_request_bytes: int) -> None:
    """Serve Streamable HTTP on ``sock`` until the process is interrupted."""
    import uvicorn

    from agentexec.integrations.mcp_server import build_server

    host = sock.getsockname()[0]
    app = build_server(bridge).streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        max_request_body_size=max_request_bytes + 64 * 1024,  # the envelope; the bridge names the arguments' size
    )
    config = uvicorn.Config(
        BearerTokenGate(app, token),
        log_level="warning",
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    await uvicorn.Server(config).serve(sockets=[sock])
