"""Sinks that show a run: the rich terminal view and the JSON-lines writer for ``--json``."""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from agentexec.events import describe_action
from agentexec.loop import RunResult
from agentexec.streamed import StreamedText
from agentexec.task_files import describe_transfer

MAX_SHOWN_LINES = 40
#: How a command left running is described, by why its action returned (``timed_out``).
RUNNING = {
    "waiting_for_input": "waiting for input",
    "timeout": "still running at its timeout",
    "no_output_timeout": "still running, no output for a while",
}


def count(number: int, noun: str) -> str:
    """``1 step``, ``9 steps``, ``0 errors``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def shown_lines(text: str) -> str:
    """At most ``MAX_SHOWN_LINES`` lines: the first and last halves, with how many were left out."""
    lines = text.splitlines()
    if len(lines) > MAX_SHOWN_LINES:
        cut = len(lines) - MAX_SHOWN_LINES
        lines = lines[: MAX_SHOWN_LINES // 2] + [f"… {cut} lines not shown …"] + lines[-MAX_SHOWN_LINES // 2 :]
    return "\n".join(lines)


def action_summary(record: dict[str, Any]) -> str:
    """A one-line description of an action for humans."""
    return describe_action(record["action"], record.get("args", {}))


class RichView:
    """Prints each action as it starts, its output as it streams, and its observation's status."""

    def __init__(self, console: Optional[Console] = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.streams: dict[int, StreamedText] = {}
        self.at_line_start = True
        self.sessions = {"default"}  # bash sessions seen: run lines are labelled once there are two

    def header(self, header: dict[str, Any]) -> None:
        core = header.get("config", {}).get("core", {})
        task = header.get("task") or {}
        version, task_id = escape(str(header.get("agentexec", ""))), escape(str(task.get("id", "")))
        executor, runtime = escape(str(core.get("runtime_executor", ""))), escape(str(core.get("runtime", "")))
        self.console.print(
            f"[bold]agentexec {version}[/] · task [bold]{task_id}[/] · executor {executor} · runtime {runtime}"
        )
        if task.get("instruction"):
            self.console.print(Text(task["instruction"], style="italic"))

    def record(self, record: dict[str, Any]) -> None:
        if "output" in record:
            self._stream(record)
        elif "transfer" in record:
            note = record["transfer"]
            self.console.print(Text(describe_transfer(note), style="red" if note.get("error") else "dim"))
        elif "action" in record:
            phase = "check " if record.get("phase") == "check" else ""
            line = Text(f"▶ {record['seq']} {phase}{self._session_label(record)}{record['action']} ", style="bold cyan")
            line.append(action_summary(record), style="bold")
            if record.get("thought"):
                line.append(f"  # {record['thought']}", style="dim italic")
            self.console.print(line)
        else:
            self._observation(record)

    def _session_label(self, record: dict[str, Any]) -> str:
        """``[name] `` for a run (and its output below it) once more than one bash session exists."""
        if record["action"] not in ("run", "close_session"):
            return ""
        self.sessions.add(str((record.get("args") or {}).get("session", "default")))
        return f"[{(record.get('args') or {}).get('session', 'default')}] " if len(self.sessions) > 1 else ""

    def _stream(self, record: dict[str, Any]) -> None:
        text = record["output"]
        self.streams.setdefault(record.get("cause", -1), StreamedText()).feed(text)
        self.console.file.write(text)
        self.console.file.flush()
        self.at_line_start = text.endswith("\n")

    def _observation(self, record: dict[str, Any]) -> None:
        if not self.at_line_start:
            self.console.file.write("\n")
            self.at_line_start = True
        extras = record.get("extras", {})
        is_error = record["observation"] == "error"
        content = record.get("content", "")
        stream = self.streams.pop(record.get("cause", -1), None)
        unseen = stream.rest_of(content, extras) if stream is not None else content
        if unseen:
            self.console.print(Text(shown_lines(self.phrase(unseen)), style="red" if is_error else "dim"))
        self.console.print(self.status_line(record))

    def phrase(self, text: str) -> str:
        """Content as this view's reader should read it (the shell rewords notes meant for an agent)."""
        return text

    def status_line(self, record: dict[str, Any]) -> Text:
        """✓ or ✗ with the exit code, duration and notes; a command left running is neither."""
        extras = record.get("extras", {})
        is_error = record["observation"] == "error"
        running = bool(extras.get("running"))
        status = []
        if running:
            status.append(RUNNING.get(str(extras.get("timed_out")), "still running"))
        elif "exit_code" in extras:
            status.append(f"exit {extras['exit_code']}")
        if "duration" in extras:
            status.append(f"{extras['duration']:.3f} s")
        for note in extras.get("notes", []):
            status.append(self.phrase(str(note)))
        if running and not is_error:
            mark, style = "…", "yellow"
        elif not is_error and extras.get("exit_code", 0) == 0:
            mark, style = "✓", "green"
        else:
            mark, style = "✗", "red"
        return Text(f"{mark} {record['observation']} " + " · ".join(status), style=style)

    def finish(self, result: RunResult) -> None:
        """One summary line: outcome, verdict, steps, duration, checks, why it failed, the log's path."""
        style = "bold green" if result.passed else ("bold yellow" if result.outcome == "interrupted" else "bold red")
        verdict = "passed" if result.passed else "failed"
        parts = [result.outcome, verdict, count(result.steps, "step"), count(result.errors, "error")]
        parts.append(f"{result.duration:.2f} s")
        if result.checks:
            parts.append(f"checks {sum(c['passed'] for c in result.checks)}/{len(result.checks)}")
        if result.message and not result.passed:
            parts.append(result.message)
        if result.log_path:
            parts.append(f"event log: {result.log_path}")
        self.console.print(Text(" · ".join(parts), style=style))
