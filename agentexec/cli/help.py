"""How ``agentexec --help`` and each command's ``--help`` read: names a person types, not types.

typer's plain help shows a parameter's Python type (``TASKS <list[Path]>``), cuts each command's
description in the top-level list with "...", and rewraps an epilog into one paragraph. These
classes keep typer's layout and fix those three: a parameter shows its metavar only (and says
when it can be given more than once), the command list wraps full descriptions, and a command's
examples keep one command line per line.
"""

from __future__ import annotations

from typing import Any

import typer.core

Formatter = Any  # typer's vendored click HelpFormatter


class Command(typer.core.TyperCommand):
    """A typer command whose help names parameters by metavar and lists its examples verbatim."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS] TASK...`` or ``[OPTIONS] [TASK.json]``: the arguments as the user writes them."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = (param.metavar or (param.name or "").upper()) + ("..." if param.nargs == -1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Formatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, text = record
            if param.param_type_name == "argument":
                # the usage line shows which are required; say only what it cannot
                text = (getattr(param, "help", None) or "") + ("  [one or more]" if param.nargs == -1 else "")
                arguments.append((param.metavar or (param.name or "").upper(), text.strip()))
            else:
                if getattr(param, "multiple", False):
                    text = f"{text}  [repeatable]".strip()
                options.append((name, text))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: Any, formatter: Formatter) -> None:
        if not self.epilog:
            return
        with formatter.section("Examples"):
            for line in self.epilog.strip("\n").splitlines():
                formatter.write(f"{'':>{formatter.current_indent}}{line}\n" if line.strip() else "\n")


class Group(typer.core.TyperGroup):
    """The top-level command list, each command's first paragraph whole (wrapped, never cut)."""

    def format_commands(self, ctx: Any, formatter: Formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            summary = command.short_help or (command.help or "").strip().split("\n\n")[0]
            rows.append((name, " ".join(summary.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
