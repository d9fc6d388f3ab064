"""The text file actions ``read``, ``write`` and ``edit``: a mixin of ``ActionExecutor``.

They share one concern apart from the shell: how a path the agent names is resolved (freely, or
confined to the workspace through ``Confinement``, with a ``Shadow`` copy for the editor), and how
text is kept exact (CRLF stays, invalid UTF-8 is reported, a read-only target is refused).
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from agentexec.events import Observation, error
from agentexec.executors.base import BaseActionExecutor, action
from agentexec.executors.confine import Confinement, Shadow
from agentexec.executors.files import EditError, Editor, decode_report, decode_text, write_atomic

EditCommand = Literal["view", "create", "str_replace", "insert", "undo_edit"]


class FileActions(BaseActionExecutor):
    """``read``, ``write`` and ``edit`` over the workspace, confined to it when ``confinement`` is set."""

    #: Defaults for a class that mixes this in without ``ActionExecutor``'s options.
    confinement: Optional[Confinement] = None
    shadow: Optional[Shadow] = None
    #: Started on the first edit; it keeps the undo history of this executor's edits.
    editor: Optional[Editor] = None

    def close(self) -> None:
        if self.shadow is not None:
            self.shadow.close()
            self.shadow = None
        super().close()

    @action
    def read(self, path: str, start: int = 0, end: int = -1) -> Observation:
        """Read a text file, optionally a range of lines.

        Args:
            path: file to read; relative to the workspace.
            start: first line, 0-based (OpenHands' convention).
            end: line to stop before; -1 reads to the end.
        """
        if self.confinement is not None:
            target = self.confinement.shown(path)
            text, invalid = decode_text(self.confinement.read_bytes(path))
        else:
            target = self.resolve(path)
            text, invalid = decode_report(target)
        lines = text.splitlines(keepends=True)
        selected = lines[start:] if end == -1 else lines[start:end]
        extras: dict[str, Any] = {"path": str(target)}
        if invalid:
            extras["invalid_utf8"] = True
            extras["notes"] = ["the file is not valid UTF-8: invalid bytes are shown as U+FFFD; exec can read bytes"]
        return Observation(observation="read", content="".join(selected), extras=extras)

    @action
    def write(self, path: str, content: str) -> Observation:
        """Write a whole file; parents are created. A read-only file is refused, hard links are kept.

        Args:
            path: file to write; relative to the workspace.
            content: the file's new content.
        """
        if self.confinement is not None:
            target = self.confinement.shown(path)
            self.confinement.write_bytes(path, content.encode("utf-8", "surrogateescape"))
        else:
            target = self.resolve(path)
            write_atomic(target, content)
        return Observation(
            observation="write", content=f"wrote {len(content)} characters to {target}", extras={"path": str(target)}
        )

    @action
    def edit(
        self,
        command: EditCommand,
        path: str,
        file_text: Optional[str] = None,
        old_str: Optional[str] = None,
        new_str: Optional[str] = None,
        insert_line: Optional[int] = None,
        view_range: Optional[list[int]] = None,
    ) -> Observation:
        """View, create and edit files: str_replace needs old_str to match exactly once.

        Args:
            command: one of view, create, str_replace, insert, undo_edit.
            path: file or directory; relative to the workspace.
            file_text: content of the file for create.
            old_str: text to replace for str_replace; must occur exactly once.
            new_str: replacement for str_replace, or the text to insert.
            insert_line: insert new_str after this line (0 inserts at the top).
            view_range: [start, end] 1-based lines for view; end -1 means the last line.
        """
        if self.editor is None:
            self.editor = Editor()
        editor = self.editor
        try:
            args = (file_text, old_str, new_str, insert_line, view_range)
            if self.confinement is None:
                target = self.resolve(path)
                content = editor.apply(target, command, *args)
            else:
                target = self.confinement.shown(path)
                if self.shadow is None:
                    self.shadow = Shadow(self.confinement)
                content = self.shadow.edit(path, command == "view", lambda copy: editor.apply(copy, command, *args))
        except (EditError, OSError) as exc:
            return error(f"edit {command} {path}: {exc}", path=str(self.resolve(path)))
        return Observation(observation="edit", content=content, extras={"path": str(target), "command": command})
