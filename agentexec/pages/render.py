"""The Jinja2 environment every page is rendered with: templates from the package, autoescaping on.

Autoescaping is what keeps a run's text from ever becoming markup: an output of ``<script>`` is
written as ``&lt;script&gt;``. Each page also carries a Content-Security-Policy whose script
source is a fresh nonce, so even markup that got through could not run a script of its own, and
nothing may be fetched from the network.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("agentexec.pages", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = seconds
    env.filters["size"] = size
    env.filters["inert"] = inert
    return env


def render(template: str, **context: Any) -> str:
    """A whole page: ``template`` with ``context`` and the page's script nonce."""
    return environment().get_template(template).render(nonce=secrets.token_urlsafe(16), **context)


#: What would end a ``<noscript>`` block early, were it ever inside one (any letter case).
NOSCRIPT_END = re.compile(r"</(noscript)", re.IGNORECASE)


def inert(markup: str) -> Markup:
    """Markup made safe to carry as the raw text of a ``<noscript>`` block (a page's later steps).

    Autoescaping already turns every ``<`` of a run's text into ``&lt;``, so only our own tags can
    appear; this makes the guarantee local: no ``</noscript`` can close the block and let what
    follows be parsed as the page's own markup."""
    return Markup(NOSCRIPT_END.sub(r"&lt;/\1", str(markup)))


def write_page(path: Path, text: str) -> Path:
    """Write atomically, so a browser (or a CI upload) never reads half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def seconds(value: Any) -> str:
    """A duration for humans: ``12 ms``, ``3.40 s``, ``2 min 5 s``."""
    if not isinstance(value, (int, float)):
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{int(value // 60)} min {int(value % 60)} s"


def size(value: int) -> str:
    """A byte count for humans."""
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return f"{value} B"
