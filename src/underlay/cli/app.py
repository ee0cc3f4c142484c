"""The Typer application ``underlay``, its ``import`` group and ``--version``; and
:func:`main`, which reports a bug in one line instead of a traceback.

The verbs register themselves on these applications (``verbs``, ``import_verbs``);
importing ``underlay.cli`` imports them all.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.text import Text

from underlay.cli.help import Group
from underlay.cli.output import err
from underlay.interrupts import interruption

__all__ = ["app", "import_app", "main"]

app = typer.Typer(
    help="Where should your Kubernetes clusters run: bare metal, VMs, or a mix?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},  # the subcommands inherit it
)
import_app = typer.Typer(
    help="Turn real inputs into a scenario file you can edit.", no_args_is_help=True, cls=Group
)
app.add_typer(import_app, name="import")


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"underlay {_version()}\n")
        raise typer.Exit()


def _version() -> str:
    """The installed distribution's version; the source's when run from a checkout."""
    from importlib import metadata

    try:
        return metadata.version("underlay")
    except metadata.PackageNotFoundError:
        from underlay import __version__

        return __version__


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="print the version and exit"
        ),
    ] = False,
) -> None:
    # The group's options; its help is the Typer's, not this function's docstring.
    pass


def main() -> None:
    """Entry point: the app, with unexpected failures reported in one line, not a traceback
    (set UNDERLAY_DEBUG=1 to see it)."""
    try:
        app()
    except Exception as exc:  # a bug in underlay, not bad input: those are UnderlayError
        signal = interruption(exc)
        if signal is not None:  # a Ctrl-C that a library turned into its own error
            raise signal from None
        if os.environ.get("UNDERLAY_DEBUG"):
            raise
        err.print(
            Text.assemble(
                ("Internal error:", "bold red"),
                f" {type(exc).__name__}: {exc}\nThis is a bug in underlay. Rerun with "
                "UNDERLAY_DEBUG=1 for the traceback and report it with the scenario file.",
            ),
            highlight=False,
        )
        sys.exit(1)
