"""The GPU packing kernel's arrays from an openb trace's node and pod lists.

The importer (:mod:`underlay.importers.openb_trace`) reads the trace into plain tables;
turning them into the kernel's :class:`~underlay.placement.gpu_packing.GpuNodes` and
:class:`~underlay.placement.gpu_packing.GpuPods` is placement's business, so it lives here
and the importer knows nothing of the kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from underlay.importers.openb_trace import OpenbNodeTable, OpenbPodTable
from underlay.placement.gpu_packing import GpuNodes, GpuPods

__all__ = ["openb_gpu_nodes", "openb_gpu_pods"]


def openb_gpu_nodes(table: OpenbNodeTable, max_gpus: int | None = None) -> GpuNodes:
    """A fully free :class:`GpuNodes` fleet with the capacities of ``table``'s nodes (GPU
    models coded by their index in ``table.model_names``)."""
    names = table.model_names
    codes = np.searchsorted(np.array(names, dtype=np.str_), table.model)
    return GpuNodes.from_capacity(
        table.cpu_milli, table.memory_mib, table.gpu, codes, names, max_gpus=max_gpus
    )


def openb_gpu_pods(table: OpenbPodTable, model_names: Sequence[str]) -> GpuPods:
    """``table``'s requests as :class:`GpuPods`, model constraints mapped onto
    ``model_names``."""
    return GpuPods.from_requests(
        table.cpu_milli,
        table.memory_mib,
        table.num_gpu,
        table.gpu_milli,
        model_names,
        gpu_spec=[str(s) for s in table.gpu_spec],
    )
