"""Bad input, table-driven: each case is a project (files), a command line and what the user must see.

Usage errors must exit 2 with exactly one line on stderr that names the file or place and the fix;
bad actions must become error observations while the loop goes on. Nothing may show a traceback.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import read_log, run_cli

TASK = json.dumps({"id": "t", "actions": [{"action": "run", "args": {"command": "echo ok"}}]})

CUSTOM = """\
from agentexec.agents import Agent
from agentexec.executors import ActionExecutor, action


class Custom(ActionExecutor):
    @action
    def boom(self, reason: str) -> str:
        \"\"\"Fail on purpose.\"\"\"
        raise RuntimeError(reason)


class Plain:
    pass


class KeyAgent(Agent):
    def __init__(self):
        raise KeyError("API_KEY")

    def step(self, state):
        raise NotImplementedError


class Unready(ActionExecutor):
    def on_ready(self) -> None:
        raise ConnectionError("database unreachable")


NUMBER = 1


def function():
    pass
"""


HINTS = """\
from __future__ import annotations

from typing import TYPE_CHECKING

from agentexec.executors import ActionExecutor, action

if TYPE_CHECKING:
    from decimal import Decimal


class Hidden(ActionExecutor):
    @action
    def price(self, amount: Decimal) -> str:
        return str(amount)


class Private(ActionExecutor):
    @action
    def peek(self, _secret: str) -> str:
        return _secret
"""


@dataclass
class Case:
    """A command that must fail with exit 2 and one line containing every string of ``expect``."""

    id: str
    argv: list[str]
    expect: list[str]
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def toml(text: str) -> dict[str, str]:
    return {"agentexec.toml": text}


CASES = [
    Case("toml-syntax", ["config"], ["agentexec.toml", "invalid TOML", "line 2"], toml("[core]\nagent = \n")),
    Case("unknown-section", ["config"], ["agentexec.toml:1", "[cor]", "did you mean 'core'"], toml("[cor]\n")),
    Case(
        "unknown-core-key",
        ["config"],
        ["agentexec.toml:2", "'agnet'", "did you mean 'agent'", "keys are:"],
        toml("[core]\nagnet = 'scripted'\n"),
    ),
    Case(
        "wrong-type",
        ["config"],
        ["agentexec.toml:3", "core.max_iterations", "valid integer"],
        toml("[core]\n\nmax_iterations = 'x'\n"),
    ),
    Case(
        "max-iterations-zero",
        ["run", "t.json"],
        ["agentexec.toml:2", "max_iterations", "greater than or equal to 1"],
        toml("[core]\nmax_iterations = 0\n"),
    ),
    Case("config-not-utf8", ["config"], ["agentexec.toml", "not UTF-8"], toml("[core]\nagent = '\udcff'\n")),
    Case("section-not-table", ["config"], ["agentexec.toml", "'core' must be a table"], toml("core = 1\n")),
    Case("unknown-env-var", ["config"], ["AGENTEXEC_CORE_X", "unknown [core] key 'x'"], env={"AGENTEXEC_CORE_X": "1"}),
    Case(
        "env-var-did-you-mean",
        ["config"],
        ["AGENTEXEC_CORE_AGNET", "did you mean AGENTEXEC_CORE_AGENT"],
        env={"AGENTEXEC_CORE_AGNET": "scripted"},
    ),
    Case(
        "env-var-misspelled-section",
        ["config"],
        ["AGENTEXEC_COR_AGENT", "unknown section 'cor'", "did you mean AGENTEXEC_CORE_AGENT"],
        env={"AGENTEXEC_COR_AGENT": "scripted"},
    ),
    Case(
        "env-var-without-key",
        ["config"],
        ["AGENTEXEC_EXECUTOR", "no key", "AGENTEXEC_EXECUTOR_<KEY>"],
        env={"AGENTEXEC_EXECUTOR": "5"},
    ),
    Case(
        "env-var-wrong-type",
        ["config"],
        ["env AGENTEXEC_CORE_MAX_ITERATIONS", "valid integer"],
        env={"AGENTEXEC_CORE_MAX_ITERATIONS": "many"},
    ),
    Case("missing-config", ["run", "t.json", "--config", "nope.toml"], ["nope.toml not found", "--config"]),
    Case("module-not-found", ["run", "t.json", "--executor", "nomod:X"], ["'nomod:X'", "module 'nomod' not found"]),
    Case(
        "import-error-inside",
        ["run", "t.json", "--executor", "broken:X"],
        ["'broken:X'", "No module named 'doesnotexist'", "broken.py:2"],
        {"broken.py": "'''A module whose import fails.'''\nimport doesnotexist\n"},
    ),
    Case(
        "exception-at-import",
        ["actions", "--executor", "broken:X"],
        ["ValueError: bad setting", "broken.py:3"],
        {"broken.py": "x = 1\n\nraise ValueError('bad setting')\n"},
    ),
    Case(
        "syntax-error",
        ["run", "t.json", "--executor", "broken:X"],
        ["syntax error", "broken.py:2"],
        {"broken.py": "x = 1\ndef f(:\n"},
    ),
    Case(
        "attribute-missing",
        ["run", "t.json", "--executor", "custom:Custm"],
        [
            "no attribute 'Custm'",
            "custom.py",
            "did you mean custom:Custom?",
            "it defines: ActionExecutor, Custom, Unready",
        ],
        {"custom.py": CUSTOM},
    ),
    Case(
        "not-a-class",
        ["run", "t.json", "--executor", "custom:NUMBER"],
        ["'custom:NUMBER' is an int", "subclass"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "function-not-class",
        ["run", "t.json", "--executor", "custom:function"],
        ["is a function", "BaseActionExecutor"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "wrong-base",
        ["run", "t.json", "--executor", "custom:Plain"],
        ["'custom:Plain'", "not a subclass of agentexec.executors.base.BaseActionExecutor"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "executor-as-agent",
        ["run", "t.json", "--agent", "custom:Custom"],
        ["agent class path 'custom:Custom'", "not a subclass of agentexec.agents.base.Agent"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "unknown-executor-name",
        ["run", "t.json", "--executor", "ActionExecutr"],
        ["unknown executor 'ActionExecutr'", "did you mean 'ActionExecutor'", "pkg.module:Class"],
    ),
    Case("unknown-agent-name", ["run", "t.json", "--agent", "scriptd"], ["did you mean 'scripted'"]),
    Case("unknown-runtime-name", ["run", "t.json", "--runtime", "lcal"], ["did you mean 'local'"]),
    Case(
        "incomplete-class-path", ["actions", "--executor", "custom:"], ["'custom:' is incomplete", "pkg.module:Class"]
    ),
    Case(
        "executor-setup-fails",
        ["run", "t.json", "--executor", "custom:Unready"],
        ["'custom:Unready' failed to set up at ", "custom.py:26", "ConnectionError: database unreachable"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "agent-constructor-fails",
        ["run", "t.json", "--agent", "custom:KeyAgent"],
        ["agent custom:KeyAgent failed to start at ", "custom.py:18", "KeyError: 'API_KEY'"],
        {"custom.py": CUSTOM},
    ),
    Case(
        "type-hint-missing-at-run-time",
        ["run", "t.json", "--executor", "hints:Hidden"],
        ["action 'price' (hints.Hidden.price)", "NameError: name 'Decimal' is not defined"],
        {"hints.py": HINTS},
    ),
    Case(
        "underscore-parameter",
        ["actions", "--executor", "hints:Private"],
        ["action 'peek' (hints.Private.peek)", "leading underscores"],
        {"hints.py": HINTS},
    ),
    Case(
        "executor-argument-rejected",
        ["run", "t.json"],
        ["executor.foo = 1", "'foo'", "it accepts: timeout, no_output_timeout"],
        toml("[executor]\nfoo = 1\n"),
    ),
    Case(
        "executor-argument-did-you-mean",
        ["run", "t.json"],
        ["executor.timeuot", "did you mean 'timeout'"],
        toml("[executor]\ntimeuot = 5\n"),
    ),
    Case("agent-argument-rejected", ["run", "t.json"], ["agent.steps = 3", "'steps'"], toml("[agent]\nsteps = 3\n")),
    Case(
        "runtime-option-did-you-mean",  # the sandbox passes unknown keys on through **kwargs to its bases
        ["run", "t.json"],
        ["runtime.netwrok", "'netwrok'", "did you mean 'network'", "it accepts: network"],
        toml('[core]\nruntime = "sandbox"\n[runtime]\nnetwrok = true\n'),
    ),
    Case(
        "malformed-task-json",
        ["run", "bad.json"],
        ["bad.json:3:23", "invalid JSON"],
        {"bad.json": '{\n  "actions": [\n    {"action": "run", }\n  ]\n}\n'},
    ),
    Case("empty-task-file", ["run", "bad.json"], ["bad.json:1:1", "invalid JSON"], {"bad.json": ""}),
    Case(
        "task-schema-field-path",
        ["run", "bad.json"],
        ["bad.json", "actions[1].action: Field required", "actions[1].actoin: unknown field"],
        {"bad.json": json.dumps({"actions": [{"action": "run"}, {"actoin": "read"}]})},
    ),
    Case(
        "task-unknown-field",
        ["run", "bad.json"],
        ["bad.json", "instructions: unknown field"],
        {"bad.json": json.dumps({"instructions": "do it"})},
    ),
    Case(
        "task-wrong-type",
        ["run", "bad.json"],
        ["bad.json", "env.FOO", "valid string"],
        {"bad.json": json.dumps({"env": {"FOO": 1}})},
    ),
    Case("task-not-object", ["run", "bad.json"], ["bad.json", "must be a JSON object, got list"], {"bad.json": "[]"}),
    Case("missing-task-file", ["run", "nope.json"], ["task file nope.json not found"]),
    Case("task-file-is-directory", ["run", "dir.json"], ["dir.json is a directory"], {"dir.json/keep": ""}),
    Case("bad-max-iterations-flag", ["run", "t.json", "--max-iterations", "x"], ["'--max-iterations'", "run --help"]),
    Case("zero-max-iterations-flag", ["run", "t.json", "--max-iterations", "0"], ["'--max-iterations'"]),
    Case("unknown-flag", ["run", "t.json", "--bogus"], ["No such option", "--bogus"]),
    Case("missing-argument", ["run"], ["TASK.json"]),
    Case("log-is-directory", ["run", "t.json", "--log", "logs"], ["logs is a directory", "--log"], {"logs/keep": ""}),
    Case("workspace-is-file", ["run", "t.json", "--workspace", "t.json"], ["t.json is not a directory"]),
]


def make_project(root: Path, files: dict[str, str]) -> None:
    """Write the files; a lone surrogate in the text stands for an invalid byte (``\\udcff`` is 0xff)."""
    (root / "t.json").write_text(TASK)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.fixture(scope="module")
def usage_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's CLI run, each in its own project; run a few at a time since each is mostly start-up."""

    # Directories are made here, in one thread: pytest's temp-path factory is not thread-safe.
    projects = {case.id: tmp_path_factory.mktemp(case.id) for case in CASES}

    def run_case(case: Case) -> subprocess.CompletedProcess[str]:
        make_project(projects[case.id], case.files)
        return run_cli(*case.argv, cwd=projects[case.id], env=case.env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([c.id for c in CASES], pool.map(run_case, CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_usage_error_is_one_line_and_exit_2(usage_results, case: Case) -> None:
    result = usage_results[case.id]
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agentexec: error: ")
    for text in case.expect:
        assert text in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_at_least_25_usage_errors_are_tried() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 25


@dataclass
class BadAction:
    """An action that must become an error observation containing ``expect``; the run goes on."""

    id: str
    action: dict
    expect: list[str]


BAD_ACTIONS = [
    BadAction(
        "unknown-action",
        {"action": "deploy", "args": {}},
        ["unknown action 'deploy'", "this executor handles: boom, ", "edit, exec, finish, message, read, run"],
    ),
    BadAction(
        "missing-argument",
        {"action": "run", "args": {"cmd": "ls"}},
        ["bad arguments for action 'run'", "command: Field required", "cmd: unknown field", "it accepts (command: str"],
    ),
    BadAction(
        "wrong-argument-type",
        {"action": "read", "args": {"path": "x", "start": "first"}},
        ["bad arguments for action 'read'", "start: Input should be a valid integer"],
    ),
    BadAction(
        "bad-literal",
        {"action": "edit", "args": {"command": "delete", "path": "x"}},
        ["bad arguments for action 'edit'", "command: Input should be 'view', 'create'"],
    ),
    BadAction("close-is-not-an-action", {"action": "close", "args": {}}, ["unknown action 'close'"]),
    BadAction("init-is-not-an-action", {"action": "__init__", "args": {}}, ["unknown action '__init__'"]),
    BadAction("setup-is-not-an-action", {"action": "setup", "args": {}}, ["unknown action 'setup'"]),
    BadAction(
        "handler-raises",
        {"action": "boom", "args": {"reason": "disk on fire"}},
        ["action 'boom' failed: RuntimeError: disk on fire"],
    ),
    BadAction(
        "read-missing-file",
        {"action": "read", "args": {"path": "absent.txt"}},
        ["No such file or directory", "absent.txt"],
    ),
]


@pytest.fixture(scope="module")
def bad_action_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], list]:
    """One run plays every bad action, each followed by a ``pwd``: the session must survive each untouched.

    The run starts with ``cd sub``; if any bad action reached ``setup``, ``__init__`` or ``close``, the
    session (or the executor) would be reset and the next ``pwd`` would not print ``sub``.
    """
    project = tmp_path_factory.mktemp("bad-actions")
    (project / "custom.py").write_text(CUSTOM)
    (project / "ws" / "sub").mkdir(parents=True)
    actions = [{"action": "run", "args": {"command": "cd sub"}}]
    for case in BAD_ACTIONS:
        actions += [case.action, {"action": "run", "args": {"command": "pwd"}}]
    (project / "t.json").write_text(json.dumps({"id": "bad-actions", "workspace": "ws", "actions": actions}))
    result = run_cli("run", "t.json", "--executor", "custom:Custom", "--log", "run.jsonl", cwd=project)
    return project, result, read_log(project / "run.jsonl")


def test_bad_actions_do_not_fail_the_run(bad_action_run) -> None:
    _, result, events = bad_action_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    assert events[-1]["result"]["outcome"] == "finished"
    assert events[-1]["result"]["steps"] == 2 * len(BAD_ACTIONS) + 2


@pytest.mark.parametrize("index", range(len(BAD_ACTIONS)), ids=[c.id for c in BAD_ACTIONS])
def test_bad_action_is_error_observation_and_loop_goes_on(bad_action_run, index: int) -> None:
    project, result, events = bad_action_run
    case = BAD_ACTIONS[index]
    action_seq = 3 + 4 * index  # header, then cd (1) and its observation (2), then pairs of actions
    action, bad, pwd, after = (e for e in events if e.get("seq") in range(action_seq, action_seq + 4))
    assert action["action"] == case.action["action"]
    assert bad["observation"] == "error"
    assert bad["cause"] == action_seq
    for text in case.expect:
        assert text in bad["content"]
        assert text in result.stdout
    assert pwd["action"] == "run"
    assert after["extras"]["exit_code"] == 0
    assert after["content"].strip() == str(project / "ws" / "sub")


@pytest.mark.parametrize("spec", ["agentexec.executors.ActionExecutor", "custom.Custom", "custom:Custom"])
def test_dotted_and_colon_class_paths_are_accepted(cli, project: Path, spec: str) -> None:
    (project / "custom.py").write_text(CUSTOM)
    make_project(project, {})
    result = cli("run", "t.json", "--executor", spec, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["config"]["core"]["runtime_executor"] == spec
    assert any(e.get("observation") == "run" and e["content"] == "ok\n" for e in events)
