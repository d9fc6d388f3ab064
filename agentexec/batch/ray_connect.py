"""Reaching a Ray cluster without hanging, and saying in one line why it failed.

``ray.init(address=...)`` retries an unreachable GCS inside Ray's C++ client for a long time, deaf to
Ctrl-C and SIGTERM, so the address is first probed from Python within ``[batch] connect_timeout``
seconds (a signal ends the probe at once). Ray >= 2.60 authenticates with a token, read from
``RAY_AUTH_TOKEN``, else the file ``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``; a file left by
an earlier cluster makes every connection fail with "Authentication token is missing or incorrect",
so that error names the file and the variables that fix it. A cluster agentexec starts for one batch
gets a fresh token of its own in the environment, so no stale file can break it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

from agentexec.errors import UsageError

DEFAULT_PORT = 6379


def loopback_only(address: Optional[str]) -> bool:
    """True for a cluster agentexec starts itself, or one on 127.0.0.1/localhost."""
    host = _host_port(address)[0] if address else "127.0.0.1"
    return host in ("127.0.0.1", "localhost", "::1")


def prepare_local_cluster_auth() -> None:
    """Give the cluster started for this batch a token of its own, unless the user chose one."""
    if "RAY_AUTH_TOKEN" not in os.environ:
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def wait_until_reachable(address: str, limit: float) -> None:
    """Return once ``address`` accepts a TCP connection; ``UsageError`` after ``limit`` seconds."""
    if address == "auto":
        return  # Ray finds the address itself, from the running cluster's files
    host, port = _host_port(address)
    deadline = time.monotonic() + limit
    reason = "no answer"
    while True:
        try:
            socket.create_connection((host, port), timeout=min(1.0, max(0.05, deadline - time.monotonic()))).close()
            return
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
        if time.monotonic() >= deadline:
            raise UsageError(
                f"cannot reach a Ray cluster at {address} within {limit:g} s ({reason}); start one "
                "(ray start --head --node-ip-address=127.0.0.1) or fix --address / [batch] address / RAY_ADDRESS, "
                "or raise [batch] connect_timeout"
            )
        time.sleep(0.2)


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Hold what Ray's C++ client writes to fd 2 while connecting (a retry line a second) and hand it
    over afterwards: the reason of a failure is there, not in the exception (``Authentication token
    is missing or incorrect``). Only for connecting to a cluster: processes a local start spawns would
    inherit the file."""
    captured: list[str] = []
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


def describe_failure(address: Optional[str], exc: BaseException, ray_output: str = "") -> str:
    """One line for a failed ``ray.init``: the token source for an authentication error."""
    where = address or "a new local one"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    said = f"{exc} {ray_output}".lower()
    if "authentication token" in said or "invalidauthtoken" in said or "unauthenticated" in said:
        return (
            f"Ray cluster at {where} refused the authentication token from {token_source()}; "
            "set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's token, delete a stale token file, "
            "or set RAY_AUTH_MODE=disabled for a cluster started without authentication"
        )
    return f"cannot start or reach a Ray cluster at {where}: {text}"


def token_source() -> str:
    """Where Ray reads its authentication token from, in Ray's own order."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "the environment variable RAY_AUTH_TOKEN"
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    file = Path(path).expanduser() if path else Path.home() / ".ray" / "auth_token"
    state = "" if file.is_file() else ", which does not exist"
    return f"the file {file}{state}" + (" (RAY_AUTH_TOKEN_PATH)" if path else "")


def _host_port(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[-1]
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    try:
        return host, int(port) if port else DEFAULT_PORT
    except ValueError:
        raise UsageError(f"Ray address {address!r}: port {port!r} is not a number; the form is host:port") from None
