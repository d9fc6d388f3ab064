"""The bad-input corpus: every file under this directory, fed to agentexec the way its kind is
(see ``expected.toml``), must get its expected exit code and one clear message, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentexec.config import _toml
from tests.faults.test_server_input import Server, started
from tests.helpers import REPO

HERE = Path(__file__).parent
EXPECTED: dict[str, dict[str, Any]] = _toml().loads((HERE / "expected.toml").read_text(encoding="utf-8"))
CLI_KINDS = {"config", "task", "log"}
TASK = {"id": "t", "actions": [{"action": "run", "args": {"command": "echo ok"}}]}


def argv_for(name: str) -> list[str]:
    kind, path = name.split("/")[0], str(HERE / name)
    return {"config": ["run", "t.json", "--config", path], "task": ["run", path], "log": ["show", path]}[kind]


def test_every_file_has_an_expectation_and_there_are_at_least_60() -> None:
    on_disk = {str(p.relative_to(HERE)) for p in HERE.glob("*/*") if p.is_file()}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 60


@pytest.fixture(scope="module")
def cli_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each CLI-kind file run through the real entry point, all in one interpreter."""
    cwd = tmp_path_factory.mktemp("corpus")
    (cwd / "t.json").write_text(json.dumps(TASK))
    names = sorted(n for n in EXPECTED if n.split("/")[0] in CLI_KINDS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.bad_inputs.cli_driver", str(cwd), *(json.dumps(argv_for(n)) for n in names)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(zip(names, json.loads(result.stdout), strict=True))


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory):
    yield from started(tmp_path_factory.mktemp("corpus-served"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_gets_its_exit_code_and_one_clear_message(name: str, request: pytest.FixtureRequest) -> None:
    expected = EXPECTED[name]
    kind = name.split("/")[0]
    if kind in CLI_KINDS:
        outcome = request.getfixturevalue("cli_outcomes")[name]
        lines = outcome["stderr"].splitlines()
        assert outcome["exit"] == expected["exit"], outcome["stderr"][-2000:]
        assert len(lines) == 1 and lines[0].startswith("agentexec: error: "), outcome["stderr"][-2000:]
        assert expected["fragment"] in lines[0]
        assert "Traceback" not in outcome["stdout"] + outcome["stderr"]
        return
    server: Server = request.getfixturevalue("corpus_server")
    data = (HERE / name).read_bytes()
    if kind == "protocol":
        server.send(data)
        answer = server.next()
        assert answer["type"] == "error", answer
        message = answer["message"]
    else:
        server.send(b'{"type": "execute", "id": 77, "action": ' + data + b"}")
        answer = server.next()
        assert answer["id"] == 77 and answer["type"] in ("error", "result"), answer
        message = answer["message"] if answer["type"] == "error" else answer["event"]["content"]
        if answer["type"] == "result":
            assert answer["event"]["observation"] == "error", answer
    assert expected["fragment"] in message, message[:2000]
    server.request(type="execute", id=78, action={"action": "run", "args": {"command": "echo alive"}})
    assert server.next()["event"]["content"] == "alive\n", "the server goes on after each bad input"
    assert server.process.poll() is None
    assert expected["exit"] == 0  # the server's own exit, once the corpus is done, is checked below


def test_the_server_exits_0_after_the_whole_corpus(corpus_server: Server) -> None:
    assert corpus_server.close() == 0
