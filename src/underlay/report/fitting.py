"""Tables that fit the console: no word broken, no column cropped.

Every terminal table of underlay is a :class:`Grid`: a column of row labels (measures,
tenants, factors) and one column per substrate. Rich, left to itself, fits a table that
is too wide by shrinking columns below their longest word and folding it
(``baremetal-dedica`` over ``ted``) or cropping it (``baremetal…``). Here the widths are
shared out before Rich sees the table:

- a column is at least as wide as its longest word (text wraps at blanks only, so a name
  such as ``baremetal-dedicated`` or a figure such as ``$2,037/mo`` is never cut), and a
  name — a substrate's in a header, a tenant's beside its row — stays on one line even
  when it holds blanks;
- when the text does not fit on one line per cell, the widest columns are narrowed first,
  to a common width, so short figures stay on one line;
- when the substrates do not fit side by side even at their narrowest, they are split
  into as few groups of consecutive substrates as fit, of nearly equal size, each printed
  as its own table with the same row labels and a title saying which part it is
  (``Substrates (1 of 2)``). Five substrates at 80 columns read this way.

Only when a single substrate beside the labels is wider than the console (a very narrow
``--width`` or a very long name) are words folded, as the last resort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Grid", "print_grid", "share_widths", "split_evenly"]

_BORDER = 3  # per column: a rule and a blank either side of its text
_Justify = Literal["left", "right"]


@dataclass(frozen=True)
class Grid:
    """A table: ``labels`` (one per row, under the header ``corner``) and value columns
    (``headers``), ``cells[row][column]``; all plain :class:`~rich.text.Text`, styled."""

    title: str
    corner: str
    headers: Sequence[str]
    labels: Sequence[Text]
    cells: Sequence[Sequence[Text]]
    justify: _Justify | Sequence[_Justify] = "right"  # of the value columns (or each's)
    rules: bool = False  # a rule between rows (rows of several lines)
    split: bool = True  # may the value columns go into several tables
    whole: Sequence[str] = ()  # text in the labels never to wrap (the tenants' names)


def _needs(texts: Sequence[str], whole: Sequence[str] = ()) -> tuple[int, int]:
    """(least, natural) width of a column holding ``texts``: its longest word, its longest
    line; at least as wide as each of ``whole`` (a name, never wrapped)."""
    words = [cell_len(w) for t in [*texts, *whole] for w in t.split()]
    words += [cell_len(w) for w in whole]
    lines = [cell_len(line) for t in [*texts, *whole] for line in t.split("\n")]
    return max(words, default=0), max(lines, default=0)


def share_widths(least: Sequence[int], natural: Sequence[int], room: int) -> list[int]:
    """Widths for columns needing at least ``least`` and at most ``natural`` each, within
    ``room`` in all: the natural widths if they fit; else the widest are cut first, to one
    common width (never below a column's least), as Rich shrinks a table but stopping at
    the longest word. Assumes ``sum(least) <= room``."""
    if sum(natural) <= room:
        return list(natural)

    def capped(cap: int) -> list[int]:
        return [min(n, max(w, cap)) for w, n in zip(least, natural, strict=True)]

    low, high = 0, max(natural, default=0)  # the largest cap that fits: bisect
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if sum(capped(mid)) <= room else (low, mid - 1)
    widths = capped(low)
    left = room - sum(widths)  # fewer than the columns still cut: one more each, leftmost
    for i, n in enumerate(natural):
        if left and widths[i] < n:
            widths[i] += 1
            left -= 1
    return widths


def split_evenly(count: int, parts: int) -> list[range]:
    """``range(count)`` as ``parts`` consecutive ranges of nearly equal size, the larger
    first (5 in 2: 0–2, 3–4)."""
    size, extra = divmod(count, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + size + int(k < extra)
        out.append(range(start, stop))
        start = stop
    return out


def _room(columns: int, width: int) -> int:
    """Text width left for ``columns`` value columns and the label column."""
    return width - _BORDER * (columns + 1) - 1


def _plan(needs: list[tuple[int, int]], width: int, split: bool) -> list[range]:
    """The fewest groups of value columns whose narrowest widths fit beside the labels."""
    n = len(needs) - 1

    def fits(cols: range) -> bool:
        return needs[0][0] + sum(needs[j + 1][0] for j in cols) <= _room(len(cols), width)

    for parts in range(1, n + 1) if split and n else [1]:
        chosen = split_evenly(n, parts)
        if all(fits(cols) for cols in chosen):
            return chosen
    return split_evenly(n, n if split and n else 1)  # fits nowhere: folded, last resort


def _widths(needs: list[tuple[int, int]], plan: list[range], width: int) -> list[list[int]]:
    """Per group: the label column's width, then its value columns'. Figures come first:
    when they all fit on one line beside the narrowest labels, the labels get what is
    left; otherwise the label column is narrowed with the others (:func:`share_widths`).
    It is as wide in every group (the narrowest any group allows), so the parts of a split
    table line up."""
    shares = []
    for cols in plan:
        mine = [needs[0], *(needs[j + 1] for j in cols)]
        room = _room(len(cols), width)
        least = [w for w, _ in mine]
        if sum(least) > room:  # the last resort: narrower than a word, folded
            least = [max(1, w * room // sum(least)) for w in least]
        natural = [max(n, w) for (_, n), w in zip(mine, least, strict=True)]
        figures = sum(natural[1:])
        if least[0] + figures <= room:
            label = min(natural[0], room - figures)
        else:
            label = share_widths(least, natural, room)[0]
        shares.append((label, least[1:], natural[1:], room))
    label = min(share[0] for share in shares)
    return [
        [label, *share_widths(least, natural, room - label)] for _, least, natural, room in shares
    ]


def print_grid(console: Console, grid: Grid) -> None:
    """Print ``grid`` within the console's width: one table, or consecutive tables of a
    few substrates each (module docstring)."""
    width = console.width
    needs = [_needs([grid.corner, *(label.plain for label in grid.labels)], grid.whole)]
    for j, header in enumerate(grid.headers):
        needs.append(_needs([row[j].plain for row in grid.cells], [header]))
    plan = _plan(needs, width, grid.split)
    justify = [grid.justify] * len(grid.headers) if isinstance(grid.justify, str) else grid.justify
    for k, (cols, widths) in enumerate(zip(plan, _widths(needs, plan, width), strict=True)):
        title = grid.title if len(plan) == 1 else f"{grid.title} ({k + 1} of {len(plan)})"
        # the title above the table, not in it: Rich would wrap it to the table's width
        console.print(Text(title, style="italic"))
        table = Table(header_style="bold")
        table.add_column(Text(grid.corner), width=widths[0], overflow="fold")
        for j, w in zip(cols, widths[1:], strict=True):
            table.add_column(Text(grid.headers[j]), justify=justify[j], width=w, overflow="fold")
        for label, row in zip(grid.labels, grid.cells, strict=True):
            table.add_row(label, *(row[j] for j in cols), end_section=grid.rules)
        console.print(table)
