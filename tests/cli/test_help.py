"""``--help`` as a person reads it: examples, defaults, repeatable flags, names instead of types."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.helpers import run_cli

COMMANDS = ["run", "batch", "shell", "replay", "show", "config", "actions", "plugins", "serve", "mcp"]
NARROW = {"COLUMNS": "80"}
#: typer's own type labels: ``<path>``, ``<int range>``, ``<list[Path]>``.
TYPE_LABEL = re.compile(r"<(str|int|float|bool|path|file|list|choice)\b[^>]*>", re.IGNORECASE)


def help_of(*command: str) -> str:
    result = run_cli(*command, "--help", env=NARROW)
    assert result.returncode == 0, result.stderr
    return result.stdout


def option_text(text: str, flag: str) -> str:
    """The help of one option, its wrapped lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s+(-\w, )?{re.escape(flag)}\b", line))
    rest = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 8) or not line.strip():
            break
        rest.append(line)
    return " ".join(" ".join(rest).split())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_shows_examples_and_names_without_types(command: str) -> None:
    text = help_of(command)
    assert text.startswith(f"Usage: agentexec {command} [OPTIONS]")
    assert "\nOptions:\n" in text
    examples = text.split("\nExamples:\n", 1)[1].splitlines()
    assert examples and all(line.startswith(f"  agentexec {command}") for line in examples if line.strip())
    assert not TYPE_LABEL.search(text), TYPE_LABEL.search(text)


def test_defaults_and_repeatable_flags_are_said() -> None:
    batch = help_of("batch")
    for flag, default in (("--workers", "one per CPU"), ("--engine", "local"), ("--out", "./agentexec-batch")):
        assert "default:" in option_text(batch, flag) and default in option_text(batch, flag)
    assert "[one or more]" in " ".join(batch.split()) and batch.startswith("Usage: agentexec batch [OPTIONS] TASK...")
    for command in ("run", "shell", "mcp", "replay"):
        assert "default:" in option_text(help_of(command), "--log")
    assert "[default: 16777216" in option_text(help_of("mcp"), "--max-request-bytes")
    assert "[repeatable]" in option_text(help_of("replay"), "--ignore")
    assert "[repeatable]" in option_text(help_of("serve"), "--import-path")


def test_the_command_list_shows_whole_descriptions() -> None:
    text = run_cli("--help", env=NARROW).stdout
    listing = text.split("\nCommands:\n", 1)[1]
    assert "..." not in listing
    joined = " ".join(listing.split())
    assert "Run one task to the end, streaming its events; exit 0 if it passed, 1 if not." in joined
    assert "Serve the executor's actions as MCP tools (stdio, or --http); every call goes to the event log." in joined
    assert all(re.search(rf"^  {command}\b", listing, re.MULTILINE) for command in COMMANDS)


def test_help_imports_no_terminal_or_pipeline_modules() -> None:
    """``agentexec --help`` stays fast: the commands' bodies and rich load only when a command runs
    (typer itself brings pydantic)."""
    code = (
        "import sys; sys.argv = ['agentexec', 'batch', '--help']\n"
        "from agentexec.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('rich', 'agentexec.')))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "agentexec.cli.runs" in loaded
    assert not [m for m in loaded if m.startswith(("rich", "agentexec.session", "agentexec.config", "agentexec.batch"))]
