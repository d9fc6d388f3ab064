"""Recorded runs as reproducible runs: read, import, show, replay, verify and resume them.

    open_log(path)            any supported log, format detected from content (reader, importers)
    steps(run.entries())      each recorded action with its recorded observation
    replay(run, runtime, ...) re-execute the actions, streaming to sinks, optionally verifying
    Verifier(...)             normalise and compare observations, describe divergences as diffs

Nothing here imports typer or rich: the CLI (``agentexec replay``, ``show``, ``run --resume``)
sits on top, as it does on the loop.
"""

from agentexec.replay.reader import LogReader
from agentexec.replay.runner import ReplayResult, replay, resume_prelude
from agentexec.replay.source import RecordedRun, Step, open_log, steps
from agentexec.replay.verify import Verifier, compile_ignores

__all__ = [
    "LogReader",
    "RecordedRun",
    "ReplayResult",
    "Step",
    "Verifier",
    "compile_ignores",
    "open_log",
    "replay",
    "resume_prelude",
    "steps",
]
