"""Where a partitioned replay's groups run: local processes, or Ray actors.

:func:`replay_placement` is what the pipeline calls for each placement: the engine in
this process for one worker, else :func:`~underlay.simulation.partition.simulate_groups`
with the groups in local processes (:func:`process_groups`) or on Ray
(:class:`RaySession`). The figures are the same every way (see
:mod:`underlay.simulation.partition`).

- **Local processes** are started by a fork server (the parent may hold threads — a
  progress bar, DuckDB — that a plain fork would copy half-way), one per group, each
  sent the same job pickled once (its group aside). They start first and set their
  replays up while the parent sets up its own. The
  parent draws each chunk's usage once into a ring of :data:`SLOTS` shared-memory slots
  (:mod:`underlay.simulation.shared_draws`) and tells every worker, on its own queue,
  which slot holds it; a worker steps its group with the slot's arrays in place and sends
  the chunk back on a common queue; once every worker has sent a chunk, its slot takes the
  chunk ``SLOTS`` later, so the parent draws ahead while the workers step. The parent folds
  the chunks in order. Ctrl-C reaches every process of the terminal's group: the workers
  ignore it, and the parent, which takes it (:mod:`underlay.interrupts`), stops them on
  its way out (terminate, then kill) and unlinks the slots, as it does when a worker fails
  or dies or when anything else ends the replay.
- **Ray** (``--ray ADDRESS``; ``local`` starts a Ray instance here with ``--workers``
  CPUs): one actor per group, sent the job once through Ray's object store; each chunk is
  drawn here and put in the object store once (the actors on a node read it in place), and
  every actor is asked for it, up to :data:`SLOTS` chunks ahead (an actor runs its calls
  in order); the actors are killed at the end. The number of groups is ``--workers``, else
  the cluster's CPUs. Ray is an optional extra, imported only here and only with
  ``--ray``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import queue as queue_module
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from underlay.defaults.catalog import Defaults
from underlay.errors import InputError, UnderlayError
from underlay.extras import import_ray
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.partition import (
    ChunkDrawer,
    ChunkPart,
    GroupReplay,
    Message,
    PartitionJob,
    simulate_groups,
)
from underlay.simulation.partition_groups import chunk_spans, default_workers
from underlay.simulation.results import SubstrateSimulation
from underlay.simulation.shared_draws import DrawRing, attach_slots, carve, close_slots, slot_bytes
from underlay.simulation.usage import ChunkDraws

__all__ = [
    "LOCAL",
    "MAX_WORKERS",
    "SLOTS",
    "RaySession",
    "WorkerError",
    "check_workers",
    "process_groups",
    "replay_placement",
]

LOCAL = "local"
"""The ``--ray`` value that starts a Ray instance on this machine."""
MAX_WORKERS = 1024
SLOTS = 3
"""Chunks drawn ahead of the last one every worker has stepped (shared-memory slots, or
chunks in Ray's object store): the parent draws while the workers step."""


class WorkerError(UnderlayError):
    """A worker of a partitioned replay failed or ended before sending its groups."""


def check_workers(workers: int | None) -> None:
    """``--workers`` must be from 1 to :data:`MAX_WORKERS`."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"--workers: must be from 1 to 1,024, got {workers}")


def replay_placement(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    *,
    seed: int | None = None,
    workers: int | None = None,
    ray: RaySession | None = None,
    progress: Callable[[int], None] | None = None,
) -> SubstrateSimulation:
    """Replay ``placement``: on ``ray`` when given, else in ``workers`` local processes
    (default: :func:`~underlay.simulation.partition_groups.default_workers`), one meaning this
    process alone."""
    check_workers(workers)
    if ray is not None:
        groups = workers or ray.cpus()
        return simulate_groups(
            scenario, defaults, placement, groups=groups, runner=ray, seed=seed, progress=progress
        )
    if workers is None:
        placed = int(placement.placed.sum())
        workers = default_workers(placed, scenario.simulation.steps)
    if workers == 1:
        return simulate_substrate(scenario, defaults, placement, seed=seed, progress=progress)
    return simulate_groups(
        scenario,
        defaults,
        placement,
        groups=workers,
        runner=process_groups,
        seed=seed,
        progress=progress,
    )


@dataclass(frozen=True)
class _Failure:
    """A worker's error, sent instead of its next message."""

    group: int
    message: str
    details: str


def _work(payload: bytes, group: int, out: Any, inbox: Any, parent: int) -> None:
    """A local worker of group ``group`` of the pickled job ``payload`` (pickled once for
    every worker): sets its replay up, then takes the names of the shared-memory slots
    (the first message on ``inbox``); for each chunk, waits for the parent to say which
    slot holds its draws (on ``inbox``), steps its group with them and puts the chunk's
    part on ``out``; then its totals. It stops early if the ``parent`` process is gone
    (killed, it could not stop us)."""
    # Ctrl-C reaches the whole process group; the parent decides, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    segments = []
    try:
        job = dataclasses.replace(pickle.loads(payload), group=group)
        worker = GroupReplay(job)
        sampler = worker.replay.sampler
        names = _wait(inbox, parent)
        if names is None:  # nobody will read what is still queued: do not wait on it
            out.cancel_join_thread()
            return
        segments = attach_slots(names)
        for index, (start, stop) in enumerate(chunk_spans(job.scenario.simulation.steps)):
            slot = _wait(inbox, parent)
            if slot is None:
                out.cancel_join_thread()
                return
            arrays = carve(segments[slot], sampler.draw_shapes(stop - start))
            out.put(worker.chunk(index, sampler.draws_in(start, stop, arrays)))
            del arrays
        out.put(worker.totals())
    except BaseException as exc:
        out.put(_Failure(group, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        close_slots(segments)


def _wait(inbox: Any, parent: int) -> Any:
    """The parent's next message (the slots' names, then the slot of each chunk's
    draws), or None once the parent is gone."""
    while True:
        try:
            return inbox.get(timeout=0.5)
        except queue_module.Empty:
            if not _alive(parent):
                return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, another user's: not ours, but alive
        return True
    return True


def process_groups(jobs: list[PartitionJob], drawer: ChunkDrawer) -> Iterator[Message]:
    """Each job in a local process of its own; their messages as they come. The parent
    draws every chunk once into a ring of :data:`SLOTS` shared-memory slots, up to that
    many chunks ahead of the last one every worker has stepped, and tells the workers
    which slot holds it. The processes are stopped and the segments unlinked however this
    ends (exhausted, closed, an error, a signal)."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["underlay.simulation.partition_workers"])
    out = context.Queue()
    inboxes = [context.Queue() for _ in jobs]
    n = len(drawer.spans)
    ring: DrawRing | None = None
    procs: list[Any] = []

    def publish(index: int) -> None:
        if ring is not None and index < n:
            drawer.draw(index, ring.slot(index, drawer.shapes(index)))
            for inbox in inboxes:
                inbox.put(ring.slot_of(index))

    stepped = [0] * n  # workers done with each chunk (its slot is free once all are)
    # The job is the same for every worker but its group: pickled once, not per process
    # (a million pods' scenario and placement take ~0.7 s to pickle).
    payload = pickle.dumps(jobs[0], protocol=pickle.HIGHEST_PROTOCOL) if jobs else b""
    try:
        # The workers first: they set their replays up while this process sets its own up
        # (the drawer's, when first asked for the draws' shapes) and draws.
        for job, inbox in zip(jobs, inboxes, strict=True):
            args = (payload, job.group, out, inbox, os.getpid())
            procs.append(context.Process(target=_work, args=args, daemon=True))
            procs[-1].start()
        ring = DrawRing(slot_bytes(drawer.shapes()), min(SLOTS, max(n, 1)))
        for inbox in inboxes:
            inbox.put(ring.names)
        for index in range(SLOTS):
            publish(index)
        for _ in range(len(jobs) * (n + 1)):
            message = _next(out, procs)
            if isinstance(message, _Failure):
                raise WorkerError(
                    f"partitioned replay: worker {message.group + 1} failed: {message.message}"
                )
            if isinstance(message, ChunkPart):
                stepped[message.index] += 1
                if stepped[message.index] == len(jobs):
                    publish(message.index + SLOTS)
            yield message
        for proc in procs:
            proc.join()
    finally:
        _stop(procs)
        if ring is not None:
            ring.close()
        for q in (out, *inboxes):
            q.close()
            q.cancel_join_thread()


def _next(out: Any, procs: list[Any]) -> Any:
    """The next message, or an error when a worker died without a word (killed)."""
    while True:
        try:
            return out.get(timeout=0.5)
        except queue_module.Empty:
            for g, proc in enumerate(procs):
                if proc.exitcode is not None and proc.exitcode != 0:
                    raise WorkerError(
                        f"partitioned replay: worker {g + 1} ended with exit code "
                        f"{proc.exitcode} (killed? out of memory? try fewer --workers)"
                    ) from None


def _stop(procs: list[Any]) -> None:
    """End the processes still running: terminate, then kill those that linger."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        if proc.pid is None:
            continue  # never started
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


class _RayGroup:
    """A Ray actor holding one group's replay."""

    def __init__(self, job: PartitionJob, group: int) -> None:
        self.worker = GroupReplay(dataclasses.replace(job, group=group))

    def chunk(self, index: int, draws: ChunkDraws) -> Message:
        return self.worker.chunk(index, draws)

    def totals(self) -> Message:
        return self.worker.totals()


class RaySession:
    """A connection to Ray for the replays of one run (``with``: connect, then shut down);
    called with a replay's jobs, it runs them as actors (a :data:`~underlay.simulation.
    partition.Runner`)."""

    def __init__(self, address: str, workers: int | None = None) -> None:
        check_workers(workers)
        self.address, self.workers = address, workers
        self._ray: Any = None

    def __enter__(self) -> RaySession:
        ray = import_ray()
        try:
            if self.address == LOCAL:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
        except Exception as exc:  # Ray's own errors (no cluster there, refused) have no base
            raise InputError(
                f"--ray {self.address}: cannot connect ({type(exc).__name__}: {exc})"
            ) from None
        self._ray = ray
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def cpus(self) -> int:
        """The CPUs of the Ray cluster (the default number of groups)."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def __call__(self, jobs: list[PartitionJob], drawer: ChunkDrawer) -> Iterator[Message]:
        """Each job as a Ray actor; their messages chunk by chunk. Each chunk is drawn once
        here and put in Ray's object store once (its local workers read it in place), up
        to :data:`SLOTS` chunks ahead of the last one every actor has stepped."""
        ray = self._ray
        if ray is None:
            raise RuntimeError("RaySession used outside its `with`")
        # One CPU an actor, or a share of one when there are more groups than CPUs (an actor
        # holds its CPUs while it lives: more whole ones than the cluster has never start).
        actor = ray.remote(num_cpus=min(1.0, self.cpus() / len(jobs)))(_RayGroup)
        job = ray.put(jobs[0])  # sent once; each actor takes its own group
        actors = [actor.remote(job, g) for g in range(len(jobs))]
        n = len(drawer.spans)
        calls: dict[int, list[Any]] = {}

        def publish(index: int) -> None:
            if index < n:
                draws = ray.put(drawer.draw(index))
                calls[index] = [a.chunk.remote(index, draws) for a in actors]

        try:
            for index in range(SLOTS):
                publish(index)
            for index in range(n):
                for g in range(len(actors)):
                    yield self._get(calls[index][g], g)
                del calls[index]  # (the draws leave the object store with the last call)
                publish(index + SLOTS)
            for g, a in enumerate(actors):
                yield self._get(a.totals.remote(), g)
        finally:
            for a in actors:
                ray.kill(a)

    def _get(self, ref: Any, group: int) -> Message:
        try:
            message: Message = self._ray.get(ref)
        except Exception as exc:  # Ray wraps the worker's error in its own types
            raise WorkerError(
                f"partitioned replay on Ray: worker {group + 1} failed: {type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            ) from None
        return message
