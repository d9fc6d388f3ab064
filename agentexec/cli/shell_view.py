"""The shell's view of a run: ``run``'s rich view, with notes meant for an agent worded for a person.

An executor tells an agent how to go on with a command left running ("run with is_input=true
..."); at the shell the person does that by typing, so the view says what to type. The event
log keeps the executor's words: it is a record of what the agent side saw.
"""

from __future__ import annotations

import re

from agentexec.cli.render import RichView

#: (what an executor tells an agent, what the shell tells a person) — matched anywhere in a note.
PERSON_WORDING = [
    (
        re.compile(
            r"the process is left running: run with is_input=true and an empty command to wait for more output,"
        ),
        "the command is still running: press Enter on an empty line to wait for more output, type",
    ),
    (re.compile(r"text to answer it, or C-c to stop it"), "a line to answer it, or Ctrl-C to stop it"),
    (
        re.compile(
            r"send input with is_input=true, an empty is_input command to wait for more output, or C-c to interrupt it"
        ),
        "type a line to send it, press Enter on an empty line to wait for more output, or Ctrl-C to interrupt it",
    ),
    (re.compile(r"no command is running to receive input"), "no command is running to receive that input"),
]
#: Whatever else still names the agent's flag is shown with the person's keys.
KEYS = [
    (re.compile(r"\bis_input=true\b"), "typing"),
    (re.compile(r"\bC-c\b"), "Ctrl-C"),
    (re.compile(r"\bC-d\b"), "Ctrl-D"),
]


def for_a_person(text: str) -> str:
    """``text`` with the executor's instructions to an agent reworded for someone at the shell."""
    for pattern, wording in PERSON_WORDING:
        text = pattern.sub(wording, text)
    if "is_input" in text:
        for pattern, wording in KEYS:
            text = pattern.sub(wording, text)
    return text


class ShellView(RichView):
    """``RichView`` whose content and notes are worded for the person at the shell."""

    def phrase(self, text: str) -> str:
        return for_a_person(text)
