"""``--verify``: is each replayed observation the one the log recorded?

Two runs of the same actions differ in ways nobody cares about: timestamps, durations, pids,
temporary paths and the workspace path. Both observations are normalised first (each of those
becomes a placeholder such as ``<workspace>``; ``--ignore`` patterns become ``<ignored>``), then
compared. For imported trajectories only what is comparable across tools is compared: for a
``run`` its exit code and output, for file views and messages their text, for everything else
whether it succeeded. A divergence is described as a unified diff of the two observations.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import UsageError
from agentexec.eventlog import divergence_record
from agentexec.events import Action, Observation
from agentexec.executors.extras import OUTPUT_FILE_PATH, OUTPUT_FILE_PLACEHOLDER
from agentexec.replay.importers import comparison
from agentexec.replay.paths import path_pattern
from agentexec.replay.reader import NATIVE
from agentexec.replay.source import Step

#: Extras that measure the run, or name files the run chose, rather than describe its result.
VOLATILE_EXTRAS = frozenset({"duration", "pid", "output_path", "background_log"})
MAX_DIFF_LINES = 60
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
#: What differs between two honest runs, and the placeholder it becomes (after the workspace);
#: the third item is a substring the text must contain for the rule to apply (None: a digit).
VOLATILE_TEXT: list[tuple[re.Pattern[str], str, Optional[str]]] = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<timestamp>", None),
    (re.compile(rf"\b{_MONTH}\s+\d{{1,2}}\s+(?:\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?|\d{{4}})\b"), "<date>", None),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<time>", None),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds)\b"), "<duration>", None),
    (re.compile(r"\b(pid|PID)(\s*[=:]?\s*)\d+"), r"\1\2<pid>", None),
    (re.compile(r"^\[\d+\]\s+\d+$", re.MULTILINE), "[<job>] <pid>", None),
    # Where the bash session put a long output or a background job's output: a file of its choosing.
    (
        re.compile(r"(characters cut; (?:full output|the first \d+ characters are) in )\S+"),
        r"\1<file>",
        "characters cut",
    ),
    (re.compile(r"(goes to )\S+(, not to later observations)"), r"\1<file>\2", "not to later observations"),
]
_DIGIT = re.compile(r"\d")
#: A name that ``tempfile`` (``tmpXXXXXXXX``, ``<prefix>XXXXXXXX`` after a ``-``, ``_`` or ``.``) or
#: ``mktemp`` (``tmp.XXXXXXXXXX``) made up; a file may add a suffix. A chosen name such as
#: ``/tmp/alpha`` is not one, so ``/tmp/alpha/data`` and ``/tmp/beta/data`` still differ.
_GENERATED = r"(?:(?:[\w.\-]*?[-_.]|tmp)[a-z0-9_]{8}|tmp\.[A-Za-z0-9]{10})(?:\.\w+)?(?![\w\-~])"


def temporary_name(temp: str) -> re.Pattern[str]:
    """A generated name directly in the temporary directory, as a whole path component.

    The left boundary keeps ``/var/tmp/x`` or ``/home/u/tmp/x`` from matching ``/tmp``.
    """
    return re.compile(rf"(?<![\w.\-~/]){re.escape(temp.rstrip('/'))}/{_GENERATED}")


#: Our bracketed notes after a command's output (left running, background jobs): other tools word
#: them differently, so comparisons with imports drop trailing bracketed lines on both sides.
_TRAILING_NOTES = re.compile(r"(?:\n?\[[^\n]*\][ \t]*)+$")
#: For imported runs: which observations' text can be compared, by action.
COMPARABLE_TEXT = {"run", "read", "message", "finish"}


def _same(recorded: Observation, replayed: Observation) -> bool:
    """Identical where a view looks, so their normalised views are identical too."""
    if recorded.observation != replayed.observation or recorded.content != replayed.content:
        return False
    keep = recorded.extras.keys() | replayed.extras.keys()
    return all(recorded.extras.get(k) == replayed.extras.get(k) for k in keep if k not in VOLATILE_EXTRAS)


def compile_ignores(patterns: list[str]) -> list[re.Pattern[str]]:
    """``--ignore`` regexes, compiled up front so a typo is a usage error before anything runs."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.MULTILINE))
        except re.error as exc:
            raise UsageError(f"--ignore {pattern!r} is not a valid regular expression: {exc}") from None
    return compiled


@dataclass
class Divergence:
    """A replayed observation that differs from the recorded one."""

    seq: int
    replayed: Optional[int]
    action: str
    diff: str

    def to_record(self) -> dict[str, Any]:
        return divergence_record(self.seq, self.replayed, self.action, self.diff)


class Verifier:
    """Compares observations and counts the outcome; ``summary()`` is what the result reports."""

    def __init__(
        self,
        workspaces: list[Optional[str]],
        ignore: list[re.Pattern[str]],
        fmt: str = NATIVE,
    ) -> None:
        paths = {str(Path(p)) for p in workspaces if p and str(Path(p)) != "/"}
        paths |= {str(Path(p).resolve()) for p in paths}
        # The longest first, so a workspace inside another is replaced whole.
        # Each rule: pattern, replacement, and a substring the text must hold for the rule to apply
        # (None: "holds a digit"), so the common short observation costs a few ``in`` tests.
        self.rules: list[tuple[re.Pattern[str], str, Optional[str]]] = [
            # Images and screenshots first, whole: each run writes them to a directory of its own.
            (OUTPUT_FILE_PATH, OUTPUT_FILE_PLACEHOLDER, kind)
            for kind in ("ipython-", "browse-")
        ]
        self.rules += [(path_pattern(p), "<workspace>", p) for p in sorted(paths, key=len, reverse=True)]
        for temp in sorted({tempfile.gettempdir(), "/tmp"}, key=len, reverse=True):
            self.rules.append((temporary_name(temp), "<tmp>", temp + "/"))
        self.rules += VOLATILE_TEXT
        self.rules += [(pattern, "<ignored>", "") for pattern in ignore]
        self.compares = comparison(fmt)  # what the format records: see importers.Comparison
        self.native = self.compares == "full"
        self.compared = self.matched = self.unrecorded = 0
        self.divergences: list[int] = []

    def check(self, step: Step, replayed: Observation) -> Optional[Divergence]:
        """The divergence of ``replayed`` from the step's recorded observation, if any."""
        if step.recorded is None:
            self.unrecorded += 1
            return None
        self.compared += 1
        if _same(step.recorded, replayed):
            self.matched += 1  # the common case, without the cost of normalising
            return None
        expected = self.view(step.recorded, step.action)
        actual = self.view(replayed, step.action)
        if expected == actual:
            self.matched += 1
            return None
        self.divergences.append(step.seq)
        diff = difflib.unified_diff(
            expected,
            actual,
            fromfile=f"recorded (seq {step.seq})",
            tofile=f"replayed (seq {replayed.cause})",
            lineterm="",
        )
        lines = list(diff)
        if len(lines) > MAX_DIFF_LINES:
            lines = lines[:MAX_DIFF_LINES] + [f"… {len(lines) - MAX_DIFF_LINES} more diff lines"]
        return Divergence(step.seq, replayed.cause, step.action.action, "\n".join(lines))

    def view(self, observation: Observation, action: Action) -> list[str]:
        """The comparable part of an observation, normalised, as lines for a diff."""
        kind = observation.observation
        content = self.normalise(observation.content)
        if self.native:
            extras = {k: v for k, v in observation.extras.items() if k not in VOLATILE_EXTRAS}
            shown = [f"observation: {kind}"]
            shown += [
                f"{key}: {json.dumps(self._deep(value), sort_keys=True)}" for key, value in sorted(extras.items())
            ]
            return [*shown, "content:", *content.split("\n")]
        shown = ["outcome: error" if observation.is_error else "outcome: ok"]
        if observation.is_error:
            return shown
        if action.action == "run":
            if self.compares != "output":
                shown.append(f"exit_code: {observation.extras.get('exit_code')}")
            content = _TRAILING_NOTES.sub("", content).rstrip()
        elif action.action == "edit" and action.args.get("command") != "view":
            return shown  # an edit's report differs between tools; a view lists the same files
        elif action.action not in COMPARABLE_TEXT | {"edit"}:
            return shown
        return [*shown, "content:", *content.split("\n")]

    def normalise(self, text: str) -> str:
        text = text.replace("\r\n", "\n").rstrip()
        has_digit = _DIGIT.search(text) is not None
        for pattern, replacement, needle in self.rules:
            if (needle is None and has_digit) or (needle is not None and needle in text):
                text = pattern.sub(replacement, text)
        return text

    def _deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.normalise(value)
        if isinstance(value, dict):
            return {key: self._deep(item) for key, item in value.items() if key not in VOLATILE_EXTRAS}
        if isinstance(value, list):
            return [self._deep(item) for item in value]
        return value

    @property
    def diverged(self) -> bool:
        return bool(self.divergences)

    def summary(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "matched": self.matched,
            "diverged": len(self.divergences),
            "not_recorded": self.unrecorded,
            "divergent_seqs": self.divergences[:100],
        }
