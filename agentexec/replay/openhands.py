"""Import OpenHands trajectories: a JSON list of serialised events (``event_to_dict``).

OpenHands records more than what its runtime executed: environment events (agent state changes),
user turns, ``null`` observations, and agent bookkeeping such as ``think``. Replay keeps what its
runtime executed plus the agent's ``message`` and ``finish``, mapped onto our standard actions,
and names everything it drops. Runtime actions without an agentexec equivalent (``browse``,
``run_ipython``, ...) are kept under their own name, so an executor that handles them replays them
and any other reports them as unknown.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import EventFormatError
from agentexec.events import Action, Observation
from agentexec.replay.imported import ImportedRun, RecordBuilder, imported_header
from agentexec.replay.importers import Importer

FORMAT = "openhands"
#: Where OpenHands mounts the workspace in its sandbox; replay maps it onto the new workspace.
WORKSPACE = "/workspace"
#: Agent actions that never reach OpenHands' runtime and have no meaning for a replay.
NON_RUNTIME = {
    "system", "start", "think", "reject", "null", "pause", "resume", "stop", "change_agent_state",
    "recall", "condensation", "condensation_request", "task_tracking", "loop_recovery", "delegate",
}  # fmt: skip
#: Keys of OpenHands' action args that are bookkeeping, not arguments.
BOOKKEEPING = {"thought", "impl_source", "confirmation_state", "hidden", "security_risk", "blocking", "is_static"}
EDIT_KEYS = ("command", "path", "file_text", "old_str", "new_str", "insert_line", "view_range")


WRAPPER_KEYS = ("trajectory", "history")


def _events(data: Any) -> Optional[list[Any]]:
    """The event list of a document: the list itself, or the one a wrapper object holds."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in WRAPPER_KEYS:
            if isinstance(data.get(key), list):
                return data[key]
    return None


def sniff(data: Any) -> bool:
    """An OpenHands event is an action *or* an observation, never both in one object (SWE-agent's steps are)."""
    events = _events(data)
    first = next((item for item in events or [] if isinstance(item, dict)), None)
    return first is not None and ("action" in first) != ("observation" in first)


def load(path: Path, data: Any) -> ImportedRun:
    return import_trajectory(path, _events(data) or [])


def import_trajectory(path: Path, events: list[Any]) -> ImportedRun:
    """Convert OpenHands events to our records; ``notes`` say what was dropped or is unknown."""
    builder = RecordBuilder()
    dropped: Counter[str] = Counter()
    notes: list[str] = []
    kept: dict[Any, tuple[int, str]] = {}  # OpenHands event id of a kept action -> our seq and action
    instruction: Optional[str] = None
    started = None
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            notes.append(f"event {index} is not an object; skipped")
            continue
        started = started or event.get("timestamp")
        ts = _timestamp(event.get("timestamp"))
        where = f"{path.name} event {event.get('id', index)}"
        if event.get("source") == "environment":
            dropped["environment events"] += 1
        elif "action" in event:
            name = event["action"]
            if event.get("source") == "user":
                if name == "message" and instruction is None:
                    instruction = str(event.get("args", {}).get("content", event.get("message", "")))
                else:
                    dropped[f"user {name} events"] += 1
            elif name in NON_RUNTIME:
                dropped[f"'{name}' actions"] += 1
            else:
                action = convert_action(event, where, notes)
                seq = builder.add(action, ts)
                kept[event.get("id", index)] = (seq, action.action)
        elif "observation" in event:
            cause = kept.pop(event.get("cause"), None)
            if cause is None or event["observation"] in ("null", "agent_state_changed"):
                dropped[f"'{event['observation']}' observations"] += 1
            else:
                builder.add(convert_observation(event, cause[1]).model_copy(update={"cause": cause[0]}), ts)
        else:
            notes.append(f"{where} is neither an action nor an observation; skipped")
    if dropped:
        notes.insert(0, "dropped " + ", ".join(f"{count} {what}" for what, count in dropped.items()))
    task = {"id": _task_id(path), "instruction": instruction or ""}
    return ImportedRun(path, FORMAT, imported_header(path, FORMAT, task, WORKSPACE, started), builder.records, notes)


def convert_action(event: dict[str, Any], where: str, notes: list[str]) -> Action:
    """One OpenHands action as ours; an unknown one keeps its name and arguments, with a note."""
    name = event["action"]
    args = dict(event.get("args") or {})
    thought = str(args.get("thought") or "")
    if name == "run":
        mapped: dict[str, Any] = {"command": args.get("command", "")}
        if args.get("is_input"):
            mapped["is_input"] = True
        return Action(action="run", args=mapped, thought=thought)
    if name in ("read", "edit") and ("translated_ipython_code" in args or args.get("impl_source") == "oh_aci"):
        return Action(action="edit", args=_editor_args(args, where), thought=thought)
    if name == "read":
        mapped = {"path": args.get("path", "")}
        mapped.update({key: args[key] for key in ("start", "end") if args.get(key) not in (None, 0, -1)})
        return Action(action="read", args=mapped, thought=thought)
    if name == "edit" and args.get("command"):
        return Action(action="edit", args=_editor_args(args, where), thought=thought)
    if name == "write":
        return Action(action="write", args={"path": args.get("path", ""), "content": args.get("content", "")})
    if name == "finish":
        message = _finish_message(event, args)
        return Action(action="finish", args={"message": message}, thought="" if thought == message else thought)
    if name == "message":
        mapped = {"content": str(args.get("content", event.get("message", "")))}
        if args.get("wait_for_response"):
            mapped["wait_for_response"] = True
        return Action(action="message", args=mapped, thought=thought)
    kept = {key: value for key, value in args.items() if key not in BOOKKEEPING}
    form = "an LLM-based edit (no editor command)" if name == "edit" else f"action '{name}'"
    notes.append(f"{where}: OpenHands {form} has no agentexec equivalent; kept as is, so replay reports it")
    return Action(action=name, args=kept, thought=thought)


def _editor_args(args: dict[str, Any], where: str) -> dict[str, Any]:
    """The str_replace editor's arguments, decoding the legacy ``translated_ipython_code`` form."""
    source = dict(args)
    code = args.get("translated_ipython_code")
    if code:
        source.update(decode_file_editor_call(code, where))
    mapped = {key: source[key] for key in EDIT_KEYS if source.get(key) is not None}
    mapped.setdefault("command", "view")
    if mapped["command"] == "view" and "view_range" not in mapped and args.get("view_range"):
        mapped["view_range"] = args["view_range"]
    return mapped


def decode_file_editor_call(code: str, where: str) -> dict[str, Any]:
    """``print(file_editor(**{...}))`` → the dict, read with ``ast.literal_eval`` (never executed)."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "file_editor":
                found: dict[str, Any] = {}
                for keyword in node.keywords:
                    value = ast.literal_eval(keyword.value)
                    if keyword.arg is None and isinstance(value, dict):
                        found.update(value)
                    elif keyword.arg is not None:
                        found[keyword.arg] = value
                return found
    except (SyntaxError, ValueError) as exc:
        raise EventFormatError(f"{where}: translated_ipython_code cannot be decoded: {exc}") from None
    raise EventFormatError(f"{where}: translated_ipython_code has no file_editor(...) call")


def _finish_message(event: dict[str, Any], args: dict[str, Any]) -> str:
    message = str(args.get("final_thought") or args.get("message") or event.get("message") or args.get("thought") or "")
    outputs = args.get("outputs")
    if outputs:
        message += ("\n\n" if message else "") + "outputs: " + json.dumps(outputs, sort_keys=True)
    return message


def convert_observation(event: dict[str, Any], action: str) -> Observation:
    """An OpenHands observation as ours, of the kind our mapped ``action`` returns.

    A run's exit code and cwd come from its metadata; a ``read`` that OpenHands ran through its
    editor is observed as our ``edit`` (view) is.
    """
    kind = str(event["observation"])
    if kind in ("run", "read", "edit", "write") and action in ("run", "read", "edit", "write"):
        kind = action
    extras = dict(event.get("extras") or {})
    content = str(event.get("content") or "")
    if kind == "run":
        metadata = extras.get("metadata") or {}
        mapped: dict[str, Any] = {"exit_code": metadata.get("exit_code", extras.get("exit_code", -1))}
        if metadata.get("working_dir"):
            mapped["cwd"] = metadata["working_dir"]
        return Observation(observation="run", content=content, extras=mapped)
    if kind in ("read", "edit", "write"):
        if kind == "edit" and not content:
            content = str(extras.get("formatted_output_and_error") or "")
        return Observation(observation=kind, content=content, extras={"path": extras.get("path", "")})
    return Observation(observation=kind, content=content)


def _timestamp(value: Any) -> Optional[float]:
    if not isinstance(value, str):
        return None
    try:
        return round(datetime.fromisoformat(value).timestamp(), 6)
    except ValueError:
        return None


def _task_id(path: Path) -> str:
    return path.name.split(".")[0] or "trajectory"


IMPORTER = Importer(
    name=FORMAT,
    description="an OpenHands trajectory (a JSON list of events)",
    sniff=sniff,
    load=load,
    compares="portable",
)
