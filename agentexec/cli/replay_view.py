"""The rich view of recorded runs: ``run``'s view plus provenance, timing and divergences.

``show`` feeds it a log's records; ``replay`` streams into it live. Both need what ``RichView``
does not know about: where a log came from (imported, replayed, resumed), when each action
started relative to the first, and the diff of an observation that diverged under ``--verify``.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from agentexec.cli.render import RichView, action_summary, count
from agentexec.loop import RunResult

#: Divergences shown with their full diff; later ones get one line each.
MAX_DIFFS = 3
INSTRUCTION_LINES = 6


class LogView(RichView):
    """Renders a header, events, divergence notes and the result of a recorded or replayed run."""

    def __init__(self, console: Optional[Console] = None) -> None:
        super().__init__(console)
        self.first_ts: Optional[float] = None
        self.diffs_shown = 0

    def header(self, header: dict[str, Any]) -> None:
        core = (header.get("config") or {}).get("core", {})
        task = header.get("task") or {}
        parts = [f"[bold]agentexec {escape(str(header.get('agentexec', '')))}[/]"]
        parts.append(f"task [bold]{escape(str(task.get('id', '')))}[/]")
        if core:
            parts.append(f"executor {escape(str(core.get('runtime_executor', '')))}")
            parts.append(f"runtime {escape(str(core.get('runtime', '')))}")
        self.console.print(" · ".join(parts))
        for key, label in (("imported", "imported from"), ("replayed_from", "replay of"), ("resumed_from", "resumes")):
            origin = header.get(key)
            if isinstance(origin, dict):
                what = f"{origin.get('format', '')} {origin.get('path', '')}".strip()
                self.console.print(Text(f"{label} {what}", style="magenta"))
        details = [f"{key} {header[key]}" for key in ("started", "workspace") if header.get(key)]
        if details:
            self.console.print(Text(" · ".join(details), style="dim"))
        instruction = str(task.get("instruction") or "")
        if instruction:
            lines = instruction.splitlines()
            if len(lines) > INSTRUCTION_LINES:
                lines = lines[:INSTRUCTION_LINES] + [f"… {len(lines) - INSTRUCTION_LINES} more lines"]
            self.console.print(Text("\n".join(lines), style="italic"))

    def record(self, record: dict[str, Any]) -> None:
        if "divergence" in record:
            self.divergence(record["divergence"])
        elif "action" in record:
            self.action(record)
        else:
            super().record(record)

    def action(self, record: dict[str, Any]) -> None:
        phase = f"{record['phase']} " if record.get("phase") else ""
        line = Text(f"▶ {record.get('seq', '?')} {phase}{record['action']} ", style="bold cyan")
        line.append(action_summary(record), style="bold")
        if isinstance(record.get("ts"), (int, float)):
            self.first_ts = record["ts"] if self.first_ts is None else self.first_ts
            line.append(f"  +{record['ts'] - self.first_ts:.2f} s", style="dim")
        if record.get("thought"):
            line.append(f"  # {record['thought']}", style="dim italic")
        self.console.print(line)

    def divergence(self, note: dict[str, Any]) -> None:
        title = f"≠ seq {note.get('seq')} {note.get('action', '')} diverged from the recording"
        if self.diffs_shown >= MAX_DIFFS:
            self.console.print(Text(title, style="bold yellow"))
            return
        self.diffs_shown += 1
        self.console.print(Text(title + ":", style="bold yellow"))
        for line in str(note.get("diff", "")).splitlines():
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            self.console.print(Text("  " + line, style=style))

    def finish(self, result: RunResult) -> None:
        verify = getattr(result, "verify", None)
        if verify is not None:
            style = "bold red" if verify["diverged"] else "bold green"
            self.console.print(
                Text(
                    f"verify: {verify['compared']} compared · {verify['matched']} matched · "
                    f"{verify['diverged']} diverged · {verify['not_recorded']} without a recorded observation",
                    style=style,
                )
            )
        super().finish(result)

    def recorded_result(self, result: Optional[dict[str, Any]]) -> None:
        """The result line of a recorded log, or a note that the run never finished."""
        if result is None:
            self.console.print(Text("no result line: the run was interrupted or killed", style="bold yellow"))
            return
        outcome, passed = result.get("outcome", "?"), bool(result.get("passed"))
        parts = [str(outcome), "passed" if passed else "failed"]
        steps = result.get("steps")
        parts.append(count(steps, "step") if isinstance(steps, int) else "? steps")
        if isinstance(result.get("errors"), int):  # logs written before errors were counted have none
            parts.append(count(result["errors"], "error"))
        text = " · ".join(parts)
        if isinstance(result.get("duration"), (int, float)):
            text += f" · {result['duration']:.2f} s"
        if result.get("message") and not passed:
            text += f" · {result['message']}"
        self.console.print(Text(text, style="bold green" if passed else "bold red"))
