"""Text as a page shows it: long outputs folded to a head and a tail, huge ones cut, diffs split
into classed lines.

A page holds every step of a run, so one output of a megabyte must not make the page a megabyte:
each text is kept to ``MAX_PAGE_CHARS`` (its middle replaced by a marker saying how much was cut
and where the whole text is), and anything longer than a screenful is folded so the head and
tail show and the middle opens on a click. Nothing is dropped without a marker saying so.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Optional

#: Characters of one text kept in a page; the log (or the spilled output file) has the rest.
MAX_PAGE_CHARS = 20_000
#: A text longer than this many lines or characters is folded.
FOLD_LINES = 24
FOLD_CHARS = 3_000
#: What a folded text still shows: this many lines (and at most this many characters) at each end.
EDGE_LINES = 8
EDGE_CHARS = 1_200


@dataclass
class Folded:
    """A text in three parts; ``middle`` is empty when the whole text is short enough to show."""

    head: str
    middle: str = ""
    tail: str = ""
    cut_chars: int = 0

    @property
    def hidden_lines(self) -> int:
        return self.middle.count("\n") + (1 if self.middle and not self.middle.endswith("\n") else 0)


def cut(text: str, where: str, limit: int = MAX_PAGE_CHARS) -> tuple[str, int]:
    """``text`` within ``limit`` characters: its head and tail around a marker naming ``where`` the
    rest is; returns the kept text and how many characters were cut."""
    if len(text) <= limit:
        return text, 0
    half = limit // 2
    removed = len(text) - 2 * half
    marker = f"\n[... {removed:,} characters not shown in this page; the whole text is in {where} ...]\n"
    return text[:half] + marker + text[-half:], removed


def fold(text: str, where: str) -> Folded:
    """Cut ``text`` to the page's limit, then split it into head, hidden middle and tail."""
    text, removed = cut(text, where)
    if text.count("\n") < FOLD_LINES and len(text) <= FOLD_CHARS:
        return Folded(text, cut_chars=removed)
    head_end = _nth(text, "\n", EDGE_LINES, 0, EDGE_CHARS)
    tail_start = _nth_from_end(text, EDGE_LINES, EDGE_CHARS)
    if head_end >= tail_start:
        return Folded(text, cut_chars=removed)
    return Folded(text[:head_end], text[head_end:tail_start], text[tail_start:], removed)


def _nth(text: str, needle: str, count: int, start: int, limit: int) -> int:
    """The index just after the ``count``-th ``needle`` from ``start``, at most ``limit`` characters on."""
    position = start
    for _ in range(count):
        found = text.find(needle, position, start + limit)
        if found < 0:
            return min(len(text), start + limit)
        position = found + 1
    return position


def _nth_from_end(text: str, count: int, limit: int) -> int:
    """Where the last ``count`` lines begin, at most ``limit`` characters before the end."""
    floor = max(0, len(text) - limit)
    position = len(text.rstrip("\n"))
    for _ in range(count):
        found = text.rfind("\n", floor, position)
        if found < 0:
            return floor
        position = found
    return position + 1


DiffLine = tuple[str, str]  # (css class, text)


def classify_diff(diff: str) -> list[DiffLine]:
    """A unified diff's lines, each with its class: ``add``, ``del``, ``hunk``, ``file`` or ``ctx``."""
    lines: list[DiffLine] = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "diff --git", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append((kind, line))
    return lines


def looks_like_diff(text: str) -> bool:
    """True for output that is a unified diff (``git diff``, ``diff -u``): it is shown coloured."""
    head = text[:4000]
    if head.startswith("diff --git") or "\ndiff --git " in head:
        return True
    return (
        ("\n+++ " in head or head.startswith("+++ "))
        and ("\n--- " in head or head.startswith("--- "))
        and ("\n@@ " in head)
    )


def edit_diff(action: str, args: dict[str, Any]) -> Optional[str]:
    """The change an ``edit`` or ``write`` action asks for, as a unified diff; None if it changes nothing
    we can show (``view``, ``undo_edit``, an action of another kind)."""
    path = str(args.get("path", ""))
    if action == "write" and isinstance(args.get("content"), str):
        return _unified("", args["content"], path, "(written whole)")
    if action != "edit":
        return None
    command = args.get("command")
    if command == "create" and isinstance(args.get("file_text"), str):
        return _unified("", args["file_text"], path, "(created)")
    if command == "str_replace" and isinstance(args.get("old_str"), str):
        return _unified(args["old_str"], str(args.get("new_str") or ""), path, "")
    if command == "insert" and isinstance(args.get("new_str"), str):
        lines = args["new_str"].splitlines()
        return "\n".join(
            [f"--- {path}", f"+++ {path}", f"@@ inserted after line {args.get('insert_line', '?')} @@"]
            + ["+" + line for line in lines]
        )
    return None


def _unified(old: str, new: str, path: str, note: str) -> str:
    label = f"{path} {note}".strip()
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{label}", lineterm="", n=3)
    return "\n".join(diff)
