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

Every problem in a file raises :class:`~underlay.errors.TraceError` naming the file,
the line, the column and what is wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
from underlay.placement.gpu_packing import FULL_GPU_MILLI, GpuNodes, GpuPods

__all__ = [
    "NODE_COLUMNS",
    "POD_COLUMNS",
    "POD_REQUIRED_COLUMNS",
    "OpenbNodeTable",
    "OpenbPodTable",
    "read_openb_nodes",
    "read_openb_pods",
]

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
        """Distinct GPU model names, sorted (the code list of ``GpuNodes.gpu_model``)."""
        return tuple(sorted({str(m) for m in self.model}))

    def to_gpu_nodes(self, max_gpus: int | None = None) -> GpuNodes:
        """A fully free :class:`GpuNodes` fleet with these capacities."""
        names = self.model_names
        codes = np.searchsorted(np.array(names, dtype=np.str_), self.model)
        return GpuNodes.from_capacity(
            self.cpu_milli, self.memory_mib, self.gpu, codes, names, max_gpus=max_gpus
        )


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

    def to_gpu_pods(self, model_names: Sequence[str]) -> GpuPods:
        """Requests as :class:`GpuPods`, model constraints mapped onto ``model_names``."""
        return GpuPods.from_requests(
            self.cpu_milli,
            self.memory_mib,
            self.num_gpu,
            self.gpu_milli,
            model_names,
            gpu_spec=[str(s) for s in self.gpu_spec],
        )

    def sorted_by_name(self) -> npt.NDArray[np.int64]:
        """Row indices ordering the pods by name (stable)."""
        order: npt.NDArray[np.int64] = np.argsort(self.name, kind="stable").astype(np.int64)
        return order


def _rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, row)`` after checking the header; TraceError on problems."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise TraceError(
                    f"{path}, line 1: empty file; expected a header line with the columns "
                    f"{','.join(required)}"
                )
            header = [h.strip().lstrip("\ufeff") for h in header]
            seen: set[str] = set()
            for column in header:
                if column in seen:
                    raise TraceError(f"{path}, line 1: column {column!r} appears twice")
                seen.add(column)
            missing = [c for c in required if c not in seen]
            if missing:
                raise TraceError(
                    f"{path}, line 1: missing column(s) {', '.join(map(repr, missing))} "
                    f"(found: {','.join(header)})"
                )
            for fields in reader:
                line = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # blank line
                if len(fields) != len(header):
                    raise TraceError(
                        f"{path}, line {line}: expected {len(header)} fields as in the "
                        f"header, found {len(fields)}"
                    )
                yield line, dict(zip(header, fields, strict=True))
        except csv.Error as exc:
            raise TraceError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise TraceError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _int(path: Path, line: int, column: str, text: str, default: int | None = None) -> int:
    """Parse a non-negative integer cell (``12``, ``12.0``); blank gives ``default``."""
    value = text.strip()
    if not value and default is not None:
        return default
    where = f"{path}, line {line}, column {column!r}"
    if not value:
        raise TraceError(f"{where}: empty, expected a non-negative integer")
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            raise TraceError(f"{where}: {value!r} is not a number") from None
        if not as_float.is_integer():
            raise TraceError(f"{where}: {value!r} is not a whole number") from None
        number = int(as_float)
    if number < 0:
        raise TraceError(f"{where}: {value!r} is negative, expected >= 0")
    return number


def read_openb_nodes(path: str | Path) -> OpenbNodeTable:
    """Read an openb node list (``openb_node_list_*.csv``)."""
    file = Path(path)
    sn: list[str] = []
    numbers: list[tuple[int, int, int]] = []
    model: list[str] = []
    seen: dict[str, int] = {}
    for line, row in _rows(file, _NODE_REQUIRED):
        name = row["sn"].strip()
        if not name:
            raise TraceError(f"{file}, line {line}, column 'sn': empty node name")
        if name in seen:
            raise TraceError(
                f"{file}, line {line}, column 'sn': node {name!r} already on line {seen[name]}"
            )
        seen[name] = line
        sn.append(name)
        numbers.append(
            (
                _int(file, line, "cpu_milli", row["cpu_milli"]),
                _int(file, line, "memory_mib", row["memory_mib"]),
                _int(file, line, "gpu", row["gpu"]),
            )
        )
        model.append(row.get("model", "").strip())
    table = np.array(numbers, dtype=np.int64).reshape(-1, 3)
    return OpenbNodeTable(
        path=file,
        sn=np.array(sn, dtype=np.str_),
        cpu_milli=table[:, 0].copy(),
        memory_mib=table[:, 1].copy(),
        gpu=table[:, 2].copy(),
        model=np.array(model, dtype=np.str_),
    )


def read_openb_pods(path: str | Path) -> OpenbPodTable:
    """Read an openb pod list (``openb_pod_list_*.csv``), long or short column set."""
    file = Path(path)
    names: list[str] = []
    numbers: list[tuple[int, ...]] = []
    text: dict[str, list[str]] = {"gpu_spec": [], "qos": [], "pod_phase": []}
    for line, row in _rows(file, POD_REQUIRED_COLUMNS):
        name = row["name"].strip()
        if not name:
            raise TraceError(f"{file}, line {line}, column 'name': empty pod name")
        cpu = _int(file, line, "cpu_milli", row["cpu_milli"])
        mem = _int(file, line, "memory_mib", row["memory_mib"])
        k = _int(file, line, "num_gpu", row["num_gpu"])
        d = _int(file, line, "gpu_milli", row["gpu_milli"])
        if d > FULL_GPU_MILLI:
            raise TraceError(
                f"{file}, line {line}, column 'gpu_milli': {d} is more than one GPU "
                f"({FULL_GPU_MILLI}); it is the share of each requested GPU"
            )
        if k > 0 and d == 0:
            raise TraceError(
                f"{file}, line {line}, column 'gpu_milli': 0 with num_gpu {k}; "
                "a GPU pod needs 1..1000"
            )
        if k == 0 and d > 0:
            raise TraceError(
                f"{file}, line {line}, column 'gpu_milli': {d} with num_gpu 0; "
                "set num_gpu or make gpu_milli 0"
            )
        times = tuple(
            _int(file, line, c, row.get(c, ""), default=_UNKNOWN_TIME) for c in _TIME_COLUMNS
        )
        names.append(name)
        numbers.append((cpu, mem, k, d, *times))
        for column, values in text.items():
            values.append(row.get(column, "").strip())
    table = np.array(numbers, dtype=np.int64).reshape(-1, 4 + len(_TIME_COLUMNS))
    return OpenbPodTable(
        path=file,
        name=np.array(names, dtype=np.str_),
        cpu_milli=table[:, 0].copy(),
        memory_mib=table[:, 1].copy(),
        num_gpu=table[:, 2].copy(),
        gpu_milli=table[:, 3].copy(),
        gpu_spec=np.array(text["gpu_spec"], dtype=np.str_),
        qos=np.array(text["qos"], dtype=np.str_),
        pod_phase=np.array(text["pod_phase"], dtype=np.str_),
        creation_time=table[:, 4].copy(),
        deletion_time=table[:, 5].copy(),
        scheduled_time=table[:, 6].copy(),
    )
