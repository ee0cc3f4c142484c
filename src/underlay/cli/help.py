"""How ``underlay --help`` reads: placeholders a user understands, not Python type names.

Typer puts each parameter's Python type beside it (``--json <bool>``, ``SCENARIO
<path>``). Here every option that takes a value declares its own metavar (``--seed SEED``,
``--output FILE``, ``--trials N``; in ``options.py`` and the verbs); the two kinds Typer
gives no say over are handled by these command classes: a flag (``--json``, ``--help``,
``--version``) takes no value, so it shows none, and a positional argument shows its name
in capitals (``SCENARIO``), whose help says what it is. ``tests/cli/test_cli_package.py`` runs every
command's ``--help`` and refuses any ``<type>`` left.

A command's docstring is a one-sentence summary (the command list shows it, so it must fit
one line of an 80-column terminal), a blank line, then more; each paragraph is rewrapped to
the terminal (Rich would keep the docstring's own line breaks).
"""

from __future__ import annotations

import inspect
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["Command", "Group"]


def _unwrapped(text: str | None) -> str | None:
    """Each paragraph of a docstring on one line (the terminal wraps it)."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _no_type(ctx: Any) -> None:
    return None


def _readable(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # shown as is: nothing
        elif isinstance(param, TyperArgument):
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()
            # Typer shows an argument's type even beside its metavar; the instance's own
            # method wins over the class's (older Typer has no such method: harmless).
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


class Command(TyperCommand):
    """A Typer command whose help shows metavars, never Python types."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _unwrapped(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, made to read as ``_readable`` says."""
        return _readable(super().get_params(ctx))


class Group(TyperGroup):
    """A Typer group (``underlay``, ``underlay import``) whose help reads like ``Command``'s."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, made to read as ``_readable`` says."""
        return _readable(super().get_params(ctx))
