"""Terminal tables fitted to the console (issue 10): no line wider than the console, no
word broken, substrates split into groups only when they do not fit side by side."""

from __future__ import annotations

import io
import re
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from underlay.report.fitting import Grid, print_grid, share_widths, split_evenly

_BOX = re.compile(r"[\s│┃┏┓┗┛┡┩┠┨━─┳┻╇╈┼├┤└┘┌┐┬┴]+")


def _render(grid: Grid, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_grid(console, grid)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def _words(text: str) -> Counter[str]:
    return Counter(w for w in _BOX.split(text) if w)


def _grid(labels: list[str], headers: list[str], cells: list[list[str]], **kw: object) -> Grid:
    return Grid(
        "Title",
        "",
        headers,
        [Text(x) for x in labels],
        [[Text(c) for c in row] for row in cells],
        **kw,  # type: ignore[arg-type]
    )


def test_split_evenly_makes_consecutive_groups_larger_first() -> None:
    assert split_evenly(5, 1) == [range(5)]
    assert split_evenly(5, 2) == [range(0, 3), range(3, 5)]
    assert split_evenly(5, 3) == [range(0, 2), range(2, 4), range(4, 5)]
    assert split_evenly(4, 4) == [range(i, i + 1) for i in range(4)]


def test_share_widths_gives_the_natural_widths_when_they_fit() -> None:
    assert share_widths([3, 4], [10, 12], 30) == [10, 12]


def test_share_widths_cuts_the_widest_columns_first_never_below_a_word() -> None:
    # 30 wanted in 20: the widest (20) is cut to 10, as wide as the next one
    assert share_widths([5, 5], [20, 10], 20) == [10, 10]
    # 36 wanted in 20: the 20 and the 12 are cut to a common 8, the 4 keeps its line:
    # 4 + 8 + 8 = 20
    assert share_widths([2, 2, 2], [4, 20, 12], 20) == [4, 8, 8]
    # a long word is never cut: the column holding it keeps 15, so the common width is 2
    # (3 would need 15 + 3 + 3 = 21); the one column left goes to the leftmost cut column
    assert share_widths([15, 2, 2], [30, 10, 10], 20) == [16, 2, 2]


def test_five_long_names_at_80_columns_split_into_groups_with_every_name_whole() -> None:
    names = ["baremetal-dedicated", "baremetal-shared", "vm", "vm-by-requests", "sandboxed"]
    labels = ["cost USD / month, power at the simulated load", "stranded mostly by"]
    cells = [["8,705", "3,618", "8,385", "2,678", "3,698"], ["dedicated hosts"] + ["x"] * 4]
    out = _render(_grid(labels, names, cells), 80)
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    assert "Title (1 of 2)" in out and "Title (2 of 2)" in out
    words = _words(out)
    for name in names:
        assert words[name] == 1, name
    # the label column is as wide in both tables, so they line up
    tops = [line for line in out.splitlines() if line.startswith("┏")]
    assert len(tops) == 2 and tops[0].index("┳") == tops[1].index("┳")


def test_a_grid_that_fits_is_one_table_at_its_natural_widths() -> None:
    out = _render(_grid(["hosts"], ["a", "b"], [["1", "2"]]), 120)
    assert "(1 of" not in out
    assert max(cell_len(line) for line in out.splitlines()) < 40


def test_a_tenant_name_with_blanks_stays_on_one_line() -> None:
    name = "ACME | Corp and Sons"
    grid = _grid([f"{name}\nuntrusted"], ["vm"], [["$1/mo"]], whole=[name])
    out = _render(grid, 40)
    assert any(name in line for line in out.splitlines())


_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-$,./%×", min_size=1, max_size=14)
_cell = st.lists(_word, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=80, deadline=None)
@given(
    names=st.lists(
        st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=22),
        min_size=1,
        max_size=7,
        unique=True,
    ),
    labels=st.lists(_cell, min_size=1, max_size=5),
    data=st.data(),
    width=st.integers(60, 160),
)
@example(
    names=["baremetal-dedicated", "baremetal-shared", "vm", "vm-by-requests", "sandboxed"],
    labels=["control planes clusters by mode", "stranded mostly by"],
    data=None,
    width=80,
)
def test_no_line_is_wider_than_the_console_and_no_word_is_broken(
    names: list[str], labels: list[str], data: st.DataObject | None, width: int
) -> None:
    if data is None:  # the example: the figures of the 80-column report
        cells = [["1 hosted, 3 stacked"] * len(names), ["host fragmentation"] * len(names)]
    else:
        cells = [
            data.draw(st.lists(_cell, min_size=len(names), max_size=len(names))) for _ in labels
        ]
    out = _render(_grid(labels, names, cells), width)
    assert max(cell_len(line) for line in out.splitlines()) <= width
    shown = _words(out)
    wanted = _words(" ".join([*names, *labels, *(c for row in cells for c in row)]))
    for word, count in wanted.items():
        assert shown[word] >= count, (word, out)
