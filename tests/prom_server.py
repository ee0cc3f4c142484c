"""A real Prometheus server for tests and the benchmark: a week of generated series written
as OpenMetrics, turned into TSDB blocks by ``promtool tsdb create-blocks-from
openmetrics`` and served by Debian's ``prometheus`` on a free local port.

The generated pods are described by :class:`FakePod`: when it runs (first and last step,
steps without a sample), its CPU rate per day and its memory per step, so a test can
derive what the importer must write from the same description.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
STEP_S = 300
WEEK_STEPS = 7 * 24 * 12  # a week of 5-minute steps
COUNTER_START = 100_000.0  # CPU seconds at a pod's first sample (never near zero: see tests)

F64 = npt.NDArray[np.float64]


def missing_reason() -> str | None:
    """Why no test Prometheus can run here, or None."""
    for tool in (PROMETHEUS, PROMTOOL):
        if not Path(tool).is_file():
            return f"{tool} is not installed (Debian: apt-get install prometheus)"
    return None


@dataclass(frozen=True)
class FakePod:
    """One generated pod: samples at ``first``..``last`` (step indices), except ``gap``."""

    namespace: str
    name: str
    owner_kind: str  # kube_pod_owner's owner_kind ("<none>" for a bare pod)
    owner_name: str
    first: int
    last: int
    cpu_per_day: tuple[float, ...]  # cores, day d uses cpu_per_day[d % len]
    memory_mib: float  # base; the sample at step k is memory_mib + 8 * (k % 7)
    gap: tuple[int, int] | None = None  # steps [a, b) without samples
    requests: tuple[float, float] | None = None  # (cores, bytes) of its one container
    container: str = "app"

    def steps(self) -> npt.NDArray[np.int64]:
        """The steps with a sample."""
        k = np.arange(self.first, self.last + 1)
        if self.gap is not None:
            k = k[(k < self.gap[0]) | (k >= self.gap[1])]
        return k

    def cpu_at(self, k: npt.NDArray[np.int64]) -> F64:
        """CPU rate (cores) over the interval ending at step ``k`` (constant per day)."""
        day = (k - 1) // (24 * 12)
        return np.asarray(self.cpu_per_day, dtype=np.float64)[day % len(self.cpu_per_day)]

    def memory_at(self, k: npt.NDArray[np.int64]) -> F64:
        """Memory (MiB) sampled at step ``k``."""
        return self.memory_mib + 8.0 * (k % 7)

    def counter(self) -> F64:
        """The CPU counter at each of :meth:`steps`: it grows by the rate of each 5-minute
        interval, gaps included (the container ran, nobody scraped it)."""
        k = np.arange(self.first, self.last + 1)
        growth = np.concatenate([[0.0], self.cpu_at(k[1:]) * STEP_S])
        full = COUNTER_START + np.cumsum(growth)
        return full[self.steps() - self.first]


@dataclass
class Fixture:
    """Pods, ReplicaSet owners and where the week ends (``start_s`` is step 0)."""

    start_s: int
    pods: list[FakePod]
    replicasets: dict[tuple[str, str], str] = field(default_factory=dict)  # -> Deployment
    pod_level: bool = True  # also write cAdvisor's pod-level CPU series (container="")

    @property
    def end_s(self) -> int:
        """Time of the last step of the week."""
        return self.start_s + WEEK_STEPS * STEP_S


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def _lines(name: str, labels: str, times: Iterable[int], values: Iterable[float]) -> str:
    return "".join(f"{name}{{{labels}}} {v!r} {t}\n" for t, v in zip(times, values, strict=True))


def _families(fixture: Fixture) -> Iterator[tuple[str, Callable[[FakePod], str]]]:
    def t(pod: FakePod) -> list[int]:
        return (fixture.start_s + STEP_S * pod.steps()).tolist()

    def ids(pod: FakePod) -> dict[str, str]:
        return {"namespace": pod.namespace, "pod": pod.name}

    def cpu(pod: FakePod) -> str:
        labels = _labels(**ids(pod), container=pod.container, image="example/app:1")
        # cAdvisor's pod-level cgroup (container="") must not be counted twice
        total = _labels(**ids(pod), container="")
        counter = pod.counter().tolist()
        name = "container_cpu_usage_seconds_total"
        text = _lines(name, labels, t(pod), counter)
        if fixture.pod_level:
            text += _lines(name, total, t(pod), [c * 3 for c in counter])
        return text

    def mem(pod: FakePod) -> str:
        labels = _labels(**ids(pod), container=pod.container)
        values = (pod.memory_at(pod.steps()) * 2**20).tolist()
        return _lines("container_memory_working_set_bytes", labels, t(pod), values)

    def owner(pod: FakePod) -> str:
        controller = "false" if pod.owner_kind == "<none>" else "true"
        labels = _labels(
            **ids(pod),
            owner_kind=pod.owner_kind,
            owner_name=pod.owner_name,
            owner_is_controller=controller,
            uid=f"uid-{pod.name}",
        )
        return _lines("kube_pod_owner", labels, t(pod), [1.0] * len(pod.steps()))

    def requests(pod: FakePod) -> str:
        if pod.requests is None:
            return ""
        out = ""
        for resource, unit, value in (
            ("cpu", "core", pod.requests[0]),
            ("memory", "byte", pod.requests[1]),
        ):
            labels = _labels(**ids(pod), container=pod.container, resource=resource, unit=unit)
            out += _lines(
                "kube_pod_container_resource_requests", labels, t(pod), [value] * len(t(pod))
            )
        return out

    yield "container_cpu_usage_seconds_total", cpu
    yield "container_memory_working_set_bytes", mem
    yield "kube_pod_owner", owner
    yield "kube_pod_container_resource_requests", requests


def write_openmetrics(fixture: Fixture, path: Path) -> None:
    """The fixture as OpenMetrics text (families together, as the format wants)."""
    with path.open("w", encoding="utf-8") as out:
        for name, lines in _families(fixture):
            out.write(f"# TYPE {name} gauge\n" if not name.endswith("_total") else "")
            for pod in fixture.pods:
                out.write(lines(pod))
        out.write("# TYPE kube_replicaset_owner gauge\n")
        times = range(fixture.start_s, fixture.end_s + 1, STEP_S)
        for (ns, rs), deployment in sorted(fixture.replicasets.items()):
            labels = _labels(
                namespace=ns,
                replicaset=rs,
                owner_kind="Deployment",
                owner_name=deployment,
                owner_is_controller="true",
            )
            out.write(_lines("kube_replicaset_owner", labels, times, [1.0] * len(times)))
        out.write("# EOF\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(fixture: Fixture, workdir: Path, timeout_s: float = 120.0) -> Iterator[str]:
    """Fill a TSDB with ``fixture`` and run Prometheus on it; yields its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    source, data = workdir / "fixture.om", workdir / "data"
    write_openmetrics(fixture, source)
    subprocess.run(
        # one block for the week: with the default 2-hour blocks promtool reads the
        # whole input once per block (15x slower for a week)
        [
            PROMTOOL,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=192h",
            str(source),
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    source.unlink()
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n", encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: see {workdir / 'prometheus.log'}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not ready in {timeout_s:g} s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
