"""What bash is told, as plain text: the session's setup line and each command's runner.

Pure functions over strings, so the shell-side protocol can be read and tested without a terminal.
A command's text goes to a file that the runner sources, with stdout and stderr on the output
terminal. The runner's announcement (``S<id>``) and the prompt's report (``E<id>:<rc>:<cwd>``)
are written by bash builtins to the *marker channel*, a FIFO that no command's output is pointed
at: each ``printf`` opens it for its own redirection only, so no child inherits it, and nothing a
command prints (stdout, stderr, ``/dev/tty``) ever travels on it. See ``markers`` for the reading.
"""

from __future__ import annotations

import os
import re

#: The runner's file name: random per process, so that ``set -x`` traces of it are recognised.
RUNNER_NAME = f"aexrun{os.urandom(6).hex()}"

_ERREXIT = re.compile(r"(^|[\s;&|(])set\s+(-[a-zA-Z]*e[a-zA-Z]*|-o\s+errexit)\b")
# What `set -x` prints for the sourcing of the runner (on bash's terminal) and of the command
# file (first on the output terminal): the traced steps that are ours, not the command's.
_RUNNER_TRACE = re.compile(rb"[^\n]{0,64}\. '?[^'\n]*/" + RUNNER_NAME.encode() + rb"'?\n")
_SOURCE_TRACE = re.compile(rb"\A[^\n]{0,64}\. '?[^'\n]*/agentexec-bash-[^/'\n]*/command\.sh'?\n")

# Reports the command's id, exit code and cwd on the marker channel, then forgets the exit code,
# so that a command line that C-c cut short leaves it empty and the report takes bash's $? (130).
# Before reporting, bash starts ignoring SIGINT until the next runner begins (the command's own
# INT trap is saved beside the channel and restored by the runner): a Ctrl-C that reaches bash
# between two commands would otherwise cut the next runner line, whose tail then runs as a command.
_PROMPT_FUNCTION = (
    '__aex_prompt() { __aex_rc=${__aex_rc:-$?}; [ -n "$__aex_calm" ] || '
    "{ builtin trap -p INT >\"$__aex_marks.int\"; builtin trap '' INT; __aex_calm=1; }; "
    'builtin printf \'E%s:%s:%s\\0\' "${__aex_id:-0}" "$__aex_rc" "$PWD" >"$__aex_marks"; __aex_rc=; }'
)


def quote(text: str) -> str:
    """``text`` as one bash word."""
    return "'" + text.replace("'", "'\\''") + "'"


def needs_subshell(command: str) -> bool:
    """Whether ``command`` turns on errexit, which would end the session's bash at its first failure."""
    return _ERREXIT.search(command) is not None


def reset(marks: str) -> str:
    """Re-asserted after every command, so that one changing ``PS1``, ``PROMPT_COMMAND``, the
    report function or its channel cannot hide the end of the next. Runs inside
    ``{ ...; } 2>/dev/null``, so ``set -x`` traces only the command."""
    return (
        f"{{ __aex_rc=$? __aex_marks={quote(marks)} PROMPT_COMMAND='{{ __aex_prompt; }} 2>/dev/null' "
        f"PS1= PS2= PS0=; {_PROMPT_FUNCTION}; }} 2>/dev/null"
    )


def setup_line(marks: str, output_terminal: str) -> str:
    """The first line a fresh bash reads: job control on, no history, and the prompt report (id 0)."""
    return f"set -m; set +o history; unset HISTFILE; __aex_tty={quote(output_terminal)}; {reset(marks)}\n"


def runner(command_id: int, script: str, output_terminal: str, marks: str, *, subshell: bool) -> str:
    """The file bash sources for one command: announce it, run it on the output terminal, reset."""
    body = f"( . {quote(script)} )" if subshell else f"{{ . {quote(script)}; }}"
    return (
        f'{{ builtin trap - INT; . "$__aex_marks.int"; __aex_calm= __aex_id={command_id} '
        f"__aex_tty={quote(output_terminal)}; "
        f"builtin printf 'S%s\\0' {command_id} >\"$__aex_marks\"; }} 2>/dev/null\n"
        f'{body} >"$__aex_tty" 2>&1\n'
        f"{reset(marks)}\n"
    )


def strip_runner_trace(data: bytes) -> bytes:
    """bash's terminal output without ``set -x``'s trace of the runner being sourced."""
    return _RUNNER_TRACE.sub(b"", data) if b"\n" in data else data


def strip_source_trace(data: bytes) -> bytes:
    """The first output of a command without ``set -x``'s trace of its file being sourced."""
    return _SOURCE_TRACE.sub(b"", data, count=1)
