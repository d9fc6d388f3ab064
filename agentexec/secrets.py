"""Secrets: environment variables whose names match ``[core] secret_env`` patterns.

Two things follow from a name matching: the ``sandbox`` runtime does not pass the variable into
the sandbox (unless the task's own ``env`` names it, which is an explicit choice), and its value
is masked wherever it appears in what a run records or shows: the event log, the terminal view,
``--json`` output. Masking happens once, in the loop's recorder, before any sink sees an event,
so no sink can forget it. Streamed output is masked too, even when a value is split across
chunks: the end of a chunk that could be the start of a secret is held back until the next chunk
(or the observation) shows whether it is one.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Optional

#: Names treated as secrets unless ``[core] secret_env`` says otherwise (matched case-insensitively).
DEFAULT_SECRET_ENV = ("*_API_KEY", "*_TOKEN", "*_SECRET", "*PASSWORD*")
#: Shorter values are not masked: masking "1" or "yes" everywhere would garble every output.
MIN_SECRET_CHARS = 6


def is_secret(name: str, patterns: Iterable[str] = DEFAULT_SECRET_ENV) -> bool:
    """Whether an environment variable's name matches one of the (shell-style) patterns."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern.upper()) for pattern in patterns)


def secret_names(environ: Mapping[str, str], patterns: Iterable[str] = DEFAULT_SECRET_ENV) -> list[str]:
    """The names in ``environ`` that are secrets, sorted."""
    chosen = tuple(patterns)
    return sorted(name for name in environ if is_secret(name, chosen))


def mask_text(name: str) -> str:
    """What the value of the secret variable ``name`` becomes in a log or on the terminal."""
    return f"<hidden ${name}>"


class Masker:
    """Replaces the values of secret variables in text and in records (dicts, lists, strings)."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        # value -> name; the longest value first, so one that contains another is masked whole.
        self.names = {value: name for name, value in secrets.items() if len(value) >= MIN_SECRET_CHARS}
        values = sorted(self.names, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(value) for value in values)) if values else None
        self.longest = len(values[0]) if values else 0

    def __bool__(self) -> bool:
        return self.pattern is not None

    def text(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(lambda match: mask_text(self.names[match.group(0)]), text)

    def record(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys included) masked."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.record(key): self.record(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.record(item) for item in value]
        return value

    def held_back(self, text: str) -> int:
        """How many characters at the end of ``text`` could begin a secret the next chunk completes."""
        for size in range(min(len(text), self.longest - 1), 0, -1):
            tail = text[-size:]
            if any(value.startswith(tail) for value in self.names):
                return size
        return 0


class StreamMasker:
    """Masks one action's streamed output across chunk boundaries."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.pending = ""

    def feed(self, chunk: str) -> str:
        """The part of the output so far that can be shown now, masked.

        The cut between what is shown and what is held back never falls inside a whole secret,
        so masking the shown part alone gives what masking the whole stream would.
        """
        text = self.pending + chunk
        cut = len(text) - self.masker.held_back(text)
        pattern = self.masker.pattern
        if pattern is not None:
            for match in pattern.finditer(text):
                if match.start() < cut < match.end():
                    cut = match.end()
        self.pending = text[cut:]
        return self.masker.text(text[:cut])

    def flush(self) -> str:
        """Whatever was held back, once the action has ended."""
        text, self.pending = self.pending, ""
        return self.masker.text(text)


def masker_for(patterns: Optional[Iterable[str]], *environments: Mapping[str, str]) -> Masker:
    """A masker for the secret variables of the given environments (``os.environ`` when none)."""
    chosen = tuple(DEFAULT_SECRET_ENV if patterns is None else patterns)
    merged: dict[str, str] = {}
    for environ in environments or (os.environ,):
        merged.update({name: value for name, value in environ.items() if is_secret(name, chosen)})
    return Masker(merged)
