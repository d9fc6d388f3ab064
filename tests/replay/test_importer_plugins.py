"""A plugin package adds a trajectory format through the ``agentexec.importers`` entry-point group."""

from __future__ import annotations

import json
from pathlib import Path

from agentexec.replay import importers
from tests.helpers import write_json
from tests.venv_helper import agentexec, make_venv, pip_install

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "agentexec-toylog"
version = "1.2.0"

[tool.setuptools]
py-modules = ["toylog"]

[project.entry-points."agentexec.importers"]
toylog = "toylog:IMPORTER"
notanimporter = "toylog:NOT_AN_IMPORTER"
"""

MODULE = '''
"""A toy trajectory: {"toylog": [{"cmd": ..., "out": ...}, ...]}."""
from agentexec.events import Action, Observation
from agentexec.replay.imported import ImportedRun, RecordBuilder, imported_header
from agentexec.replay.importers import Importer


def sniff(data):
    return isinstance(data, dict) and isinstance(data.get("toylog"), list)


def load(path, data):
    builder = RecordBuilder()
    for item in data["toylog"]:
        seq = builder.add(Action(action="run", args={"command": item["cmd"]}))
        builder.add(Observation(observation="run", content=item["out"], extras={"exit_code": 0}, cause=seq))
    header = imported_header(path, "toylog", {"id": "toy", "instruction": "play"}, None, None)
    return ImportedRun(path, "toylog", header, builder.records, ["read by the toy importer"])


IMPORTER = Importer(name="toylog", description="a toy log", sniff=sniff, load=load, compares="portable")
NOT_AN_IMPORTER = {"name": "toylog"}
'''


def test_plugin_importer_is_listed_and_reads_its_format(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / "toylog.py").write_text(MODULE)
    python = make_venv(tmp_path / "venv")
    pip_install(python, package)
    log = write_json(tmp_path / "session.json", {"toylog": [{"cmd": "echo hi", "out": "hi\n"}]})

    listed = agentexec(python, "plugins", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {(row["kind"], row["name"]): row for row in json.loads(listed.stdout)}
    toy = rows[("importer", "toylog")]
    assert toy["ok"] and toy["distribution"] == "agentexec-toylog" and toy["file"].endswith("toylog.py")
    assert "not an agentexec.replay.importers.Importer" in rows[("importer", "notanimporter")]["error"]
    assert rows[("importer", "swe-agent")]["ok"] and rows[("importer", "swe-agent")]["distribution"] == "agentexec"

    shown = agentexec(python, "show", "--json", str(log), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert records[0]["imported"]["format"] == "toylog"
    assert [r.get("args") for r in records if "action" in r] == [{"command": "echo hi"}]
    assert "read by the toy importer" in shown.stderr

    replayed = agentexec(python, "replay", str(log), "--verify", "--workspace", "ws", "--json", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert json.loads(replayed.stdout.splitlines()[-1])["result"]["verify"]["matched"] == 1

    unknown = agentexec(python, "show", str(write_json(tmp_path / "other.json", {"x": 1})), cwd=tmp_path)
    assert unknown.returncode == 2 and "a toy log" in unknown.stderr and "notanimporter" in unknown.stderr


def test_builtin_importers_never_claim_the_same_document(tmp_path: Path) -> None:
    """Detection does not depend on the order importers are asked in: each shape has one reader."""
    documents = {
        "openhands": [{"id": 0, "source": "user", "action": "message", "args": {"content": "hi"}}],
        "mini-swe-agent": [{"role": "user", "content": "hi"}],
        "swe-agent": {"trajectory": [{"action": "ls", "observation": ""}], "history": [], "info": {}},
    }
    builtins = [item.importer for item in importers.usable() if item.builtin]
    assert {importer.name for importer in builtins if importer} >= set(documents)
    for name, document in documents.items():
        assert [imp.name for imp in builtins if imp and imp.sniff(document)] == [name]
        importer, notes = importers.choose(tmp_path / "t.json", document)
        assert importer.name == name and notes == []
