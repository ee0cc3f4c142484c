"""Readers of the openb CSVs: fixtures written for these tests, bad input, real data."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.errors import TraceError
from underlay.importers.openb_trace import read_openb_nodes, read_openb_pods
from underlay.placement.gpu_packing import pack
from underlay.placement.openb_inputs import openb_gpu_nodes, openb_gpu_pods

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openb"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "openb"
POD_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli"
NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model"


def test_nodes_fixture() -> None:
    table = read_openb_nodes(FIXTURES / "nodes.csv")
    assert table.sn.tolist() == ["tiny-node-a", "tiny-node-b", "tiny-node-c", "tiny-node-d"]
    assert table.cpu_milli.tolist() == [32000, 16000, 8000, 48000]
    assert table.memory_mib.tolist() == [131072, 65536, 32768, 196608]
    assert table.gpu.tolist() == [4, 2, 0, 8]
    assert table.model.tolist() == ["A", "B", "", "A"]
    # the CPU-only node's empty model sorts first: codes "" -> 0, A -> 1, B -> 2
    assert table.model_names == ("", "A", "B")
    nodes = openb_gpu_nodes(table)
    assert nodes.gpu_model.tolist() == [1, 2, 0, 1]
    assert nodes.max_gpus == 8
    # G = 8 slots; node a has 4 GPUs -> slots 4..7 are 0 ("not there")
    assert nodes.gpu_free_milli[0].tolist() == [1000] * 4 + [0] * 4
    assert nodes.gpu_free_milli[2].tolist() == [0] * 8
    assert nodes.total_gpu_milli == (4 + 2 + 0 + 8) * 1000


def test_long_pod_list_fixture() -> None:
    table = read_openb_pods(FIXTURES / "pods_long.csv")
    assert len(table) == 5
    assert table.name[:2].tolist() == ["tiny-pod-3", "tiny-pod-1"]
    assert table.num_gpu.tolist() == [1, 1, 0, 2, 1]
    assert table.gpu_milli.tolist() == [250, 1000, 0, 1000, 600]
    assert table.gpu_spec.tolist() == ["", "A|B", "", "B", "C"]
    assert table.qos.tolist() == ["LS", "BE", "LS", "Burstable", "LS"]
    assert table.pod_phase[2] == "Pending"
    assert table.creation_time.tolist() == [30, 10, 20, 40, 50]
    # a blank scheduled_time (the pod stayed Pending) is -1 = unknown
    assert table.scheduled_time.tolist() == [31, 12, -1, 41, 55]
    assert table.sorted_by_name().tolist() == [1, 2, 0, 3, 4]


def test_short_pod_list_gets_defaults() -> None:
    table = read_openb_pods(FIXTURES / "pods_short.csv")
    assert len(table) == 3
    assert table.gpu_spec.tolist() == ["", "", ""]
    assert table.qos.tolist() == ["", "", ""]
    assert table.creation_time.tolist() == [-1, -1, -1]
    assert table.num_gpu.tolist() == [1, 4, 0]


def test_gpu_spec_becomes_a_model_mask() -> None:
    nodes = openb_gpu_nodes(read_openb_nodes(FIXTURES / "nodes.csv"))
    pods = openb_gpu_pods(read_openb_pods(FIXTURES / "pods_long.csv"), nodes.model_names)
    # columns: "", A, B. Empty spec = any; "A|B" = A and B; "C" is no node's model.
    assert pods.allowed_models.tolist() == [
        [True, True, True],
        [False, True, True],
        [True, True, True],
        [False, False, True],
        [False, False, False],
    ]


def test_fixture_packs_end_to_end() -> None:
    nodes = openb_gpu_nodes(read_openb_nodes(FIXTURES / "nodes.csv"))
    pods = openb_gpu_pods(read_openb_pods(FIXTURES / "pods_long.csv"), nodes.model_names)
    result = pack(nodes, pods, "first-fit")
    # pod 4 wants 2 GPUs of model B: node b (2 x B) is the only one -> both its GPUs;
    # pod 5 wants model C, which no node has.
    assert result.node_of_pod.tolist() == [0, 0, 0, 1, -1]
    assert result.gpus_of_pod(3) == (0, 1)
    assert result.failure_counts() == {"gpu-model": 1}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# (file name, content, reader, fragments the message must contain)
BAD_INPUT = [
    ("empty.csv", "", "pods", ["empty.csv", "line 1", "empty file"]),
    ("blank.csv", "\n\n", "nodes", ["blank.csv", "line 1", "empty file"]),
    (
        "nocol.csv",
        "name,cpu_milli,memory_mib,num_gpu\np,1,1,0\n",
        "pods",
        ["nocol.csv", "line 1", "'gpu_milli'", "missing column"],
    ),
    (
        "text.csv",
        f"{POD_HEADER}\np1,1000,10,0,0\np2,lots,10,0,0\n",
        "pods",
        ["text.csv", "line 3", "'cpu_milli'", "'lots' is not a number"],
    ),
    (
        "neg.csv",
        f"{NODE_HEADER}\nn1,1000,-5,2,A\n",
        "nodes",
        ["neg.csv", "line 2", "'memory_mib'", "negative"],
    ),
    ("frac.csv", f"{POD_HEADER}\np,1.5,10,0,0\n", "pods", ["line 2", "'cpu_milli'", "whole"]),
    ("short.csv", f"{POD_HEADER}\np,1,1,0\n", "pods", ["short.csv", "line 2", "found 4"]),
    ("big.csv", f"{POD_HEADER}\np,1,1,1,1500\n", "pods", ["line 2", "'gpu_milli'", "1500"]),
    ("zero.csv", f"{POD_HEADER}\np,1,1,2,0\n", "pods", ["line 2", "'gpu_milli'", "num_gpu 2"]),
    ("nogpu.csv", f"{POD_HEADER}\np,1,1,0,300\n", "pods", ["line 2", "'gpu_milli'", "num_gpu 0"]),
    ("blankreq.csv", f"{POD_HEADER}\np,,1,0,0\n", "pods", ["line 2", "'cpu_milli'", "empty"]),
    (
        "time.csv",
        f"{POD_HEADER},creation_time\np,1,1,0,0,soon\n",
        "pods",
        ["line 2", "'creation_time'", "'soon'"],
    ),
    (
        "dup.csv",
        f"{NODE_HEADER}\nn1,1,1,1,A\nn1,1,1,1,A\n",
        "nodes",
        ["dup.csv", "line 3", "'sn'", "line 2"],
    ),
    ("twice.csv", "sn,sn,cpu_milli,memory_mib,gpu\n", "nodes", ["line 1", "twice"]),
]


@pytest.mark.parametrize(("name", "text", "kind", "fragments"), BAD_INPUT)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, name: str, text: str, kind: str, fragments: list[str]
) -> None:
    path = _write(tmp_path, name, text)
    reader = read_openb_pods if kind == "pods" else read_openb_nodes
    with pytest.raises(TraceError) as info:
        reader(path)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    # The one wording of underlay.files for every file the user names.
    with pytest.raises(TraceError, match=r"absent\.csv: no such file$"):
        read_openb_pods(tmp_path / "absent.csv")
    with pytest.raises(TraceError, match="is a directory, expected an openb CSV file"):
        read_openb_nodes(tmp_path)
    path = tmp_path / "latin.csv"
    path.write_bytes(f"{NODE_HEADER}\nn\xe9,1,1,1,A\n".encode("latin-1"))
    with pytest.raises(TraceError, match="UTF-8"):
        read_openb_nodes(path)


def test_header_only_gives_empty_tables(tmp_path: Path) -> None:
    assert len(read_openb_pods(_write(tmp_path, "p.csv", POD_HEADER + "\n"))) == 0
    nodes = openb_gpu_nodes(read_openb_nodes(_write(tmp_path, "n.csv", NODE_HEADER + "\n")))
    assert nodes.n_nodes == 0


@settings(max_examples=examples(150), deadline=None)
@given(st.text(alphabet=st.sampled_from('ab,1-.\n"x 0'), max_size=80))
def test_readers_never_crash_on_arbitrary_input(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for header, reader in ((POD_HEADER, read_openb_pods), (NODE_HEADER, read_openb_nodes)):
            path = Path(folder) / "fuzz.csv"
            path.write_text(header + "\n" + text, encoding="utf-8")
            with contextlib.suppress(TraceError):
                reader(path)


# ---- the real trace (../shared/data/openb), skipped where it is absent ---------------

needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real openb data not found at {REAL} (only in the dev setup)"
)


@needs_real
def test_real_node_list() -> None:
    table = read_openb_nodes(REAL / "openb_node_list_gpu_node.csv")
    assert len(table.sn) == 1213
    assert int(table.gpu.sum()) == 6212
    nodes = openb_gpu_nodes(table)
    assert nodes.max_gpus == 8
    assert (nodes.gpu_free_milli.sum(axis=1) == nodes.gpu_count * 1000).all()
    every = read_openb_nodes(REAL / "openb_node_list_all_node.csv")
    assert len(every.sn) == 1523
    assert "" in every.model_names  # CPU-only nodes


@needs_real
@pytest.mark.parametrize(
    ("name", "rows", "long"),
    [("default", 8152, True), ("gpushare20", 8152, True), ("multigpu20", 8324, False)],
)
def test_real_pod_lists(name: str, rows: int, long: bool) -> None:
    table = read_openb_pods(REAL / f"openb_pod_list_{name}.csv")
    assert len(table) == rows
    multi = table.num_gpu > 1
    # as the data README says: multi-GPU pods ask for whole GPUs
    assert (table.gpu_milli[multi] == 1000).all()
    assert ((table.gpu_milli > 0) == (table.num_gpu > 0)).all()
    assert (table.creation_time >= 0).all() == long
    pods = openb_gpu_pods(table, ("A",))
    assert pods.allowed_models.all()  # no pod in these lists names a GPU model
    assert np.unique(table.name).size == rows
