"""A custom agent in one small file: it counts the words of every .txt file and writes a report.

It shows what a hand-written agent needs: ``reset`` to start each task afresh, ``step`` to return
the next action after looking at the last observation (``state.last_observation``), and a
``finish`` action at the end. Constructor arguments come from the ``[agent]`` table.
"""

from __future__ import annotations

from pathlib import Path

from agentexec.agents import Agent, State
from agentexec.events import Action


class MyAgent(Agent):
    """Lists the workspace's .txt files, reads each one, writes ``report`` and finishes.

    Args:
        report: name of the report file to write in the workspace.
    """

    def __init__(self, report: str = "report.md") -> None:
        self.report = report
        self.todo: list[str] = []
        self.counts: dict[str, int] = {}

    def reset(self, state: State) -> None:
        self.todo, self.counts = [], {}

    def step(self, state: State) -> Action:
        last = state.last_observation
        if last is None:
            return Action(action="run", args={"command": "ls -1 *.txt"}, thought="find the text files")
        if last.observation == "run":
            self.todo = last.content.split()
        elif last.observation == "read":
            self.counts[Path(last.extras["path"]).name] = len(last.content.split())
        elif last.observation == "write":
            return Action(action="finish", args={"message": f"wrote {self.report} for {len(self.counts)} files"})
        if self.todo:
            return Action(action="read", args={"path": self.todo.pop(0)})
        lines = ["# Word counts", ""] + [f"- {name}: {count} words" for name, count in sorted(self.counts.items())]
        return Action(action="write", args={"path": self.report, "content": "\n".join(lines) + "\n"})
