"""``agentexec shell``: an interactive loop where you are the agent.

Every line becomes an action that goes through the same ``execute`` and sinks as ``agentexec
run`` (the event log, the rich view or ``--json``), so a shell session is an ordinary, replayable
run. A plain line is a ``run`` action; ``/``-commands build the other actions. While a command is
still running (its observation says ``running``), plain lines go to it as ``is_input``.

Keys: Ctrl-C while a command runs interrupts it and returns to the prompt; at the prompt of a
running command it sends C-c, and Ctrl-D sends C-d; at an empty prompt, Ctrl-C or Ctrl-D ends the
session (the log is closed with its result line).
"""

from __future__ import annotations

import difflib
import json
import shlex
import signal
import time
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape

from agentexec.cli.lineinput import LineReader
from agentexec.cli.shell_sessions import ShellSessions
from agentexec.config import Config
from agentexec.eventlog import new_log_path
from agentexec.events import Action, Observation, as_action
from agentexec.loop import Recorder, RunResult, Sink, execute
from agentexec.outcomes import Outcome
from agentexec.runtimes.base import Runtime
from agentexec.session import Session, SessionPlan
from agentexec.tasks import Task

HELP = """\
  COMMAND                    a run action in the persistent bash session (cwd and variables persist)
  /read PATH [START [END]]   read a file (lines START..END-1, 0-based, as the read action)
  /write PATH                write a file: type its lines, end with a lone '.'
  /edit view PATH [FROM TO]  show a file with line numbers (1-based, TO -1 = last line)
  /edit create PATH          create a file: type its lines, end with a lone '.'
  /edit str_replace PATH     replace text: type the old lines, '.', then the new lines, '.'
  /edit insert PATH LINE     insert lines after LINE (0 = at the top), end with a lone '.'
  /edit undo PATH            undo the last edit of PATH
  /edit {JSON}               an edit action with these args, e.g. {"command": "view", "path": "a.py"}
  /undo                      undo the last /edit of this session
  /py CODE                   a Python cell in the persistent IPython kernel (run_ipython); /py alone:
                             type a multi-line cell, end with a lone '.'
  /action NAME [{JSON}]      any action, custom ones included, e.g. /action count_lines {"path": "a"}
  /action {JSON}             a whole action: {"action": "run", "args": {"command": "ls"}}
  /actions                   the executor's actions and their arguments
  /log                       the event log's path
  /session [NAME]            switch to bash session NAME (started on its first command); alone: list them
  /help                      this help
  /quit                      end the session (also Ctrl-D, or Ctrl-C at an empty prompt)
While a command is still running, a line is sent to it as input ('//x' sends '/x', an empty line
waits for more output), Ctrl-C sends it C-c and Ctrl-D sends C-d."""

COMMANDS = ("/action", "/actions", "/edit", "/help", "/log", "/py", "/quit", "/read", "/session", "/undo", "/write")
EDIT_COMMANDS = ("view", "create", "str_replace", "insert", "undo")


class EndSession(Exception):
    """Raised by SIGTERM: end the session, closing the log."""


class Shell:
    """One interactive session over a started runtime, recording to ``recorder``."""

    def __init__(self, runtime: Runtime, recorder: Recorder, console: Console, log_path: str) -> None:
        self.runtime = runtime
        self.recorder = recorder
        self.console = console
        self.log_path = log_path
        self.schemas = {schema["name"]: schema for schema in runtime.action_schemas()}
        self.cwd = str(runtime.workspace)
        self.exit_code: Optional[int] = None
        self.waiting = False  # a command is still running: lines are its input
        self.edited: list[str] = []  # paths of this session's edits, for /undo
        self.reader = LineReader(self.completions, console.file)
        self.sessions = ShellSessions(self.cwd)

    # -- the loop ----------------------------------------------------------------------------

    def loop(self) -> None:
        """Read and carry out lines until the user ends the session."""
        while True:
            try:
                line = self.reader.read(self.prompt())
            except EOFError:
                self.console.print()
                if not self.waiting:
                    return
                self.act(Action(action="run", args={"command": "C-d", "is_input": True}))
                continue
            except KeyboardInterrupt:
                self.console.print()
                if self.waiting:
                    self.act(Action(action="run", args={"command": "C-c", "is_input": True}))
                elif not self.reader.typed:
                    return
                continue
            if self.handle(line) == "quit":
                return

    def prompt(self) -> str:
        home = str(Path.home())
        cwd = "~" + self.cwd[len(home) :] if self.cwd == home or self.cwd.startswith(home + "/") else self.cwd
        if self.waiting:
            return f"{self.sessions.label()}{cwd} [running] input> "
        return f"{self.sessions.label()}{cwd} [{'-' if self.exit_code is None else self.exit_code}]$ "

    def handle(self, line: str) -> Optional[str]:
        """Carry out one line; returns "quit" when the session should end."""
        if self.waiting and (not line.startswith("/") or line.startswith("//")):
            text = line[1:] if line.startswith("//") else line
            self.act(Action(action="run", args={"command": text, "is_input": True}))
            return None
        if not line.strip():
            return None
        if not line.startswith("/"):
            self.act(Action(action="run", args={"command": line}))
            return None
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("/quit", "/exit"):
            return "quit"
        handler = {
            "/help": lambda _rest: self.console.print(HELP, markup=False, highlight=False),
            "/log": lambda _rest: self.console.print(f"event log: {escape(self.log_path)}"),
            "/actions": lambda _rest: self.list_actions(),
            "/read": self.cmd_read,
            "/write": self.cmd_write,
            "/edit": self.cmd_edit,
            "/undo": self.cmd_undo,
            "/action": self.cmd_action,
            "/py": self.cmd_py,
            "/session": self.cmd_session,
        }.get(name)
        if handler is None:
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.error(f"unknown command {name}{hint} (/help lists them)")
            return None
        try:
            handler(rest)
        except ValueError as exc:  # bad arguments to a /-command: say so, keep the session
            self.error(str(exc))
        return None

    def act(self, act: Action) -> Optional[Observation]:
        """Execute an action through the loop's ``execute``; Ctrl-C interrupts it and returns here."""
        act = self.sessions.tag(act)
        try:
            observation = execute(self.runtime, self.recorder, act)
        except KeyboardInterrupt:  # execute interrupted the runtime (which waits for the command) and recorded it
            if act.action == "run":
                self.exit_code = 130  # as bash reports a command ended by Ctrl-C
            return None
        self.observe(act, observation)
        self.sessions.closed(self, act, observation)
        return observation

    def observe(self, act: Action, observation: Observation) -> None:
        if act.action != "run":
            return
        extras = observation.extras
        self.waiting = bool(extras.get("running"))
        if extras.get("cwd"):
            self.cwd = str(extras["cwd"])
        if not self.waiting and extras.get("exit_code", -1) != -1:  # -1: no command ended here
            self.exit_code = extras["exit_code"]

    def path(self, path: str) -> str:
        """A path as the user means it: relative to the shell's cwd, which ``cd`` may have moved."""
        if Path(path).is_absolute() or Path(self.cwd) == self.runtime.workspace:
            return path
        return str(Path(self.cwd) / path)

    def error(self, message: str) -> None:
        self.console.print(f"shell: {escape(message)}", style="red")

    # -- /-commands --------------------------------------------------------------------------

    def cmd_read(self, rest: str) -> None:
        words = split(rest, "/read PATH [START [END]]", 1, 3)
        args: dict[str, Any] = {"path": self.path(words[0])}
        for key, word in zip(("start", "end"), words[1:], strict=False):
            args[key] = integer(word, key)
        self.act(Action(action="read", args=args))

    def cmd_write(self, rest: str) -> None:
        (path,) = split(rest, "/write PATH", 1, 1)
        content = self.read_block(f"content of {path}")
        if content is not None:
            self.act(Action(action="write", args={"path": self.path(path), "content": content}))

    def cmd_edit(self, rest: str) -> None:
        if rest.startswith("{"):
            self.edit(parse_json_object(rest, "/edit {JSON}"))
            return
        usage = "/edit view|create|str_replace|insert|undo PATH ... (/help shows each form)"
        words = split(rest, usage, 2, 4)
        command, path, extra = words[0], self.path(words[1]), words[2:]
        args: dict[str, Any] = {"command": command, "path": path}
        if command == "view":
            if extra:
                args["view_range"] = [integer(w, "view range") for w in split(" ".join(extra), usage, 2, 2)]
        elif command == "undo":
            args["command"] = "undo_edit"
        elif command == "create":
            text = self.read_block(f"content of {path}")
            if text is None:
                return
            args["file_text"] = text
        elif command == "str_replace":
            old = self.read_block("old text (must occur exactly once)", final_newline=False)
            new = self.read_block("new text", final_newline=False) if old is not None else None
            if new is None:
                return
            args.update(old_str=old, new_str=new)
        elif command == "insert":
            if len(extra) != 1:
                raise ValueError("usage: /edit insert PATH LINE")
            args["insert_line"] = integer(extra[0], "LINE")
            text = self.read_block(f"text to insert after line {extra[0]}")
            if text is None:
                return
            args["new_str"] = text
        else:
            raise ValueError(f"unknown edit command {command!r}; usage: {usage}")
        self.edit(args)

    def edit(self, args: dict[str, Any]) -> None:
        observation = self.act(Action(action="edit", args=args))
        if observation is None or observation.is_error:
            return
        if args.get("command") == "undo_edit":
            path = str(args.get("path"))
            if path in self.edited:
                del self.edited[len(self.edited) - 1 - self.edited[::-1].index(path)]
        elif args.get("command") in ("create", "str_replace", "insert"):
            self.edited.append(str(args.get("path")))

    def cmd_undo(self, rest: str) -> None:
        if not self.edited:
            raise ValueError("nothing to undo: no /edit in this session yet")
        self.edit({"command": "undo_edit", "path": self.edited[-1]})

    def cmd_action(self, rest: str) -> None:
        usage = '/action NAME [{JSON args}] or /action {"action": ..., "args": {...}}'
        if not rest:
            raise ValueError(f"usage: {usage}")
        if rest.startswith("{"):
            act = as_action(parse_json_object(rest, usage))
        else:
            name, _, raw = rest.partition(" ")
            act = Action(action=name, args=parse_json_object(raw, usage) if raw.strip() else {})
        self.act(act.model_copy(update={"args": self.paths_in(act.args)}))

    def paths_in(self, args: dict[str, Any]) -> dict[str, Any]:
        """An action's path arguments (``path``, ``*_path``) as the user means them, as ``/read`` does."""
        return {
            key: self.path(value) if isinstance(value, str) and (key == "path" or key.endswith("_path")) else value
            for key, value in args.items()
        }

    def cmd_session(self, rest: str) -> None:
        (name,) = split(rest, "/session NAME", 0, 1) or [""]
        self.console.print(self.sessions.switch(self, name) if name else self.sessions.listing(), style="dim")

    def cmd_py(self, rest: str) -> None:
        code = rest if rest else self.read_block("Python cell", final_newline=False)
        if code:
            self.act(Action(action="run_ipython", args={"code": code}))

    def list_actions(self) -> None:
        for name, schema in self.schemas.items():
            description = (schema.get("description") or "").split("\n")[0]
            self.console.print(f"[bold]{escape(name)}[/]({escape(signature(schema))})  [dim]{escape(description)}[/]")

    def read_block(self, what: str, final_newline: bool = True) -> Optional[str]:
        """Lines typed until a lone '.'; None if the user cancels with Ctrl-C or Ctrl-D."""
        self.console.print(f"{escape(what)}: end with a lone '.', Ctrl-C cancels", style="dim")
        lines = []
        while True:
            try:
                line = self.reader.read("... ", remember=False)
            except (KeyboardInterrupt, EOFError):
                self.console.print("\ncancelled", style="yellow")
                return None
            if line == ".":
                break
            lines.append(line)
        text = "\n".join(lines)
        return text + "\n" if final_newline and lines else text

    # -- completion --------------------------------------------------------------------------

    def completions(self, before: str, text: str) -> list[str]:
        """Completions of ``text``, given the line ``before`` it."""
        words = before.split()
        if not words and text.startswith("/"):
            options: tuple[str, ...] | list[str] = COMMANDS + ("/quit",)
        elif words == ["/action"]:
            options = sorted(self.schemas)
        elif words == ["/edit"]:
            options = EDIT_COMMANDS
        else:
            return []
        return [option + " " for option in sorted(set(options)) if option.startswith(text)]


def split(rest: str, usage: str, least: int, most: int) -> list[str]:
    """Shell-like words of a /-command's arguments, checked against their count."""
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise ValueError(f"{exc}; usage: {usage}") from None
    if not least <= len(words) <= most:
        raise ValueError(f"usage: {usage}")
    return words


def integer(word: str, what: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"{what} must be an integer, got {word!r}") from None


def parse_json_object(text: str, usage: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at column {exc.colno}: {exc.msg}; usage: {usage}") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object; usage: {usage}")
    return value


def signature(schema: dict[str, Any]) -> str:
    """``path: string, start: integer = 0`` from an action's JSON Schema."""
    parameters = schema.get("parameters") or {}
    required = set(parameters.get("required", []))
    parts = []
    for name, prop in (parameters.get("properties") or {}).items():
        kind = prop.get("type") or "|".join(p.get("type", "?") for p in prop.get("anyOf", [])) or "any"
        parts.append(f"{name}: {kind}" + ("" if name in required else f" = {json.dumps(prop.get('default'))}"))
    return ", ".join(parts)


def run_shell(runtime: Runtime, sinks: list[Sink], header: dict[str, Any], log_path: str, console: Console) -> int:
    """Run a session to its end and close the log; the exit code: 0, or 130 after SIGTERM."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise EndSession

    signal.signal(signal.SIGTERM, on_sigterm)
    recorder = Recorder(sinks)
    recorder.header(header)
    started = time.monotonic()
    result = RunResult(
        task_id="shell", outcome=Outcome.FINISHED, passed=True, message="session ended", log_path=log_path
    )
    shell = Shell(runtime, recorder, console, log_path)
    console.print("agentexec shell: you are the agent. /help lists the commands, /quit or Ctrl-D ends.", style="dim")
    try:
        shell.loop()
    except EndSession:
        result.outcome, result.passed, result.message = Outcome.INTERRUPTED, False, "terminated (SIGTERM)"
    finally:
        shell.reader.save()
        result.duration = time.monotonic() - started
        recorder.finish(result)
    return result.exit_code


def start_shell(config: Config, log: Optional[Path], view: Any, json_output: bool) -> int:
    """Build and start the configured runtime, run a session over it, and tear it down."""
    log_path = str((log or new_log_path(config.core.log_dir, "shell")).resolve())
    task = Task(id="shell").model_dump(mode="json")
    plan = SessionPlan(config, config.core.workspace, log_path, task=task)  # run_shell handles SIGTERM itself
    console = Console(stderr=json_output, highlight=False, soft_wrap=True)
    with Session(plan) as session:
        return run_shell(session.started, session.sinks(view), session.header(), log_path, console)
