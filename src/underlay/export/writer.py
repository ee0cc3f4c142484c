"""The export folder: manifests as YAML files, each number with its figure beside it.

:func:`manifest_yaml` lays out one object as block YAML, writing the figure of each
:class:`~underlay.export.manifest.FieldSource` as a comment at the end of its field's
line (a block's key line, for a list or a mapping). :func:`write_export` writes every
file of an export into a temporary folder beside the target and renames it into place,
so the folder appears whole or not at all; an existing non-empty folder is replaced only
with ``force``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from underlay.errors import InputError
from underlay.export.manifest import Manifest

__all__ = ["check_output_folder", "export_files", "manifest_yaml", "write_export"]

# A string written bare: it reads back as the same string (not a number, a boolean,
# null, a date), and holds nothing YAML gives a meaning to.
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_SPECIAL = re.compile(
    r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
    r"null|Null|NULL|~|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|<<)$"
)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and not _SPECIAL.match(text):
        return text
    # double-quoted, with YAML's own escapes (line separators, control characters)
    quoted = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=math.inf)
    return quoted.rstrip("\n")


def _key(key: str) -> str:
    return _scalar(key)


def _lines(value: Any, path: str, indent: int, notes: dict[str, str]) -> Iterator[str]:
    """The block lines of a mapping or list ``value`` at ``path``."""
    pad = " " * indent
    items: list[tuple[str, str, Any]]
    if isinstance(value, dict):
        items = [(f"{pad}{_key(str(k))}:", str(k), v) for k, v in value.items()]
    else:
        items = [(f"{pad}-", str(i), v) for i, v in enumerate(value)]
    for head, key, item in items:
        here = f"{path}.{key}" if path else key
        note = f"  # {notes[here]}" if here in notes else ""
        if isinstance(item, dict | list) and item:
            if isinstance(value, list) and isinstance(item, dict):
                # a mapping in a list: its first key on the dash's line
                inner = list(_lines(item, here, indent + 2, notes))
                yield f"{head} {inner[0].lstrip()}{note}"
                yield from inner[1:]
            else:
                yield f"{head}{note}"
                yield from _lines(item, here, indent + 2, notes)
        else:
            empty = "{}" if isinstance(item, dict) else "[]" if isinstance(item, list) else ""
            text = empty or _scalar(item)
            yield f"{head} {text}{note}"


def manifest_yaml(manifest: Manifest) -> str:
    """``manifest``'s object as block YAML, the figure of each source beside its field."""
    notes = {s.path: s.figure.replace("\n", " ") for s in manifest.sources}
    if not manifest.body:
        return "{}\n"
    return "\n".join(_lines(manifest.body, "", 0, notes)) + "\n"


def export_files(manifests: list[Manifest], header: list[str]) -> dict[str, str]:
    """The text of every file of an export: its objects in order, ``---`` between them,
    each file opening with the ``header`` comment lines."""
    files: dict[str, list[str]] = {}
    for m in manifests:
        files.setdefault(m.file, []).append(manifest_yaml(m))
    top = "".join(f"# {line}\n" for line in header)
    return {name: top + "---\n".join(docs) for name, docs in files.items()}


def check_output_folder(folder: Path, force: bool) -> None:
    """Refuse ``-o`` ``folder`` when it cannot be written: a file, or a folder with files
    in it (unless ``force``), or a parent that does not exist."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"-o {folder}: is a file, expected a folder to write the export to")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise InputError(
            f"-o {folder}: the folder is not empty; choose another one, or add --force to "
            "replace it"
        )
    if not folder.parent.is_dir():
        raise InputError(f"-o {folder}: folder {folder.parent} does not exist")


def _safe(name: str) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"export file {name!r} is not a relative path inside the folder")
    return rel


def write_export(folder: Path, files: dict[str, str], *, force: bool = False) -> None:
    """Write ``files`` (relative path → text) as the folder ``folder``, whole or not at
    all: into a temporary folder beside it, renamed into place at the end (an existing
    folder, empty or, with ``force``, not, is replaced only then)."""
    check_output_folder(folder, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    old: Path | None = None
    try:
        for name, text in files.items():
            path = tmp.joinpath(*_safe(name).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        if folder.exists():
            old = folder.with_name(f"{tmp.name}.old")
            folder.rename(old)
        tmp.rename(folder)
    except OSError as exc:
        if old is not None and not folder.exists():
            with contextlib.suppress(OSError):
                old.rename(folder)  # put the previous export back
                old = None
        raise InputError(f"-o {folder}: cannot write ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
