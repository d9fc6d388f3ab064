"""A recorded run as the steps a page shows: each action with its timing, its streamed output, its
observation (folded, marked when it failed or was interrupted), the change it made as a diff, the
images it produced, and the divergence ``--verify`` found in it.

Works on any ``RecordedRun`` (our logs and every imported trajectory), so a page never needs to
know which tool wrote the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from agentexec.events import describe_action
from agentexec.pages.media import Media, MediaFinder
from agentexec.pages.text import DiffLine, Folded, classify_diff, cut, edit_diff, fold, looks_like_diff

#: Actions whose arguments the step's title already says; others show their arguments as JSON.
SUMMARISED = ("run", "read", "finish", "message")
#: Edit arguments shown as a diff, not repeated in the arguments' JSON.
DIFFED_ARGS = ("file_text", "old_str", "new_str", "content")


@dataclass
class ObservationView:
    kind: str
    content: Folded
    content_diff: list[DiffLine]
    status: list[str]
    is_error: bool
    failed: bool
    interrupted: bool
    media: list[Media]


@dataclass
class StepView:
    """One action and everything recorded about it, ready for the template."""

    seq: int
    name: str
    summary: str
    phase: str = ""
    thought: str = ""
    args_json: str = ""
    offset: Optional[float] = None
    duration: Optional[float] = None
    bar: float = 0.0
    diff: list[DiffLine] = field(default_factory=list)
    stream: Optional[Folded] = None
    chunks: int = 0
    observation: Optional[ObservationView] = None
    divergence: list[DiffLine] = field(default_factory=list)
    started_ts: Optional[float] = None

    @property
    def status(self) -> str:
        """``ok``, ``error`` (an error observation), ``failed`` (a non-zero exit), ``interrupted`` or
        ``pending`` (no observation: the run stopped during it); the page's filters use it."""
        obs = self.observation
        if obs is None:
            return "pending"
        if obs.interrupted:
            return "interrupted"
        if obs.is_error:
            return "error"
        return "failed" if obs.failed else "ok"


class Timeline:
    """Builds the steps from a run's entries, one entry at a time."""

    def __init__(self, media: MediaFinder, log_name: str) -> None:
        self.media = media
        self.log_name = log_name
        self.steps: list[StepView] = []
        self.by_seq: dict[int, StepView] = {}
        self.first_ts: Optional[float] = None
        self.streams: dict[int, list[str]] = {}
        self.errors = self.divergences = self.interrupts = 0

    def add(self, record: dict[str, Any]) -> None:
        if "divergence" in record:
            self._divergence(record["divergence"])
        elif "output" in record:
            self.streams.setdefault(record.get("cause", -1), []).append(str(record["output"]))
        elif "action" in record:
            self._action(record)
        elif "observation" in record:
            self._observation(record)

    def finish(self) -> list[StepView]:
        """The steps with streamed output attached and duration bars scaled to the longest step."""
        for cause, chunks in self.streams.items():
            step = self.by_seq.get(cause)
            if step is not None:
                step.chunks = len(chunks)
                step.stream = fold("".join(chunks), f"{self.log_name} (output events of seq {cause})")
        longest = max((s.duration for s in self.steps if s.duration), default=0.0)
        for step in self.steps:
            if step.duration and longest > 0:
                step.bar = round(100 * step.duration / longest, 2)
        return self.steps

    def _action(self, record: dict[str, Any]) -> None:
        name, args = str(record["action"]), record.get("args") or {}
        step = StepView(
            seq=int(record.get("seq", len(self.steps) + 1)),
            name=name,
            summary=describe_action(name, args, json_limit=300),
            phase=str(record.get("phase") or ""),
            thought=str(record.get("thought") or ""),
        )
        ts = record.get("ts")
        if isinstance(ts, (int, float)):
            self.first_ts = ts if self.first_ts is None else self.first_ts
            step.offset, step.started_ts = ts - self.first_ts, ts
        diff = edit_diff(name, args)
        if diff:
            step.diff = classify_diff(cut(diff, f"{self.log_name} (seq {step.seq})")[0])
        if name not in SUMMARISED:
            shown = {k: ("(in the diff)" if diff and k in DIFFED_ARGS else v) for k, v in args.items()}
            step.args_json = json.dumps(shown, ensure_ascii=False, indent=1)[:4_000]
        self.steps.append(step)
        self.by_seq[step.seq] = step

    def _observation(self, record: dict[str, Any]) -> None:
        step = self.by_seq.get(record.get("cause", -1)) if record.get("cause") is not None else None
        if step is None and self.steps and self.steps[-1].observation is None:
            step = self.steps[-1]
        if step is None:
            return
        extras = record.get("extras") or {}
        content = str(record.get("content") or "")
        kind = str(record["observation"])
        where = (
            f"{extras['output_path']}" if extras.get("output_path") else f"{self.log_name} (seq {record.get('seq')})"
        )
        notes = [str(note) for note in extras.get("notes", []) if note]
        exit_code = extras.get("exit_code")
        interrupted = bool(extras.get("interrupted")) or exit_code == 130 or any("interrupt" in n for n in notes)
        obs = ObservationView(
            kind=kind,
            content=fold(content, where),
            content_diff=classify_diff(cut_for_diff(content)) if looks_like_diff(content) else [],
            status=_status(extras, notes),
            is_error=kind == "error",
            failed=isinstance(exit_code, int) and exit_code not in (0, -1) and not extras.get("running"),
            interrupted=interrupted,
            media=self.media.of_extras(extras),
        )
        step.observation = obs
        ts = record.get("ts")
        if isinstance(ts, (int, float)) and step.started_ts is not None:
            step.duration = max(0.0, ts - step.started_ts)
        elif isinstance(extras.get("duration"), (int, float)):
            step.duration = float(extras["duration"])
        self.errors += obs.is_error or obs.failed
        self.interrupts += interrupted

    def _divergence(self, note: dict[str, Any]) -> None:
        replayed = note.get("replayed")
        step = self.by_seq.get(replayed) if isinstance(replayed, int) else None
        step = step or (self.steps[-1] if self.steps else None)
        if step is None:
            return
        step.divergence = classify_diff(cut_for_diff(str(note.get("diff") or "")))
        self.divergences += 1


def cut_for_diff(text: str) -> str:
    """A diff within the page's limit for one text."""
    return cut(text, "the event log")[0]


def _status(extras: dict[str, Any], notes: list[str]) -> list[str]:
    parts = []
    if "exit_code" in extras:
        parts.append(f"exit {extras['exit_code']}")
    if extras.get("running"):
        parts.append(f"still running ({extras.get('timed_out') or 'waiting'})")
    if extras.get("cwd"):
        parts.append(f"cwd {extras['cwd']}")
    if isinstance(extras.get("duration"), (int, float)):
        parts.append(f"{extras['duration']:.3f} s")
    return parts + notes
