"""Golden exports: each bundled example on each Cluster API target (its first substrate
that target is the default of, or the error saying why none can be exported).

The figures in them are checked by hand-derived tests first (test_export_kubelet.py:
the reservations by the defaults' tier rules; test_export_cli.py: max pods, pinning),
then frozen here. Regenerate after an intended change with::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/export/test_export_golden.py

and review the diff of ``tests/golden/export/`` like any other change.
"""

from __future__ import annotations

import os

import pytest
from cases import CAPI, EXAMPLE_NAMES, REPO, first_exported

from underlay.export.manifest import FieldSource, Manifest
from underlay.export.writer import export_files

GOLDEN = REPO / "tests" / "golden" / "export"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def render(example: str, target: str) -> str:
    label, out = first_exported(example, target)
    head = f"# underlay export of examples/{example}.yaml, substrate {label}, target {target}\n"
    if isinstance(out, str):
        return head + f"Error: {out}\n"
    files = export_files(out, [])
    return head + "".join(f"==> {name} <==\n{text}" for name, text in sorted(files.items()))


@pytest.mark.parametrize("target", CAPI)
@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_golden_export(example: str, target: str) -> None:
    path = GOLDEN / f"{example}.{target}.txt"
    text = render(example, target)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _numbers(value: object, path: str = "") -> list[str]:
    """Dotted paths of every number in ``value`` (integers, not booleans)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _numbers(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _numbers(v, f"{path}.{i}")]
    return [path] if isinstance(value, int) and not isinstance(value, bool) else []


def _resolves(body: dict[str, object], source: FieldSource) -> bool:
    node: object = body
    rest = source.path
    while rest:
        if isinstance(node, dict):
            key = next((k for k in node if rest == k or rest.startswith(f"{k}.")), None)
            if key is None:
                return False
            node, rest = node[key], rest[len(key) + 1 :]
        elif isinstance(node, list):
            head, _, rest = rest.partition(".")
            if not head.isdigit() or int(head) >= len(node):
                return False
            node = node[int(head)]
        else:
            return False
    return True


@pytest.mark.parametrize("target", CAPI)
@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_number_names_its_figure(example: str, target: str) -> None:
    _, out = first_exported(example, target)
    if isinstance(out, str):
        pytest.skip(out)
    manifests: list[Manifest] = out
    for m in manifests:
        named = {s.path for s in m.sources}
        missing = [p for p in _numbers(m.body) if p not in named]
        assert missing == [], f"{m.kind} {m.name}: numbers without a figure"
        for s in m.sources:
            assert _resolves(m.body, s), f"{m.kind} {m.name}: {s.path} is not a field"
