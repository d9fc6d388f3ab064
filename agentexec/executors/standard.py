"""``ActionExecutor``: the standard actions, named and shaped as OpenHands' so its trajectories replay."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal, Optional

from agentexec.events import Observation, error
from agentexec.executors.base import BaseActionExecutor, action
from agentexec.executors.bash import BashSession, CommandResult, SessionBusy
from agentexec.executors.confine import Confinement, Shadow
from agentexec.executors.files import EditError, Editor, read_text, write_atomic

EditCommand = Literal["view", "create", "str_replace", "insert", "undo_edit"]


class ActionExecutor(BaseActionExecutor):
    """Shell, file, editor and control actions over one workspace and one bash session.

    Args:
        workspace: directory the actions work in; relative paths resolve against it.
        env: extra environment variables for the bash session.
        timeout: default hard timeout of a ``run`` action, in seconds.
        no_output_timeout: a ``run`` returns after this many seconds without output.
        max_output_chars: output kept in an observation; the rest is spilled to a file.
        output_dir: where spilled outputs and background jobs' logs go (default: a temporary directory;
            ``agentexec run`` sets ``<event log>.outputs``).
        confine_to_workspace: read, write and edit refuse paths that lead out of the workspace
            (``..``, absolute paths, symlinks); the ``sandbox`` runtime turns it on by default.
    """

    def __init__(
        self,
        workspace: str | Path = ".",
        env: Optional[dict[str, str]] = None,
        timeout: float = 120.0,
        no_output_timeout: Optional[float] = 30.0,
        max_output_chars: int = 30_000,
        output_dir: Optional[str] = None,
        confine_to_workspace: bool = False,
    ) -> None:
        super().__init__(workspace, env)
        self.timeout = timeout
        self.no_output_timeout = no_output_timeout
        self.max_output_chars = max_output_chars
        self.output_dir = Path(output_dir) if output_dir else None
        self.bash: Optional[BashSession] = None
        self.editor = Editor()
        self.confinement = Confinement(self.workspace) if confine_to_workspace else None
        self.shadow: Optional[Shadow] = None

    def setup(self) -> None:
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.bash = BashSession(
            self.workspace, self.env, max_output_chars=self.max_output_chars, output_dir=self.output_dir
        )
        self.bash.start()
        super().setup()

    def close(self) -> None:
        if self.bash is not None:
            self.bash.close()
        if self.shadow is not None:
            self.shadow.close()
        super().close()

    def interrupt(self) -> None:
        """Interrupt the running command (Ctrl-C), as the loop does on the user's Ctrl-C."""
        if self.bash is not None:
            self.bash.interrupt()

    @action
    def run(self, command: str, is_input: bool = False, timeout: Optional[float] = None) -> Observation:
        """Run a bash command in the persistent session (cwd, variables, functions and venvs carry over).

        A command still running at its timeout, or waiting for input, is left running: go on with
        is_input. Long output is cut in the middle; the full output is saved to a file.

        Args:
            command: the command line; with is_input, text for the running process (Enter is added), an empty
                string to wait for more output, or C-c, C-d, C-z.
            is_input: send command to the process that is still running instead of starting a new one.
            timeout: seconds before the action returns with the process left running.
        """
        if self.bash is None:
            raise RuntimeError("the executor is not set up; call setup() first")
        started = time.monotonic()
        hard = timeout if timeout is not None else self.timeout
        try:
            result = self.bash.run(
                command,
                timeout=hard,
                no_output_timeout=self.no_output_timeout,
                is_input=is_input,
                on_output=self.emit,
            )
        except SessionBusy as exc:
            return error(str(exc), running=True)
        content = result.output + self._run_status(result, hard) + "".join(f"\n[{note}]" for note in result.notes)
        return Observation(observation="run", content=content, extras=_run_extras(result, time.monotonic() - started))

    def _run_status(self, result: CommandResult, hard: float) -> str:
        """For a command left running, why it returned and how the agent goes on; else nothing."""
        if not result.running:
            return ""
        if result.timed_out == "no_output_timeout":
            what = f"no output for {self.no_output_timeout:g} s"
        elif result.timed_out == "waiting_for_input":
            what = "the command is waiting for input"
        else:
            what = f"still running after {hard:g} s"
        return (
            f"\n[{what} ({result.timed_out}); the process is left running: run with is_input=true and an "
            "empty command to wait for more output, text to answer it, or C-c to stop it]"
        )

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
            text = self.confinement.read_bytes(path).decode("utf-8", errors="replace")
        else:
            target = self.resolve(path)
            text = read_text(target)
        lines = text.splitlines(keepends=True)
        selected = lines[start:] if end == -1 else lines[start:end]
        return Observation(observation="read", content="".join(selected), extras={"path": str(target)})

    @action
    def write(self, path: str, content: str) -> Observation:
        """Write a whole file atomically (temporary file and rename); parents are created.

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
        try:
            if self.confinement is None:
                target = self.resolve(path)
                content = self._edit(target, command, file_text, old_str, new_str, insert_line, view_range)
            else:
                target = self.confinement.shown(path)
                content = self._confined_edit(path, command, file_text, old_str, new_str, insert_line, view_range)
        except (EditError, OSError) as exc:
            return error(f"edit {command} {path}: {exc}", path=str(self.resolve(path)))
        return Observation(observation="edit", content=content, extras={"path": str(target), "command": command})

    def _edit(
        self,
        target: Path,
        command: EditCommand,
        file_text: Optional[str],
        old_str: Optional[str],
        new_str: Optional[str],
        insert_line: Optional[int],
        view_range: Optional[list[int]],
    ) -> str:
        editor = self.editor
        if command == "view":
            return editor.view(target, view_range)
        if command == "create":
            return editor.create(target, file_text)
        if command == "str_replace":
            return editor.str_replace(target, old_str, new_str)
        if command == "insert":
            return editor.insert(target, insert_line, new_str)
        return editor.undo(target)

    def _confined_edit(self, path: str, command: EditCommand, *args: Any) -> str:
        """The editor on a private copy of the file (a directory is listed through its pinned descriptor)."""
        assert self.confinement is not None
        if self.shadow is None:
            self.shadow = Shadow(self.confinement)
        shadow = self.shadow
        try:
            if command == "view" and self.confinement.kind(path) == "dir":
                with self.confinement.directory(path) as pinned:
                    listing = self._edit(pinned, command, *args)
                return listing.replace(str(pinned), str(self.confinement.shown(path)))
            return shadow.unmask(shadow.run(path, lambda copy: self._edit(copy, command, *args)))
        except EditError as exc:
            raise EditError(shadow.unmask(str(exc))) from None

    @action
    def finish(self, message: str = "") -> Observation:
        """End the task, with an optional final message for the user.

        Args:
            message: what the agent wants to say as it finishes.
        """
        return Observation(observation="finish", content=message)

    @action
    def message(self, content: str, wait_for_response: bool = False) -> Observation:
        """Say something to the user.

        Args:
            content: the message.
            wait_for_response: whether the agent expects an answer before going on.
        """
        return Observation(observation="message", content=content, extras={"wait_for_response": wait_for_response})


def _run_extras(result: CommandResult, duration: float) -> dict[str, Any]:
    """A run observation's extras: always exit code, cwd and duration; the rest when it applies."""
    extras: dict[str, Any] = {
        "exit_code": -1 if result.exit_code is None else result.exit_code,
        "cwd": result.cwd,
        "duration": round(duration, 6),
    }
    if result.running:
        extras["running"] = True
        extras["timed_out"] = result.timed_out
    if result.output_path:
        extras["output_path"] = result.output_path
        extras["output_chars"] = result.total_chars
    if result.background_log:
        extras["background_log"] = result.background_log
    if result.notes:
        extras["notes"] = result.notes
    return extras
