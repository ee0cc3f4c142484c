"""Loading scenario files: every bad input is one ScenarioError naming file, line and field."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from factories import (
    MINIMAL_SCENARIO_YAML,
    make_tenant,
    make_workload,
    scenario_dict,
    scenario_yaml,
)
from underlay.errors import InputError, ScenarioError, UnderlayError
from underlay.model.loading import load_scenario, parse_scenario
from underlay.model.scenario import Scenario

WriteYaml = Callable[..., Path]

# Line numbers below refer to this file (1-based).
BASE = MINIMAL_SCENARIO_YAML
#  1 name: t
#  2 hardware:
#  3   host_models:
#  4     - name: std
#  5       cores: 64
#  6       memory: 256Gi
#  7 tenants:
#  8   - name: a
#  9     workloads:
# 10       - name: w
# 11         replicas: 3
# 12         requests: {cpu: "1", memory: 1Gi}

REQUESTS = 'requests: {cpu: "1", memory: 1Gi}'


def _error(write_yaml: WriteYaml, text: str) -> tuple[str, Path]:
    path = write_yaml(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value), path


def test_base_file_loads(write_yaml: WriteYaml) -> None:
    sc = load_scenario(write_yaml(BASE))
    assert isinstance(sc, Scenario)
    w = sc.tenants[0].clusters[0].workloads[0]
    assert (w.replicas, w.requests.cpu_milli, w.requests.memory_mib) == (3, 1000, 1024)
    # The shorthand makes one cluster named after the tenant.
    assert sc.tenants[0].clusters[0].name == "a"


# (case id, edit of BASE, expected line, substrings the one message must contain)
CASES: list[tuple[str, Callable[[str], str], int | None, list[str]]] = [
    (
        "unknown key with did-you-mean",
        lambda b: b.replace("replicas: 3", "replicas: 3\n        replica: 2"),
        12,
        ["tenants[0].workloads[0].replica", "unknown key 'replica'", "did you mean 'replicas'"],
    ),
    (
        "top-level typo",
        lambda b: b.replace("name: t\n", "name: t\ntenant: []\n", 1),
        2,
        ["tenant:", "did you mean 'tenants'"],
    ),
    (
        "misspelt host model field",
        lambda b: b.replace("cores: 64", "coers: 64"),
        5,
        ["hardware.host_models[0].coers", "did you mean 'cores'"],
    ),
    (
        "negative replicas",
        lambda b: b.replace("replicas: 3", "replicas: -1"),
        11,
        ["tenants[0].workloads[0].replicas", "greater than or equal to 0", "-1"],
    ),
    (
        "absurd cpu",
        lambda b: b.replace('cpu: "1"', "cpu: 100000"),
        12,
        ["tenants[0].workloads[0].requests.cpu", "100000", "4096 cores", "unit"],
    ),
    (
        "absurd memory",
        lambda b: b.replace("memory: 1Gi}", "memory: 100Ti}"),
        12,
        ["tenants[0].workloads[0].requests.memory", "100Ti", "64Ti"],
    ),
    (
        "memory without unit",
        lambda b: b.replace("memory: 1Gi}", "memory: 1024}"),
        12,
        ["tenants[0].workloads[0].requests.memory", "no unit", "Gi"],
    ),
    (
        "host memory without unit",
        lambda b: b.replace("memory: 256Gi", "memory: 256"),
        6,
        ["hardware.host_models[0].memory", "no unit"],
    ),
    (
        "not a quantity",
        lambda b: b.replace('cpu: "1"', 'cpu: "1x"'),
        12,
        ["tenants[0].workloads[0].requests.cpu", "'1x' is not a Kubernetes quantity"],
    ),
    (
        "negative cpu",
        lambda b: b.replace('cpu: "1"', 'cpu: "-1"'),
        12,
        ["tenants[0].workloads[0].requests.cpu", "negative"],
    ),
    (
        "limits below requests",
        lambda b: b.replace(REQUESTS, REQUESTS + "\n        limits: {cpu: 500m}"),
        10,
        ["tenants[0].workloads[0]", "limits.cpu is below requests.cpu"],
    ),
    (
        "memory limit below request",
        lambda b: b.replace(REQUESTS, REQUESTS + "\n        limits: {memory: 512Mi}"),
        10,
        ["tenants[0].workloads[0]", "limits.memory is below requests.memory"],
    ),
    (
        "duplicate tenant names",
        lambda b: b + "  - name: a\n    workloads: []\n",
        None,
        ["tenant name 'a' appears twice"],
    ),
    (
        "GPU model not on any host",
        lambda b: b.replace(REQUESTS, REQUESTS + "\n        gpu: {count: 1, models: [h100]}"),
        None,
        ["'h100'", "no host model has GPU model"],
    ),
    (
        "unknown inventory model",
        lambda b: b.replace(
            "memory: 256Gi", "memory: 256Gi\n  inventory:\n    - {model: nope, count: 2}"
        ),
        None,
        ["hardware", "no host model is called 'nope'", "std"],
    ),
    (
        "unknown substrate kind",
        lambda b: b + "substrates:\n  - kind: vmware\n",
        14,
        ["substrates[0]", "vmware"],
    ),
    (
        "unknown strategy",
        lambda b: b + "placement: {strategy: worst-fit}\n",
        13,
        ["placement.strategy", "worst-fit"],
    ),
    (
        "misspelt strategy",
        lambda b: b + "placement:\n  strategy: best-fitt\n",
        14,
        ["placement.strategy", "unknown strategy 'best-fitt'", "did you mean 'best-fit'?"],
    ),
    (
        "misspelt score plugin weight",
        lambda b: b + "placement:\n  weights:\n    MostAlocated: 2\n",
        15,
        ["placement.weights.MostAlocated", "did you mean 'MostAllocated'?"],
    ),
    (
        "plugin arguments for an unknown plugin",
        lambda b: b + "placement:\n  args:\n    NodeResourceFit: {headroom_percent: 10}\n",
        15,
        ["placement.args.NodeResourceFit", "did you mean 'NodeResourcesFit'?"],
    ),
    (
        "unknown plugin argument",
        lambda b: b + "placement:\n  args:\n    NodeResourcesFit: {headroom_percnt: 10}\n",
        15,
        ["placement.args.NodeResourcesFit", "unknown argument 'headroom_percnt'"],
    ),
    (
        "plugin argument out of range",
        lambda b: b + "placement:\n  args:\n    NodeResourcesFit: {headroom_percent: 95}\n",
        15,
        ["placement.args.NodeResourcesFit", "headroom_percent must be 0 to 90 (got 95)"],
    ),
    (
        "arguments for a plugin that takes none",
        lambda b: b + "placement:\n  args:\n    PodSlots: {x: 1}\n",
        15,
        ["placement.args.PodSlots", "takes no arguments"],
    ),
    (
        "missing required field",
        lambda b: b.replace("        replicas: 3\n", ""),
        10,
        ["tenants[0].workloads[0].replicas", "required field is missing"],
    ),
    (
        "bad kubernetes version",
        lambda b: b.replace("  - name: a\n", '  - name: a\n    kubernetes_version: "2.0"\n'),
        9,
        ["tenants[0].kubernetes_version"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "line", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_field_gives_one_clear_error(
    write_yaml: WriteYaml,
    edit: Callable[[str], str],
    line: int | None,
    needles: list[str],
) -> None:
    message, path = _error(write_yaml, edit(BASE))
    assert message.startswith(f"{path}: ")
    assert "line " in message
    if line is not None:
        assert f"line {line}:" in message
    for needle in needles:
        assert needle in message
    assert "Traceback" not in message
    assert "pydantic" not in message.lower()  # no library internals or URLs
    assert "errors.pydantic.dev" not in message


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("name: t\nhardware: [\n", ["line 3", "column 1", "malformed YAML"]),
        ("name: t\n  bad: indent\n", ["line 2", "malformed YAML"]),
        ('name: "unterminated\n', ["malformed YAML"]),
        ("", ["the file is empty"]),
        ("   \n\n", ["the file is empty"]),
        ("# only a comment\n", ["expected a mapping", "nothing"]),
        ("- a\n- b\n", ["expected a mapping", "list"]),
        ("just a string\n", ["expected a mapping", "str"]),
        ("42\n", ["expected a mapping", "int"]),
    ],
    ids=[
        "unclosed flow",
        "bad indent",
        "unterminated string",
        "empty",
        "blank",
        "comment only",
        "top-level list",
        "top-level string",
        "top-level number",
    ],
)
def test_unusable_files(write_yaml: WriteYaml, text: str, needles: list[str]) -> None:
    message, path = _error(write_yaml, text)
    assert message.startswith(f"{path}: ")
    for needle in needles:
        assert needle in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)


def test_scenario_error_is_an_input_error_with_exit_code_2() -> None:
    assert issubclass(ScenarioError, InputError)
    assert issubclass(InputError, UnderlayError)
    assert ScenarioError.exit_code == 2


def test_several_problems_are_listed_in_one_error(write_yaml: WriteYaml) -> None:
    text = BASE.replace("replicas: 3", "replicas: -1").replace("cores: 64", "cores: lots")
    message, _ = _error(write_yaml, text)
    lines = message.splitlines()
    assert len(lines) == 2
    assert any("hardware.host_models[0].cores" in m and "line 5" in m for m in lines)
    assert any("tenants[0].workloads[0].replicas" in m and "line 11" in m for m in lines)


def test_more_than_eight_problems_are_summarised() -> None:
    tenants = [make_tenant(f"t{i}", workloads=[make_workload(replicas=-1)]) for i in range(12)]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_yaml(tenants=tenants), source="many.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 9
    assert lines[-1] == "... and 4 more problems"


def test_unknown_key_lists_known_keys_when_nothing_is_close() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_yaml(zzzzzz=1), source="s.yaml")
    message = str(info.value)
    assert "unknown key 'zzzzzz'" in message
    assert "known:" in message and "tenants" in message


def test_unknown_key_in_substrate_suggests_from_every_substrate() -> None:
    yaml_text = scenario_yaml(substrates=[{"kind": "vm", "hypervisr": "kvm"}])
    with pytest.raises(ScenarioError, match="did you mean 'hypervisor'"):
        parse_scenario(yaml_text, source="s.yaml")


def test_parse_scenario_names_its_source() -> None:
    with pytest.raises(ScenarioError, match=r"^inline\.yaml: "):
        parse_scenario("- 1\n", source="inline.yaml")


# ----------------------------------------------------------- the tenant shorthand

SHORTHAND = textwrap.dedent(
    """\
    name: t
    hardware:
      host_models: [{name: std, cores: 64, memory: 256Gi}]
    tenants:
      - name: ok
        workloads:
          - {name: w, replicas: 1, requests: {cpu: "1", memory: 1Gi}}
      - name: b
        control_plane: hosted
        max_pods: {per_node: 250, pod_cidr_prefix: 23}
        workloads:
          - name: api
            replicas: 2
            requests: {cpu: "1", memory: 1Gi}
          - name: db
            replicas: 2
            requests: {cpu: "1", memory: 1Gi}
    """
)
#  4 tenants:
#  8   - name: b
#  9     control_plane: hosted
# 10     max_pods: {per_node: 250, pod_cidr_prefix: 23}
# 11     workloads:
# 12       - name: api
# 13         replicas: 2
# 14         requests: ...
# 15       - name: db
# 16         replicas: 2
# 17         requests: ...


def test_shorthand_moves_cluster_settings_into_the_cluster() -> None:
    sc = parse_scenario(SHORTHAND, source="s.yaml")
    (cluster,) = sc.tenants[1].clusters
    assert cluster.name == "b"
    assert cluster.control_plane == "hosted"
    assert cluster.max_pods.per_node == 250
    assert [w.name for w in cluster.workloads] == ["api", "db"]


@pytest.mark.parametrize(
    ("old", "new", "line", "path"),
    [
        (
            "    - name: db\n        replicas: 2",
            "    - name: db\n        replicas: -2",
            16,
            "tenants[1].workloads[1].replicas",
        ),
        (
            "name: api\n        replicas: 2",
            "name: api\n        replicas: 2\n        replics: 1",
            14,
            "tenants[1].workloads[0].replics",
        ),
        (
            "max_pods: {per_node: 250, pod_cidr_prefix: 23}",
            "max_pods: {per_node: 0}",
            10,
            "tenants[1].max_pods.per_node",
        ),
        ("control_plane: hosted", "control_plane: shared", 9, "tenants[1].control_plane"),
    ],
    ids=["replicas", "typo", "max_pods", "control_plane"],
)
def test_shorthand_errors_point_at_the_line_as_written(
    old: str, new: str, line: int, path: str
) -> None:
    # After validation the workloads live in tenants[1].clusters[0]; the file has no
    # `clusters:`, so the error must point at tenants[1]... as written.
    text = SHORTHAND.replace(old, new)
    assert text != SHORTHAND
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.yaml")
    message = str(info.value)
    assert f"s.yaml: line {line}: {path}:" in message
    assert "clusters[0]" not in message


def test_shorthand_duplicate_workload_names() -> None:
    text = SHORTHAND.replace("name: db", "name: api")
    with pytest.raises(ScenarioError, match="workload name 'api' appears twice") as info:
        parse_scenario(text, source="s.yaml")
    assert "tenants[1]" in str(info.value)
    assert "clusters[0]" not in str(info.value)


def test_explicit_clusters_keep_their_path() -> None:
    tenant = make_tenant("x", clusters=[{"name": "c", "workloads": [make_workload(replicas=-5)]}])
    with pytest.raises(ScenarioError, match=r"tenants\[0\]\.clusters\[0\]\.workloads\[0\]"):
        parse_scenario(scenario_yaml(tenants=[tenant]), source="s.yaml")


# ------------------------------------------- precise locations (currently imprecise)

PRECISE = [
    (
        "duplicate tenant names",
        BASE + "  - name: a\n    workloads: []\n",
        # line 13 is the second `- name: a`
        ("line 13", "tenants[1].name"),
    ),
    (
        "GPU model not on any host",
        BASE.replace(REQUESTS, REQUESTS + "\n        gpu: {count: 1, models: [h100]}"),
        # line 13 is the `gpu:` line of the workload
        ("line 13", "tenants[0].workloads[0].gpu.models"),
    ),
    (
        "unknown inventory model",
        BASE.replace("memory: 256Gi", "memory: 256Gi\n  inventory:\n    - {model: nope, count: 2}"),
        # line 8 is `- {model: nope, count: 2}`
        ("line 8", "hardware.inventory[0].model"),
    ),
]


@pytest.mark.parametrize(("text", "needles"), [c[1:] for c in PRECISE], ids=[c[0] for c in PRECISE])
def test_cross_field_errors_point_at_the_offending_field(
    text: str, needles: tuple[str, str]
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.yaml")
    for needle in needles:
        assert needle in str(info.value)


def test_a_file_reads_as_its_data_validated() -> None:
    # The file's path (the strict YAML loader, the checks against the defaults) gives the
    # scenario that validating the same data gives: nothing added, nothing lost.
    workload = make_workload(cpu="500m", memory="1536Mi")
    data = scenario_dict(tenants=[make_tenant("a", workloads=[workload])])
    from_file = parse_scenario(yaml.safe_dump(data, sort_keys=False), source="s.yaml")
    assert from_file.model_dump() == Scenario.model_validate(data).model_dump()
    requests = from_file.tenants[0].clusters[0].workloads[0].requests
    assert (requests.cpu_milli, requests.memory_mib) == (500, 1536)
