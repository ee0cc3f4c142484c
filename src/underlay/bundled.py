"""Files that ship inside the package: the example scenarios and the JSON output's schema.

In the repository they live at the top (``examples/*.yaml``, ``docs/json.md``, where the
README links them); ``src/underlay/examples`` and ``src/underlay/docs`` are symlinks to
those folders, and the wheel copies the files in as package data. So an installed
``underlay`` reads them with ``importlib.resources``, away from any clone, exactly as a
checkout does.

The bundled examples are self-contained: none names a trace file, so writing one out
(``underlay example NAME -o FILE``) gives a scenario that runs anywhere
(``tests/cli/test_cli_package.py`` keeps it so).
"""

from __future__ import annotations

import difflib
from importlib import resources
from importlib.resources.abc import Traversable

from underlay.errors import InputError

__all__ = ["DOCS", "doc_text", "example_summary", "example_text", "examples"]

# Bundled documents by the name ``underlay docs NAME`` takes: (file, what it documents).
DOCS: dict[str, tuple[str, str]] = {
    "json": ("json.md", "the JSON that --json prints (compare, simulate, analyse, recommend)"),
    "results": ("results.md", "the DuckDB results file of sweep and compare --db (tables)"),
}


def _folder(name: str) -> Traversable:
    return resources.files("underlay").joinpath(name)


def examples() -> list[str]:
    """The names of the bundled example scenarios (file stems), sorted."""
    return sorted(
        f.name.removesuffix(".yaml")
        for f in _folder("examples").iterdir()
        if f.name.endswith(".yaml")
    )


def _unknown(what: str, name: str, known: list[str]) -> InputError:
    close = [k for k in known if k.startswith(name)] or difflib.get_close_matches(name, known)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return InputError(f"{what}: unknown {name!r}{hint} (known: {', '.join(known)})")


def example_text(name: str) -> str:
    """The YAML of the bundled example ``name`` (``saas-platform`` or ``saas-platform.yaml``);
    an unknown name is an ``InputError`` listing the known ones."""
    stem = name.removesuffix(".yaml")
    known = examples()
    if stem not in known:
        raise _unknown("example", name, known)
    return _folder("examples").joinpath(f"{stem}.yaml").read_text(encoding="utf-8")


def example_summary(text: str) -> str:
    """The first sentence of an example's opening comment: what it shows, in one line."""
    comment: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    words = " ".join(comment)
    ends = [i for i in (words.find(". "), words.find("? ")) if i >= 0]
    return words[: min(ends) + 1] if ends else words


def doc_text(name: str) -> str:
    """The text of the bundled document ``name`` (a key of ``DOCS``)."""
    if name not in DOCS:
        raise _unknown("docs", name, sorted(DOCS))
    return _folder("docs").joinpath(DOCS[name][0]).read_text(encoding="utf-8")
