"""Every common layout of a Kubernetes dump, read into objects by kind.

``--nodes`` and ``--pods`` each take one of:

* a file: JSON or YAML (one document or several separated by ``---``), holding a
  ``List`` / ``NodeList`` / ``PodList`` (``kubectl get … -o json|yaml``), a bare array
  of objects, or one object;
* a folder tree with objects in ``.json`` / ``.yaml`` / ``.yml`` files, one object per file
  or lists (must-gather's ``namespaces/<ns>/core/pods.yaml`` and
  ``cluster-scoped-resources/core/nodes/<node>.yaml``, insights-style
  ``config/node/<node>.json``, sonobuoy's ``resources/cluster/Nodes.json`` and
  ``resources/ns/<ns>/Pods.json``);
* an archive of such a tree (sonobuoy's results ``.tar.gz``, a ``.zip``, ...), read in
  memory with the guards of :mod:`.archives`; or one compressed file (``pods.json.gz``).

In a single file every object must be of the kind asked for (objects without ``kind``,
as old clients write list items, are taken to be).  In a tree, objects are sorted by
their ``kind``; an object without one takes the kind its file or folder is named after
(``Nodes.json``, ``nodes/``, ``pod/`` ...), else it is ignored; objects of other kinds are
ignored and counted; an object seen twice (must-gather has both the list and one file
per pod) is kept once.  A file of a tree that is not JSON or YAML is an error when its
name says it holds wanted objects, and is skipped (and counted) otherwise.  Sonobuoy's
``serverversion.json`` gives the cluster's version.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import yaml

from underlay.errors import TraceError
from underlay.importers.kubectl.archives import (
    Limits,
    TreeFile,
    Walk,
    archive_files,
    archive_kind,
    compressed_file,
    folder_files,
)
from underlay.importers.kubectl.cursor import _At, _json_int, _kind
from underlay.importers.ranges import read_utf8

__all__ = ["KINDS", "Dump", "read_dump"]

KINDS: Final = ("Node", "Pod", "PodDisruptionBudget", "Namespace")
"""The kinds an import reads."""

# Words in a file or folder name that say which kind its objects without `kind` are.
_KIND_WORDS: Final = {
    "node": "Node",
    "nodes": "Node",
    "pod": "Pod",
    "pods": "Pod",
    "poddisruptionbudget": "PodDisruptionBudget",
    "poddisruptionbudgets": "PodDisruptionBudget",
    "pdb": "PodDisruptionBudget",
    "pdbs": "PodDisruptionBudget",
    "namespace": "Namespace",
    "namespaces": "Namespace",
}
_COMMANDS: Final = {
    "Node": "`kubectl get nodes -o json`",
    "Pod": "`kubectl get pods -A -o json`",
    "PodDisruptionBudget": "`kubectl get pdb -A -o json`",
    "Namespace": "`kubectl get namespaces -o json`",
}
_LAYOUTS: Final = (
    "give the output of {command} (JSON or YAML), a folder or archive with one object "
    "per file (must-gather, support archive), or sonobuoy's results tarball"
)


@dataclass
class Dump:
    """The objects read from one ``--nodes`` / ``--pods`` path."""

    path: Path
    objects: dict[str, list[_At]] = field(default_factory=dict)
    """By kind (:data:`KINDS`), each object with its file and JSON path."""
    tree: bool = False
    """A folder or an archive (not a single file)."""
    server_version: str | None = None
    """``gitVersion`` of sonobuoy's ``serverversion.json``, when there is one."""
    notes: list[str] = field(default_factory=list)
    """What was skipped, for the scenario's header."""
    walk: Walk | None = None
    other_kinds: Counter[str] = field(default_factory=Counter)

    def of(self, kind: str) -> list[_At]:
        """The objects of ``kind`` (empty when none)."""
        return self.objects.get(kind, [])

    def require(self, kind: str, option: str) -> list[_At]:
        """The objects of ``kind``; a TraceError saying what to give when there are none."""
        found = self.of(kind)
        if found:
            return found
        noun = {"Node": "nodes", "Pod": "pods"}.get(kind, f"{kind} objects")
        if not self.tree:
            raise TraceError(f"{self.path}: no {noun} in the file")
        walk = self.walk or Walk(self.path)
        read = sum(walk.suffixes.values())
        seen = ", ".join(f"{k} ({n})" for k, n in self.other_kinds.most_common(5)) or "none"
        raise TraceError(
            f"{self.path}: found no {kind} objects in this {_what(self.path)} ({read} JSON/YAML "
            f"files read{f', the first {walk.first}' if walk.first else ''}, "
            f"{walk.other_files} other files skipped, {walk.links} links not "
            f"followed; kinds seen: {seen}): the layout is not recognised; {option}: "
            + _LAYOUTS.format(command=_COMMANDS[kind])
        )


def _what(path: Path) -> str:
    return "folder" if path.is_dir() else "archive"


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases (a dump never has them; they can blow up memory) and
    with timestamps kept as text (as JSON has them)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "an alias (*name): dumps have none", event.start_mark
            )
        return super().compose_node(parent, index)


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """LibYAML's loader (several times faster), for texts without anchors: with no
    ``&`` there can be no alias to guard against."""


_FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_documents(text: str, source: str, *, json_only: bool = False) -> list[_At]:
    """The documents of a JSON or YAML text, each with its place."""
    start = text.lstrip()[:1]
    if not start or start in "{[" or json_only:
        try:
            return [_At(json.loads(text, parse_int=_json_int), "", source)]
        except json.JSONDecodeError as exc:
            hint = " (the file is empty)" if not start else ""
            raise TraceError(
                f"{source}, line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}{hint}"
            ) from None
        except RecursionError:
            raise TraceError(f"{source}: the JSON is nested too deeply") from None
    try:
        loader = _FastLoader if "&" not in text else _Loader
        docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TraceError(f"{source}{where}: neither JSON nor valid YAML: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise TraceError(f"{source}: neither JSON nor valid YAML: {exc}") from None
    if len(docs) == 1:
        return [_At(docs[0], "", source)]
    return [_At(doc, "", f"{source} (document {i + 1})") for i, doc in enumerate(docs)]


def flatten(doc: _At, depth: int = 0) -> Iterator[_At]:
    """The objects of a document: the items of a ``List`` (or ``<Kind>List``, or an object
    with ``items`` and no kind) or of a bare array, else the object itself."""
    value = doc.value
    if isinstance(value, list) and depth < 3:
        for i in range(len(value)):
            yield from flatten(doc.child(i), depth + 1)
        return
    if not isinstance(value, dict):
        raise doc.fail(f"expected an object, a List or an array of objects, got {_kind(value)}")
    kind = value.get("kind")
    listed = kind == "List" or (isinstance(kind, str) and kind.endswith("List"))
    if (listed or (kind is None and "items" in value)) and depth < 3:
        for item in doc.sequence("items"):
            yield from flatten(item, depth + 1)
        return
    yield doc


def _kind_of(obj: _At) -> str | None:
    kind = obj.value.get("kind")
    if kind is None:
        return None
    if not isinstance(kind, str):
        raise obj.child("kind").fail(f"expected a string, got {_kind(kind)}")
    return kind


def read_file(path: Path, kind: str) -> Dump:
    """A single file of ``kind`` objects (objects without a kind are taken to be).

    A file with several kinds (``kubectl get nodes,pods,pdb,namespaces -A -o json``) is
    fine when it holds at least one ``kind``: its objects of :data:`KINDS` are sorted by
    kind and the others counted in the notes.  Without any, the first object of another
    kind is the error (the wrong file was given).
    """
    return _strict(path, read_utf8(path, "a JSON or YAML file"), kind)


def _strict(path: Path, text: str, kind: str) -> Dump:
    dump = Dump(path)
    first_other: tuple[_At, str] | None = None
    for doc in parse_documents(text, str(path)):
        for obj in flatten(doc):
            given = _kind_of(obj) or kind
            if given != kind and first_other is None:
                first_other = obj, given
            if given in KINDS:
                dump.objects.setdefault(given, []).append(obj)
            else:
                dump.other_kinds[given] += 1
    if first_other is not None and not dump.of(kind):
        obj, given = first_other
        raise obj.child("kind").fail(
            f"expected a {kind}, got {given!r} (is this the output of {_COMMANDS.get(kind, kind)}?)"
        )
    if dump.other_kinds:
        seen = ", ".join(f"{k} ({n})" for k, n in dump.other_kinds.most_common())
        dump.notes.append(f"objects of other kinds, ignored: {seen}")
    dump.objects.setdefault(kind, [])
    return dump


def _kind_from_path(inner: PurePosixPath) -> str | None:
    """The kind a file's name or nearest named folder says (``Nodes.json`` → Node)."""
    found = _KIND_WORDS.get(inner.name.rsplit(".", 1)[0].lower())
    if found:
        return found
    for folder in reversed(inner.parent.parts):
        found = _KIND_WORDS.get(folder.lower())
        # must-gather's namespaces/<ns>/ holds every kind: that folder names none
        if found and found != "Namespace":
            return found
    return None


def _identity(kind: str, obj: _At) -> tuple[str, str, str] | None:
    meta = obj.value.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    namespace = meta.get("namespace")
    return kind, namespace if isinstance(namespace, str) else "", meta["name"]


def _tree_documents(file: TreeFile, dump: Dump, named: str | None) -> list[_At]:
    try:
        text = file.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if named is None:
            dump.notes.append(f"skipped {file.source}: not UTF-8 text")
            return []
        line = file.data.count(b"\n", 0, exc.start) + 1
        raise TraceError(f"{file.source}, line {line}: not UTF-8 text ({exc.reason})") from None
    try:
        return parse_documents(text, file.source, json_only=file.inner.suffix == ".json")
    except TraceError as exc:
        if named is None:
            dump.notes.append(f"skipped {file.source}: {str(exc).split(': ', 1)[-1]}")
            return []
        raise


def _read_tree(dump: Dump, files: Iterator[TreeFile]) -> Dump:
    seen: set[tuple[str, str, str]] = set()
    duplicates = 0
    walk = dump.walk
    assert walk is not None
    for file in files:
        walk.suffixes[file.inner.suffix] = walk.suffixes.get(file.inner.suffix, 0) + 1
        named = _kind_from_path(file.inner)
        docs = _tree_documents(file, dump, named)
        if file.inner.name.lower() == "serverversion.json" and docs:
            version = docs[0].value.get("gitVersion") if isinstance(docs[0].value, dict) else None
            dump.server_version = version if isinstance(version, str) else None
            continue
        for doc in docs:
            try:
                objects = list(flatten(doc))
            except TraceError:
                if named is not None:
                    raise
                continue  # some other JSON (a plugin's result, a config): not a dump
            for obj in objects:
                given = obj.value.get("kind")
                kind = (given if isinstance(given, str) else None) or named
                if kind not in KINDS:
                    dump.other_kinds[kind or "no kind"] += 1
                    continue
                identity = _identity(kind, obj)
                if identity is not None and identity in seen:
                    duplicates += 1
                    continue
                if identity is not None:
                    seen.add(identity)
                dump.objects.setdefault(kind, []).append(obj)
    if duplicates:
        dump.notes.append(f"objects found twice in the tree, read once: {duplicates}")
    if walk.links:
        dump.notes.append(f"symbolic or hard links in the tree, not followed: {walk.links}")
    return dump


def read_dump(path: Path, kind: str, *, limits: Limits | None = None) -> Dump:
    """Read ``path`` (a file, a folder or an archive) for objects of ``kind``.

    A file is read strictly (:func:`read_file`); a folder or archive yields every object
    of :data:`KINDS` it holds.  Use :meth:`Dump.require` for the objects wanted.
    """
    limits = limits or Limits()
    if path.is_dir():
        dump = Dump(path, tree=True, walk=Walk(path))
        return _read_tree(dump, folder_files(path, limits, dump.walk))  # type: ignore[arg-type]
    archive = archive_kind(path)
    if archive is None:
        return read_file(path, kind)
    if archive in ("gzip", "bzip2", "xz"):
        data = compressed_file(path, archive, limits)
        if data is not None:
            return _read_compressed(path, data, kind)
    dump = Dump(path, tree=True, walk=Walk(path))
    return _read_tree(dump, archive_files(path, archive, limits, dump.walk))  # type: ignore[arg-type]


def _read_compressed(path: Path, data: bytes, kind: str) -> Dump:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TraceError(f"{path}, line {line}: not UTF-8 text once decompressed") from None
    return _strict(path, text, kind)


_VERSION = re.compile(r"^v?1\.(\d{1,2})(?!\d)")


def minor_version(text: str | None) -> str | None:
    """``"v1.8.4"`` → ``"1.8"``; ``None`` when not a Kubernetes 1.x version."""
    match = _VERSION.match(text or "")
    return f"1.{int(match.group(1))}" if match else None
