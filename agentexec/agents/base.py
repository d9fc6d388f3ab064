"""The ``Agent`` interface: given the state of the run, decide the next action."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Optional

from agentexec.events import Action, Observation
from agentexec.outcomes import Outcome
from agentexec.tasks import Task


@dataclass
class State:
    """What an agent sees: the task, the tools it has, and everything that happened so far."""

    task: Task
    tools: list[dict[str, Any]] = field(default_factory=list)
    history: list[Action | Observation] = field(default_factory=list)
    iteration: int = 0

    @property
    def last_observation(self) -> Optional[Observation]:
        for event in reversed(self.history):
            if isinstance(event, Observation):
                return event
        return None


class StopRun(Exception):
    """Raised from ``step`` to end the run without finishing: the task fails with ``outcome``.

    For an agent that cannot go on (its token or cost budget is spent), as opposed to one that
    believes it is done and returns ``finish``.
    """

    def __init__(self, reason: str, outcome: str = Outcome.STOPPED) -> None:
        super().__init__(reason)
        self.outcome = outcome


class Agent(ABC):
    """Decides actions. Subclass it, implement ``step``, and name it in ``[core] agent``."""

    def reset(self, state: State) -> None:  # noqa: B027 - optional hook, not abstract
        """Called once before the first step of a task; override to prepare per-task state."""

    def step_usage(self) -> Optional[dict[str, Any]]:
        """Token usage (and cost) of the last ``step``, recorded as the action's ``usage`` key; None if none."""
        return None

    @abstractmethod
    def step(self, state: State) -> Action:
        """The next action; return ``Action(action="finish")`` when done."""
