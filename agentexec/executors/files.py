"""File actions: atomic writes, line-range reads, and the ``str_replace`` editor with undo.

The editor follows the OpenHands/Anthropic ``str_replace_editor`` commands (``view``, ``create``,
``str_replace``, ``insert``, ``undo_edit``) so recorded trajectories replay unchanged, and its
messages say exactly what went wrong so an agent can correct itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from agentexec import transfer

SNIPPET_CONTEXT = 4


class EditError(ValueError):
    """An edit that cannot be applied; the message tells the agent how to fix the call."""


def write_atomic(path: Path, content: str) -> None:
    """Write a whole file as ``transfer`` does: atomic replace, but a read-only target is refused and
    a hard-linked one rewritten in place; the text's line endings are kept as given."""
    transfer.write_bytes(path, content.encode("utf-8", "surrogateescape"))


def read_text(path: Path, strict: bool = True) -> str:
    """A text file's exact content (CRLF stays CRLF), with errors that name the path.

    Invalid UTF-8 is an error when ``strict`` (the editor must not write replacement characters
    back); otherwise it is replaced and the caller reports it (``decode_report``).
    """
    return decode_report(path, strict)[0]


def decode_report(path: Path, strict: bool = False) -> tuple[str, bool]:
    """The text of ``path`` and whether it held invalid UTF-8 (replaced by U+FFFD)."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; use the edit action's 'view' to list it")
    data = transfer.read_bytes(path)
    if strict:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError as exc:
            raise EditError(
                f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason}); use exec or read_file for bytes"
            ) from None
    return decode_text(data)


def decode_text(data: bytes) -> tuple[str, bool]:
    """``data`` as text and whether it held invalid UTF-8 (replaced by U+FFFD, so the rest still reads)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True


def numbered(lines: list[str], first: int) -> str:
    """Lines prefixed with their 1-based numbers, as ``cat -n`` prints them."""
    return "\n".join(f"{number:6}\t{line}" for number, line in enumerate(lines, start=first))


class Editor:
    """The ``str_replace`` editor; remembers previous contents per file for ``undo_edit``."""

    def __init__(self) -> None:
        # Previous contents per file; None means the file did not exist, so undo removes it.
        self.history: dict[Path, list[Optional[str]]] = {}

    def apply(
        self,
        path: Path,
        command: str,
        file_text: Optional[str],
        old_str: Optional[str],
        new_str: Optional[str],
        insert_line: Optional[int],
        view_range: Optional[list[int]],
    ) -> str:
        """Run one ``edit`` action's command (view, create, str_replace, insert, undo_edit) on ``path``."""
        if command == "view":
            return self.view(path, view_range)
        if command == "create":
            return self.create(path, file_text)
        if command == "str_replace":
            return self.str_replace(path, old_str, new_str)
        if command == "insert":
            return self.insert(path, insert_line, new_str)
        return self.undo(path)

    def view(self, path: Path, view_range: Optional[list[int]] = None) -> str:
        if path.is_dir():
            if view_range:
                raise EditError("view_range applies to files, not directories")
            return self._list_directory(path)
        lines = read_text(path).split("\n")
        if not view_range:
            return f"Here's the result of running `cat -n` on {path}:\n{numbered(lines, 1)}\n"
        if len(view_range) != 2:
            raise EditError("view_range must be [start, end] (1-based, end -1 for the last line)")
        start, end = view_range
        end = len(lines) if end == -1 else end
        if not 1 <= start <= len(lines) or end < start or end > len(lines):
            raise EditError(
                f"view_range {view_range} is outside the file's {len(lines)} lines; "
                "use 1-based [start, end] with start <= end, or end -1 for the last line"
            )
        return f"Here's the result of running `cat -n` on {path}:\n{numbered(lines[start - 1 : end], start)}\n"

    def create(self, path: Path, file_text: Optional[str]) -> str:
        if file_text is None:
            raise EditError("'create' needs file_text")
        if path.exists():
            raise EditError(f"file already exists at {path}; 'create' does not overwrite, use 'str_replace' or write")
        write_atomic(path, file_text)
        self.history.setdefault(path, []).append(None)
        return f"File created successfully at: {path}"

    def str_replace(self, path: Path, old_str: Optional[str], new_str: Optional[str]) -> str:
        if not old_str:
            raise EditError("'str_replace' needs a non-empty old_str (the exact text to replace)")
        text = read_text(path)
        count = text.count(old_str)
        if count == 0:
            raise EditError(f"no replacement was performed: old_str {old_str!r} did not appear verbatim in {path}")
        if count > 1:
            starts = [i for i in range(len(text)) if text.startswith(old_str, i)]
            where = sorted({text.count("\n", 0, i) + 1 for i in starts})
            raise EditError(
                f"no replacement was performed: old_str appears {count} times in {path} (lines {where}); "
                "include more context so it matches exactly once"
            )
        new_str = new_str or ""
        new_text = text.replace(old_str, new_str)
        self._save(path, text, new_text)
        line = text.count("\n", 0, text.index(old_str)) + 1
        return self._snippet(path, new_text, line, new_str.count("\n"))

    def insert(self, path: Path, insert_line: Optional[int], new_str: Optional[str]) -> str:
        if insert_line is None or new_str is None:
            raise EditError("'insert' needs insert_line and new_str")
        text = read_text(path)
        lines = text.split("\n")
        if not 0 <= insert_line <= len(lines):
            raise EditError(f"insert_line {insert_line} is outside [0, {len(lines)}] for {path}")
        new_lines = new_str.split("\n")
        new_text = "\n".join(lines[:insert_line] + new_lines + lines[insert_line:])
        self._save(path, text, new_text)
        return self._snippet(path, new_text, insert_line + 1, len(new_lines) - 1)

    def undo(self, path: Path) -> str:
        previous = self.history.get(path)
        if not previous:
            raise EditError(f"no edit history for {path}")
        content = previous.pop()
        if content is None:
            path.unlink(missing_ok=True)
            return f"Last edit to {path} undone successfully: the file it created is removed."
        write_atomic(path, content)
        return f"Last edit to {path} undone successfully."

    def _save(self, path: Path, old: str, new: str) -> None:
        write_atomic(path, new)
        self.history.setdefault(path, []).append(old)

    def _snippet(self, path: Path, text: str, line: int, extra_lines: int) -> str:
        lines = text.split("\n")
        first = max(1, line - SNIPPET_CONTEXT)
        last = min(len(lines), line + extra_lines + SNIPPET_CONTEXT)
        return (
            f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet:\n"
            f"{numbered(lines[first - 1 : last], first)}\n"
            "Review the changes and make sure they are as expected. Edit the file again if necessary."
        )

    @staticmethod
    def _list_directory(path: Path) -> str:
        entries = []
        for child in sorted(path.iterdir()):
            if child.name.startswith("."):
                continue
            entries.append(f"{child}/" if child.is_dir() else str(child))
            if child.is_dir():
                entries.extend(
                    f"{grandchild}/" if grandchild.is_dir() else str(grandchild)
                    for grandchild in sorted(child.iterdir())
                    if not grandchild.name.startswith(".")
                )
        listing = "\n".join(entries)
        title = f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden items:"
        return f"{title}\n{path}/\n{listing}\n"
