"""Tables that never cut what a person needs to copy: paths, class paths, variable names.

On a terminal a table takes the terminal's width and folds a cell that does not fit onto more
lines (never "…"); piped or redirected, where rich would assume 80 columns, it is as wide as its
longest row, so ``agentexec config | grep`` sees every value whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

#: Room a row needs beyond its cells: borders and one space of padding each side of each cell.
_FRAME = 3


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` (plain text, escaped here) under ``columns``."""
    console = Console(highlight=False)
    if not console.is_terminal:
        widths = [max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)]
        console = Console(highlight=False, width=max(len(title), sum(widths) + _FRAME * len(columns) + 1))
    table = Table(title=escape(title), title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
