"""Trace files named by a scenario: resolved from the scenario's folder, checked when the
file is read (they exist, they are files, they lie in that folder's tree unless the
caller allows other paths), each problem naming the scenario's file, line and field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.errors import ScenarioError
from underlay.model.loading import load_scenario, parse_scenario

TRACE = "series,time_s,cpu_cores,memory_mib\na,0,1,100\na,300,2,200\n"


def write_scenario(folder: Path, trace: str, *, model: str = "trace") -> Path:
    """A scenario in ``folder`` whose one workload replays ``trace``."""
    usage = {"model": model, "trace": trace}
    work = make_workload("w", replicas=1, cpu="1", memory="1Gi", usage=usage)
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", workloads=[work])],
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def trace_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith("trace:"))


def refusal(path: Path, **kw: bool) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)
    message = str(info.value)
    field = "tenants[0].workloads[0].usage.trace"
    assert message.startswith(f"{path}: line {trace_line(path)}: {field}: "), message
    assert len(message.splitlines()) == 1
    return message


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/project/{scenario.yaml, traces/usage.csv}, tmp/elsewhere/usage.csv."""
    (tmp_path / "project" / "traces").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for where in ("project/usage.csv", "project/traces/usage.csv", "elsewhere/usage.csv"):
        (tmp_path / where).write_text(TRACE, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name", ["usage.csv", "traces/usage.csv", "./traces/../usage.csv"])
def test_traces_in_the_scenarios_tree_load(layout: Path, name: str) -> None:
    sc = load_scenario(write_scenario(layout / "project", name))
    assert sc.base_dir == (layout / "project").resolve()


def test_an_absolute_path_inside_the_tree_loads(layout: Path) -> None:
    inside = (layout / "project" / "traces" / "usage.csv").resolve()
    load_scenario(write_scenario(layout / "project", str(inside)))


def test_relative_paths_resolve_from_the_scenario_not_the_current_folder(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_scenario(layout / "project", "traces/usage.csv")
    monkeypatch.chdir(layout / "elsewhere")  # has a usage.csv, but no traces/
    sc = load_scenario(Path(os.path.relpath(path, layout / "elsewhere")))
    assert sc.base_dir == (layout / "project").resolve()


@pytest.mark.parametrize(
    "name",
    ["../elsewhere/usage.csv", "traces/../../elsewhere/usage.csv", "ABSOLUTE"],
    ids=["dot-dot", "dot-dot inside", "absolute"],
)
def test_paths_outside_the_tree_are_refused_unless_allowed(layout: Path, name: str) -> None:
    outside = (layout / "elsewhere" / "usage.csv").resolve()
    path = write_scenario(layout / "project", str(outside) if name == "ABSOLUTE" else name)
    message = refusal(path)
    assert f"is outside the scenario's folder {(layout / 'project').resolve()}" in message
    assert "--allow-paths" in message
    load_scenario(path, allow_paths=True)


def test_a_link_inside_the_tree_to_a_file_outside_is_refused(layout: Path) -> None:
    link = layout / "project" / "link.csv"
    link.symlink_to(layout / "elsewhere" / "usage.csv")
    message = refusal(write_scenario(layout / "project", "link.csv"))
    assert "'link.csv' is outside the scenario's folder" in message
    load_scenario(layout / "project" / "scenario.yaml", allow_paths=True)


def test_a_linked_folder_leading_outside_is_refused(layout: Path) -> None:
    (layout / "project" / "data").symlink_to(layout / "elsewhere", target_is_directory=True)
    refusal(write_scenario(layout / "project", "data/usage.csv"))


def test_a_link_that_stays_inside_is_fine(layout: Path) -> None:
    (layout / "project" / "link.csv").symlink_to(layout / "project" / "traces" / "usage.csv")
    load_scenario(write_scenario(layout / "project", "link.csv"))


def test_a_missing_trace_names_the_trace_and_the_scenario_line(layout: Path) -> None:
    path = write_scenario(layout / "project", "traces/nope.csv")
    message = refusal(path)
    looked = (layout / "project" / "traces" / "nope.csv").resolve()
    assert message.endswith(f"no such trace file 'traces/nope.csv' (looked for {looked})")


def test_a_missing_trace_outside_is_refused_for_being_outside_first(layout: Path) -> None:
    # Nothing is said about files outside the tree, not even whether they exist.
    message = refusal(write_scenario(layout / "project", "../elsewhere/nope.csv"))
    assert "outside" in message and "no such" not in message
    message = refusal(layout / "project" / "scenario.yaml", allow_paths=True)
    assert "no such trace file '../elsewhere/nope.csv'" in message


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("traces", "'traces' is a directory, expected a trace CSV file"),
        ("a\x00b.csv", "is not a usable file name"),
        ("x" * 5000 + ".csv", "is not a usable file name"),
    ],
    ids=["directory", "NUL in the name", "name too long"],
)
def test_unusable_trace_paths(layout: Path, name: str, needle: str) -> None:
    message = refusal(write_scenario(layout / "project", name))
    assert needle in message
    assert len(message) < 600


def test_special_files_are_not_traces(layout: Path) -> None:
    os.mkfifo(layout / "project" / "pipe.csv")  # reading it would block forever
    message = refusal(write_scenario(layout / "project", "pipe.csv"))
    assert "'pipe.csv' is not a regular file" in message


def test_only_traces_that_will_be_read_are_checked(layout: Path) -> None:
    # A constant usage model never opens the file its `trace:` names.
    load_scenario(write_scenario(layout / "project", "../../etc/passwd", model="constant"))


def test_shorthand_and_explicit_clusters_both_point_at_the_line(layout: Path) -> None:
    usage = {"model": "trace", "trace": "nope.csv"}
    cluster = {"name": "c", "workloads": [make_workload("w", usage=usage)]}
    data = scenario_dict(tenants=[make_tenant("t", clusters=[cluster])])
    path = layout / "project" / "clusters.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    where = f"line {trace_line(path)}: tenants[0].clusters[0].workloads[0].usage.trace"
    assert where in str(info.value)


def test_parse_scenario_checks_only_with_a_folder(layout: Path) -> None:
    text = (write_scenario(layout / "project", "nope.csv")).read_text(encoding="utf-8")
    parse_scenario(text)  # text alone: nothing to resolve against
    with pytest.raises(ScenarioError, match="no such trace file"):
        parse_scenario(text, base_dir=layout / "project")


def test_retarget_traces_renames_relative_paths_for_the_new_folder(tmp_path: Path) -> None:
    # A scenario in a/ names a/usage.csv as "usage.csv"; a file made from it in b/ must
    # name the same file "../a/usage.csv"; absolute paths stay as they are.
    from underlay.model.traces import retarget_traces

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    data = {
        "tenants": [
            {"workloads": [{"usage": {"trace": "usage.csv"}}, {"usage": {"trace": "/abs/x.csv"}}]}
        ]
    }
    outside = retarget_traces(data, tmp_path / "a", tmp_path / "b")
    workloads = data["tenants"][0]["workloads"]
    assert workloads[0]["usage"]["trace"] == str(Path("..") / "a" / "usage.csv")
    assert workloads[1]["usage"]["trace"] == "/abs/x.csv"
    assert outside  # the file now lies outside b/
    same = {"trace": "usage.csv"}
    assert not retarget_traces(same, tmp_path / "a", tmp_path / "a")
    assert same == {"trace": "usage.csv"}
