"""Import mini-swe-agent trajectories: chat messages, one fenced bash command per assistant turn.

The user turn after a command holds ``<returncode>N</returncode>`` and ``<output>...</output>``:
that is the recorded observation. mini-swe-agent runs every command in a fresh subshell (a ``cd``
or ``export`` does not carry over), so each command is replayed inside ``( ... )`` in our
persistent session to behave the same. The command that echoes ``COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``
is how the agent submits: it becomes ``finish`` with the submitted text as its message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from agentexec.events import Action, Observation
from agentexec.replay.imported import ImportedRun, RecordBuilder, imported_header
from agentexec.replay.importers import Importer

FORMAT = "mini-swe-agent"
SUBMIT_MARKERS = ("COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "MINI_SWE_AGENT_FINAL_OUTPUT")
_BLOCK = re.compile(r"```(?:bash|sh|mswea_bash_command)?[ \t]*\n(.*?)\n```", re.DOTALL)
_RESULT = re.compile(r"^\s*<returncode>(-?\d+)</returncode>\s*<output>\n?(.*)</output>\s*$", re.DOTALL)


def subshell(command: str) -> str:
    """The command as mini-swe-agent ran it: in a subshell of its own."""
    return f"( {command}\n)"


def sniff(data: Any) -> bool:
    """Chat messages (``role`` keys), bare or in an object's ``messages`` (with ``info`` beside them)."""
    if isinstance(data, dict):
        return isinstance(data.get("messages"), list)
    first = next((item for item in data if isinstance(item, dict)), None) if isinstance(data, list) else None
    return first is not None and "role" in first


def load(path: Path, data: Any) -> ImportedRun:
    if isinstance(data, dict):
        return import_trajectory(path, data["messages"], data.get("info") or {})
    return import_trajectory(path, data, {})


def import_trajectory(path: Path, messages: list[Any], info: dict[str, Any]) -> ImportedRun:
    """Convert chat messages to our records; turns that ran nothing are named in ``notes``."""
    builder = RecordBuilder()
    notes: list[str] = []
    instruction: Optional[str] = None
    turns = [(m.get("role"), _text(m.get("content"))) for m in messages if isinstance(m, dict)]
    for index, (role, text) in enumerate(turns):
        if role == "user" and instruction is None:
            instruction = text
        if role != "assistant":
            continue
        reply = turns[index + 1][1] if index + 1 < len(turns) and turns[index + 1][0] == "user" else None
        blocks = _BLOCK.findall(text)
        if len(blocks) != 1:
            notes.append(f"message {index}: {len(blocks)} bash blocks; mini-swe-agent rejected the turn, skipped")
            continue
        command = blocks[0]
        thought = text[: text.find("```")].strip()
        if any(f"echo {marker}" in command for marker in SUBMIT_MARKERS):
            message = reply or ""
            seq = builder.add(Action(action="finish", args={"message": message}, thought=thought))
            if reply is not None:
                builder.add(Observation(observation="finish", content=message, cause=seq))
            continue
        seq = builder.add(Action(action="run", args={"command": subshell(command)}, thought=thought))
        recorded = _observation(reply)
        if recorded is not None:
            builder.add(recorded.model_copy(update={"cause": seq}))
        elif reply is not None:
            notes.append(f"message {index + 1}: the command's reply has no <returncode>/<output>; not compared")
    environment = (info.get("config") or {}).get("environment") or {}
    workspace = environment.get("cwd") if isinstance(environment, dict) else None
    task = {"id": path.name.split(".")[0] or "trajectory", "instruction": instruction or ""}
    header = imported_header(path, FORMAT, task, workspace, None)
    return ImportedRun(path, FORMAT, header, builder.records, notes)


def _observation(reply: Optional[str]) -> Optional[Observation]:
    match = _RESULT.match(reply or "")
    if match is None:
        return None
    return Observation(observation="run", content=match.group(2), extras={"exit_code": int(match.group(1))})


def _text(content: Any) -> str:
    """A message's text; newer versions send a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


IMPORTER = Importer(
    name=FORMAT,
    description="a mini-swe-agent trajectory (a JSON list of chat messages)",
    sniff=sniff,
    load=load,
    compares="portable",
)
