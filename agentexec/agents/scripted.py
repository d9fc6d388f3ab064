"""The ``scripted`` agent: plays the task file's ``actions`` in order, then finishes."""

from __future__ import annotations

from typing import Any, Optional

from agentexec.agents.base import Agent, State
from agentexec.events import Action, as_action


class ScriptedAgent(Agent):
    """Replays a fixed list of actions; the task's ``actions`` unless ``actions`` is given.

    Args:
        actions: actions to play instead of the task's (as dicts of the event shape).
    """

    def __init__(self, actions: Optional[list[dict[str, Any]]] = None) -> None:
        self.override = [as_action(a) for a in actions] if actions is not None else None
        self.script: list[Action] = []

    def reset(self, state: State) -> None:
        self.script = list(self.override if self.override is not None else state.task.actions)

    def step(self, state: State) -> Action:
        played = sum(1 for event in state.history if isinstance(event, Action))
        if played < len(self.script):
            return self.script[played]
        return Action(action="finish", args={"message": "scripted actions done"})
