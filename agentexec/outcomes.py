"""How a run ended, by name: the ``outcome`` of every result record.

An ``Outcome`` is a ``str`` subclass, so results stay plain JSON and ``outcome == "finished"``
keeps working for code that reads logs; ``str()`` and f-strings give the bare value on every
Python version (3.12 changed what ``format`` does for mixed-in enums).
"""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    """Why a run (or a replay) stopped."""

    FINISHED = "finished"  # the agent finished; whether it passed is the checks' verdict
    MAX_ITERATIONS = "max_iterations"  # the step limit was reached without finish
    TIMEOUT = "timeout"  # the task's time limit was reached
    STOPPED = "stopped"  # the agent gave up (``StopRun``)
    BUDGET = "budget"  # the LLM agent's token or cost budget was spent
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    ERROR = "error"  # an agent, runtime or executor failure ended it
    REPLAYED = "replayed"  # a replay re-executed every selected action
    DIVERGED = "diverged"  # a verified replay found observations that differ
    CANCELLED = "cancelled"  # a batch engine stopped the task before it ended

    def __str__(self) -> str:
        return self.value
