"""Import SWE-agent trajectories (``.traj``): an object whose ``trajectory`` lists the agent's steps.

Each step holds the command text the model issued (``action``) and what the environment answered
(``observation``). SWE-agent runs every command in one shell, as we do, so each becomes a ``run``
action as written. Many are not shell programs but SWE-agent's tool bundles (``open``, ``edit``,
``find_file``, ``submit``, ...), installed only inside SWE-agent's environment: they are kept as
their text, so a replay shows exactly what the agent asked for, and the import note names them
because a replay elsewhere will find no such command. ``info.submission`` (the patch the run
produced) becomes ``finish``. SWE-agent records no exit codes, so ``--verify`` compares the
outcome and the text of each observation only.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from agentexec.events import Action, Observation
from agentexec.replay.imported import ImportedRun, RecordBuilder, imported_header
from agentexec.replay.importers import Importer

FORMAT = "swe-agent"
#: Commands of SWE-agent's tool bundles (defaults, windowed editor, search, registry, submit, review).
TOOL_BUNDLE = frozenset({
    "open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "append", "find_file",
    "search_dir", "search_file", "submit", "str_replace_editor", "filemap", "exit_forfeit", "skip",
    "_state", "_state_anthropic", "view_image", "forfeit",
})  # fmt: skip


def sniff(data: Any) -> bool:
    """A ``trajectory`` list of steps, each with both the ``action`` text and its ``observation``.

    An empty ``trajectory`` (the agent stopped before acting) is SWE-agent's when the object also
    has SWE-agent's ``info`` or ``history``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("trajectory"), list):
        return False
    first = next((step for step in data["trajectory"] if isinstance(step, dict)), None)
    if first is None:
        return not data["trajectory"] and ("info" in data or "history" in data)
    return isinstance(first.get("action"), str) and "observation" in first


def load(path: Path, data: Any) -> ImportedRun:
    """Convert the steps and the submission to our records; ``notes`` name the tool-bundle commands."""
    builder = RecordBuilder()
    notes: list[str] = []
    tools: Counter[str] = Counter()
    workspace: Optional[str] = None
    for index, step in enumerate(data["trajectory"]):
        if not isinstance(step, dict) or not isinstance(step.get("action"), str) or not step["action"].strip():
            notes.append(f"step {index} has no action text; skipped")
            continue
        command = step["action"].strip("\n")
        workspace = workspace or _working_dir(step.get("state"))
        name = command.split(maxsplit=1)[0]
        if name in TOOL_BUNDLE:
            tools[name] += 1
        thought = str(step.get("thought") or step.get("response") or "")
        seq = builder.add(Action(action="run", args={"command": command}, thought=thought))
        observation = step.get("observation")
        if isinstance(observation, str):
            builder.add(Observation(observation="run", content=observation, cause=seq))
    if tools:
        named = ", ".join(f"{name} ×{count}" for name, count in sorted(tools.items()))
        notes.append(
            f"SWE-agent tool-bundle commands ({named}) are kept as their text: they exist only inside "
            "SWE-agent's environment, so a replay elsewhere reports them as not found"
        )
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    _add_finish(builder, info, notes)
    task = {"id": path.name.split(".")[0] or "trajectory", "instruction": _instruction(data.get("history"))}
    header = imported_header(path, FORMAT, task, workspace, None)
    return ImportedRun(path, FORMAT, header, builder.records, notes)


def _add_finish(builder: RecordBuilder, info: dict[str, Any], notes: list[str]) -> None:
    """The submitted patch as ``finish``; a run that ended otherwise says how, in a note."""
    submission = info.get("submission")
    status = info.get("exit_status")
    if status not in (None, "submitted"):
        notes.append(f"SWE-agent's run ended with exit status {status!r}")
    if not isinstance(submission, str) or not submission:
        notes.append("the trajectory has no submission; no finish action")
        return
    seq = builder.add(Action(action="finish", args={"message": submission}))
    builder.add(Observation(observation="finish", content=submission, cause=seq))


def _working_dir(state: Any) -> Optional[str]:
    """The shell's directory SWE-agent recorded with a step (a dict, or older: its JSON text)."""
    if isinstance(state, str):
        try:
            state = json.loads(state)
        except json.JSONDecodeError:
            return None
    directory = state.get("working_dir") if isinstance(state, dict) else None
    return directory if isinstance(directory, str) and directory.startswith("/") else None


def _instruction(history: Any) -> str:
    """The first user turn of SWE-agent's chat history: the task as the model saw it."""
    for message in history if isinstance(history, list) else []:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return "" if content is None else str(content)
    return ""


IMPORTER = Importer(
    name=FORMAT,
    description="a SWE-agent trajectory (an object with a 'trajectory' list of action/observation steps)",
    sniff=sniff,
    load=load,
    compares="output",
)
