"""The export writer: YAML that reads back as the objects, each figure on its field's
line, and a folder that appears whole or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from underlay.errors import InputError
from underlay.export.manifest import FieldSource, Manifest
from underlay.export.writer import export_files, manifest_yaml, write_export

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
keys = st.text(min_size=1, max_size=8)
bodies = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
).filter(lambda v: isinstance(v, dict))


@given(bodies)
@example({"a": "yes", "b": "1.33", "c": "- x", "d": "x: y", "e": "a\u2028b", "f": ""})
@example({"n": [{"k": [], "v": {}}, [1, [2]]]})
@example({})
def test_yaml_reads_back_as_the_object(body: dict[str, Any]) -> None:
    assert yaml.safe_load(manifest_yaml(Manifest(body, "f.yaml"))) == body


def test_each_figure_is_on_its_fields_line() -> None:
    body = {
        "spec": {
            "replicas": 3,
            "args": [{"name": "max-pods", "value": "110"}],
            "devices": {"gpus": [{"name": "gpu0"}]},
        }
    }
    sources = (
        FieldSource("spec.replicas", "three (rule A)"),
        FieldSource("spec.args.0.value", "max pods (rule B)"),
        FieldSource("spec.devices.gpus", "one GPU (rule C)"),
    )
    lines = manifest_yaml(Manifest(body, "f.yaml", sources)).splitlines()
    assert "  replicas: 3  # three (rule A)" in lines
    assert '      value: "110"  # max pods (rule B)' in lines
    assert "    gpus:  # one GPU (rule C)" in lines
    assert sum("#" in line for line in lines) == 3


def test_files_hold_their_objects_in_order_with_the_header() -> None:
    a = Manifest({"kind": "A"}, "x/one.yaml")
    b = Manifest({"kind": "B"}, "x/one.yaml")
    c = Manifest({"kind": "C"}, "two.yaml")
    files = export_files([a, b, c], ["made by a test"])
    assert list(files) == ["x/one.yaml", "two.yaml"]
    assert files["x/one.yaml"].startswith("# made by a test\n")
    assert [d["kind"] for d in yaml.safe_load_all(files["x/one.yaml"])] == ["A", "B"]


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def test_the_folder_appears_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_export(out, {"a/b.yaml": "x: 1\n", "c.yaml": "y: 2\n"})
    assert (out / "a" / "b.yaml").read_text() == "x: 1\n"
    assert _leftovers(tmp_path) == ["out"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # "a" is written as a file, then needed as a folder: the write fails half-way
    with pytest.raises(InputError, match="cannot write"):
        write_export(out, {"a": "x\n", "a/b.yaml": "y\n"})
    assert _leftovers(tmp_path) == []


def test_a_non_empty_folder_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match=r"not empty.*--force"):
        write_export(out, {"c.yaml": "y: 2\n"})
    assert _leftovers(out) == ["mine.txt"]
    write_export(out, {"c.yaml": "y: 2\n"}, force=True)
    assert _leftovers(out) == ["c.yaml"]
    assert _leftovers(tmp_path) == ["out"]


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_export(tmp_path / "out", {"c.yaml": ""})
