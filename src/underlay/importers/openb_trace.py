"""Readers for the Alibaba GPU cluster trace 2023 ("openb") CSV files.

The trace (alibaba/clusterdata ``cluster-trace-gpu-v2023``; Weng et al., USENIX ATC
2023) ships node lists and pod lists:

* nodes: ``sn,cpu_milli,memory_mib,gpu,model`` (``model`` is empty on CPU-only nodes);
* pods: ``name,cpu_milli,memory_mib,num_gpu,gpu_milli`` followed, in most lists, by
  ``gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time``.

``gpu_milli`` is the share of *one* GPU each requested GPU must offer (1000 = a whole
GPU); ``gpu_spec`` lists allowed GPU models separated by ``|`` (empty = any model);
times are seconds. Optional pod columns may be absent (``multigpu20`` has only the
first five); absent or blank optional values get defaults: ``""`` for text, ``-1``
("unknown") for times.

Ranges (:data:`NODE_BOUNDS`, :data:`POD_BOUNDS`; whole numbers, ``nan``, ``inf`` and a
20-digit number are errors): node ``cpu_milli`` 1 to 4,096,000, ``memory_mib`` 1,024 to
64 TiB, ``gpu`` 0 to 62; pod ``cpu_milli`` 0 to 4,096,000, ``memory_mib`` 0 to 64 TiB,
``num_gpu`` 0 to 16, ``gpu_milli`` 0 to 1000 (1 to 1000 with GPUs, 1000 with more than
one GPU), times 0 to ten years. GPU models (also in ``gpu_spec``, separated by ``|``),
QoS classes and pod phases are names (letters, digits, ``-_.``, at most 40 characters);
node and pod names at most 253 characters; node names are unique.

Every problem in a file raises :class:`~underlay.errors.TraceError` naming the file,
the line, the column and what is wrong. The columns are checked whole, in NumPy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
from underlay.files import open_text
from underlay.importers.ranges import (
    MAX_CPU_MILLI,
    MAX_MEMORY_MIB,
    MAX_NAME,
    MAX_TRACE_TIME_S,
    Bounds,
    csv_table,
    parse_whole,
    text_column,
)

__all__ = [
    "MAX_NODE_GPUS",
    "MAX_POD_GPUS",
    "MAX_TOKEN",
    "NODE_BOUNDS",
    "NODE_COLUMNS",
    "POD_BOUNDS",
    "POD_COLUMNS",
    "POD_REQUIRED_COLUMNS",
    "WHOLE_GPU_MILLI",
    "OpenbNodeTable",
    "OpenbPodTable",
    "read_openb_nodes",
    "read_openb_pods",
]

WHOLE_GPU_MILLI: Final = 1000
"""The trace's unit of GPU: ``gpu_milli`` 1000 is a whole GPU."""

I64 = npt.NDArray[np.int64]
S = npt.NDArray[np.str_]

NODE_COLUMNS: Final = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
"""Columns of an openb node list (``model`` is optional)."""
_NODE_REQUIRED: Final = ("sn", "cpu_milli", "memory_mib", "gpu")

POD_REQUIRED_COLUMNS: Final = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
"""Columns every openb pod list has."""
POD_COLUMNS: Final = (
    *POD_REQUIRED_COLUMNS,
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
"""All columns of the long openb pod lists."""
_TIME_COLUMNS: Final = ("creation_time", "deletion_time", "scheduled_time")
_UNKNOWN_TIME: Final = -1

MAX_NODE_GPUS: Final = 62
"""Most GPUs of one node: the packer keeps a node's free GPUs in a 64-bit mask."""
MAX_POD_GPUS: Final = 16
"""Most GPUs of one pod (the scenario model's bound)."""
MAX_TOKEN: Final = 40
"""Longest GPU model or QoS name: the import builds host-model and tenant names from them."""
_TOKEN = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

NODE_BOUNDS: Final = {
    "cpu_milli": Bounds(1, MAX_CPU_MILLI, " millicores", whole=True),
    "memory_mib": Bounds(1024, MAX_MEMORY_MIB, " MiB (a host has at least 1Gi)", whole=True),
    "gpu": Bounds(0, MAX_NODE_GPUS, " GPUs", whole=True),
}
"""The range of each numeric column of a node list."""
_TIME = Bounds(0, MAX_TRACE_TIME_S, " s (blank: unknown)", whole=True)
POD_BOUNDS: Final = {
    "cpu_milli": Bounds(0, MAX_CPU_MILLI, " millicores", whole=True),
    "memory_mib": Bounds(0, MAX_MEMORY_MIB, " MiB", whole=True),
    "num_gpu": Bounds(0, MAX_POD_GPUS, " GPUs", whole=True),
    "gpu_milli": Bounds(0, WHOLE_GPU_MILLI, " (1000 = a whole GPU)", whole=True),
    **dict.fromkeys(_TIME_COLUMNS, _TIME),
}
"""The range of each numeric column of a pod list (times may be blank: unknown, -1)."""


@dataclass(frozen=True, eq=False)
class OpenbNodeTable:
    """An openb node list as arrays, one entry per node in file order."""

    path: Path
    """The file read."""
    sn: S
    """Node names."""
    cpu_milli: I64
    """CPU capacity, millicores."""
    memory_mib: I64
    """Memory capacity, MiB."""
    gpu: I64
    """Number of GPUs."""
    model: S
    """GPU model name ("" when the node has none or the column is absent)."""

    @property
    def model_names(self) -> tuple[str, ...]:
        """Distinct GPU model names, sorted (the code list of the GPU packing's nodes)."""
        return tuple(sorted({str(m) for m in self.model}))


@dataclass(frozen=True, eq=False)
class OpenbPodTable:
    """An openb pod list as arrays, one entry per pod in file order."""

    path: Path
    """The file read."""
    name: S
    """Pod names."""
    cpu_milli: I64
    """CPU request, millicores."""
    memory_mib: I64
    """Memory request, MiB."""
    num_gpu: I64
    """Number of GPUs requested."""
    gpu_milli: I64
    """Milli-GPU requested on each GPU (1000 = a whole GPU)."""
    gpu_spec: S
    """Allowed GPU models separated by ``|``; "" = any."""
    qos: S
    """QoS class as in the trace (``LS``, ``BE``, ...); "" when absent."""
    pod_phase: S
    """Final phase in the trace (``Running``, ``Failed``, ...); "" when absent."""
    creation_time: I64
    """Seconds; -1 when unknown."""
    deletion_time: I64
    """Seconds; -1 when unknown."""
    scheduled_time: I64
    """Seconds; -1 when unknown (e.g. pods that stayed Pending)."""

    def __len__(self) -> int:
        """Number of pods."""
        return int(self.name.shape[0])

    def sorted_by_name(self) -> npt.NDArray[np.int64]:
        """Row indices ordering the pods by name (stable)."""
        order: npt.NDArray[np.int64] = np.argsort(self.name, kind="stable").astype(np.int64)
        return order


def _table(path: Path, required: Sequence[str]) -> tuple[list[int], dict[str, list[str]]]:
    """The line number of every data row and the cells of every column, after checking
    the header; TraceError on problems."""
    handle = open_text(path, TraceError, "an openb CSV file")

    def header(first: list[str] | None) -> list[str]:
        if first is None or not any(h.strip() for h in first):
            raise TraceError(
                f"{path}, line 1: empty file; expected a header line with the columns "
                f"{','.join(required)}"
            )
        names = [h.strip().lstrip("\ufeff") for h in first]
        seen: set[str] = set()
        for column in names:
            if column in seen:
                raise TraceError(f"{path}, line 1: column {column!r} appears twice")
            seen.add(column)
        missing = [c for c in required if c not in seen]
        if missing:
            raise TraceError(
                f"{path}, line 1: missing column(s) {', '.join(map(repr, missing))} "
                f"(found: {','.join(names)[:200]})"
            )
        return names

    names, lines, cells = csv_table(path, handle, header)
    return lines, dict(zip(names, cells, strict=True))


def _tokens(
    path: Path, lines: list[int], column: str, cells: list[str], *, separator: str = ""
) -> npt.NDArray[np.str_]:
    """A column of optional names (GPU models, QoS classes, phases): each empty or a
    valid name of at most :data:`MAX_TOKEN` characters, since the import builds names
    and comments from them; with ``separator``, a list of such names. Checked once per
    distinct value."""
    values = text_column(path, lines, column, cells, MAX_NAME)
    for value in np.unique(values):
        text = str(value)
        parts = text.split(separator) if separator else [text]
        if any(p and (len(p) > MAX_TOKEN or not _TOKEN.fullmatch(p)) for p in parts):
            line = lines[int(np.argmax(values == value))]
            raise TraceError(
                f"{path}, line {line}, column {column!r}: {text[:80]!r} is not a name "
                f"(letters, digits, '-', '_', '.'; at most {MAX_TOKEN}; starting and ending "
                "with a letter or digit)"
            )
    return values


def read_openb_nodes(path: str | Path) -> OpenbNodeTable:
    """Read an openb node list (``openb_node_list_*.csv``); every column is checked
    whole against :data:`NODE_BOUNDS`, node names must be unique."""
    file = Path(path)
    lines, cells = _table(file, _NODE_REQUIRED)
    sn = text_column(file, lines, "sn", cells["sn"], MAX_NAME, required="node name")
    _, first, inverse = np.unique(sn, return_index=True, return_inverse=True)
    seen_before = first[inverse.reshape(-1)] != np.arange(len(sn))
    if seen_before.any():
        i = int(np.argmax(seen_before))
        raise TraceError(
            f"{file}, line {lines[i]}, column 'sn': node {str(sn[i])!r} already on line "
            f"{lines[int(first[inverse.reshape(-1)[i]])]}"
        )
    numbers = {
        c: parse_whole(file, lines, c, cells[c], bounds) for c, bounds in NODE_BOUNDS.items()
    }
    model = cells.get("model", [""] * len(lines))
    return OpenbNodeTable(
        path=file,
        sn=sn,
        cpu_milli=numbers["cpu_milli"],
        memory_mib=numbers["memory_mib"],
        gpu=numbers["gpu"],
        model=_tokens(file, lines, "model", model).astype(np.str_),
    )


def read_openb_pods(path: str | Path) -> OpenbPodTable:
    """Read an openb pod list (``openb_pod_list_*.csv``), long or short column set;
    every column is checked whole against :data:`POD_BOUNDS`."""
    file = Path(path)
    lines, cells = _table(file, POD_REQUIRED_COLUMNS)
    names = text_column(file, lines, "name", cells["name"], MAX_NAME, required="pod name")
    blank = [""] * len(lines)
    unknown = dict.fromkeys(_TIME_COLUMNS, _UNKNOWN_TIME)  # a blank time is not known
    numbers = {
        c: parse_whole(file, lines, c, cells.get(c, blank), bounds, blank=unknown.get(c))
        for c, bounds in POD_BOUNDS.items()
    }
    k, d = numbers["num_gpu"], numbers["gpu_milli"]
    for bad, problem in (
        ((k > 0) & (d == 0), "0 with num_gpu {k}; a GPU pod needs 1..1000"),
        ((k == 0) & (d > 0), "{d} with num_gpu 0; set num_gpu or make gpu_milli 0"),
        (
            (k > 1) & (d < WHOLE_GPU_MILLI),
            "{d} with num_gpu {k}; a share of a GPU (below 1000) takes one GPU",
        ),
    ):
        if bad.any():
            i = int(np.argmax(bad))
            message = problem.format(k=int(k[i]), d=int(d[i]))
            raise TraceError(f"{file}, line {lines[i]}, column 'gpu_milli': {message}")
    text = {
        "gpu_spec": _tokens(file, lines, "gpu_spec", cells.get("gpu_spec", blank), separator="|"),
        "pod_phase": _tokens(file, lines, "pod_phase", cells.get("pod_phase", blank)),
    }
    return OpenbPodTable(
        path=file,
        name=names,
        cpu_milli=numbers["cpu_milli"],
        memory_mib=numbers["memory_mib"],
        num_gpu=k,
        gpu_milli=d,
        gpu_spec=text["gpu_spec"].astype(np.str_),
        qos=_tokens(file, lines, "qos", cells.get("qos", blank)).astype(np.str_),
        pod_phase=text["pod_phase"].astype(np.str_),
        creation_time=numbers["creation_time"],
        deletion_time=numbers["deletion_time"],
        scheduled_time=numbers["scheduled_time"],
    )
