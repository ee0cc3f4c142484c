"""Where the command line's words go: ``Error:`` lines and notes on stderr, tables laid out
for the terminal or a file, and files written whole.

A file is written through a temporary file beside it and renamed into place, so no
half-written file is ever left, whatever stops the write (a full disk, Ctrl-C, SIGTERM:
``underlay.entry``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from underlay.errors import UnderlayError
from underlay.files import write_atomically

__all__ = [
    "PIPE_WIDTH",
    "WIDTHS",
    "console_for",
    "err",
    "fail",
    "note",
    "write_atomically",
    "write_output",
]

err = Console(stderr=True)
# Tables are laid out for this many columns when stdout is not a terminal and $COLUMNS is
# not set (a file, a pipe, a CI log): wide enough for five substrates side by side.
PIPE_WIDTH = 100
# The columns --width may ask for, least and most.
WIDTHS = (40, 1000)


def fail(exc: UnderlayError) -> typer.Exit:
    """Print ``Error: message`` on stderr; the exit to raise, with the error's exit code."""
    # The message quotes user input (file names, tenant names): plain text, never markup.
    err.print(Text.assemble(("Error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def note(text: str) -> None:
    """A line for the user on stderr (``Wrote FILE …``), as plain text, never markup."""
    err.print(Text(text), highlight=False)


def write_output(path: Path, text: str) -> None:
    """``write_atomically``, its failure (disk full, no permission) reported like bad input."""
    try:
        write_atomically(path, text)
    except UnderlayError as exc:
        raise fail(exc) from None


def _pipe_width() -> int:
    """Columns to lay tables out for when the output is not a terminal: $COLUMNS (kept
    within the range of --width), else ``PIPE_WIDTH``."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit():
        return min(max(int(columns), WIDTHS[0]), WIDTHS[1])
    return PIPE_WIDTH


def console_for(output: Path | None, width: int | None) -> Console:
    """Where the tables go: recorded for ``output`` when there is one, else stdout; laid out
    for ``width`` (--width), else the terminal's width, else (a file, a pipe)
    ``_pipe_width()``."""
    if output is not None:
        return Console(record=True, width=width or _pipe_width(), file=io.StringIO())
    if width is not None:
        return Console(width=width)
    console = Console()
    return console if console.is_terminal else Console(width=_pipe_width())
