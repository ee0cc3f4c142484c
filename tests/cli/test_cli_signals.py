"""Ctrl-C and SIGTERM end underlay cleanly at any moment (issue 10).

Real processes, started as the ``underlay`` console script starts them (``underlay.entry``),
get SIGINT or SIGTERM as soon as the handlers are in place (the heavy modules are loading
then), and at moments spread over the run. Each must end with exit code 130 (SIGINT) or
143 (SIGTERM), one line on stderr and no traceback, and leave no temporary file and no
partial output: each output file is either absent or the whole of what an uninterrupted
run writes. A run the signal comes too late for ends normally, its outputs whole.

In the same process, a signal raised while a file is written (between writing the
temporary file and renaming it) must leave neither file behind, for the reports and for
the importers' scenario and trace pair.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from underlay import entry, interrupts
from underlay.cli import write_atomically
from underlay.importers.trace_format import write_trace
from underlay.importers.trace_import import ImportedTrace, write_import

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "edge-site.yaml"
# what the generated `underlay` script runs
SCRIPT = "import sys; from underlay.entry import main; sys.exit(main())"
OUTPUTS = ("report.html", "report.md", "out.txt")
LINES = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated."}

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="needs /proc to see the handlers installed"
)


def _start(folder: Path) -> subprocess.Popen[str]:
    paths = [str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    args = [
        "compare", str(EXAMPLE), "--report", str(folder / "report.html"),
        "--markdown", str(folder / "report.md"), "--output", str(folder / "out.txt"),
    ]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=folder,
    )


def _handlers_installed(pid: int) -> bool:
    """Whether ``pid`` catches SIGTERM (Python alone does not: underlay.entry does)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True  # gone already: nothing to wait for
    found = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
    assert found, status
    return bool(int(found.group(1), 16) >> (signal.SIGTERM - 1) & 1)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The outputs of an uninterrupted run."""
    folder = tmp_path_factory.mktemp("whole")
    proc = _start(folder)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return {name: (folder / name).read_text(encoding="utf-8") for name in OUTPUTS}


@pytest.mark.parametrize(
    ("signum", "after"),
    [
        (signal.SIGINT, 0.0),  # while the modules load
        (signal.SIGTERM, 0.0),
        (signal.SIGINT, 0.7),
        (signal.SIGTERM, 1.4),
        (signal.SIGINT, 2.1),
        (signal.SIGTERM, 2.8),
    ],
)
def test_a_signal_ends_the_run_cleanly(
    signum: int, after: float, whole: dict[str, str], tmp_path: Path
) -> None:
    proc = _start(tmp_path)
    deadline = time.monotonic() + 60
    while not _handlers_installed(proc.pid):
        assert time.monotonic() < deadline, "the handlers were never installed"
        time.sleep(0.001)
    time.sleep(after)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr
    if proc.returncode == 0:  # finished before the signal came
        assert stderr == ""
    else:
        assert proc.returncode == 128 + signum
        assert stderr.splitlines() == [LINES[signal.Signals(signum)]]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in left if name.startswith(".")], left
    for name in left:
        assert (tmp_path / name).read_text(encoding="utf-8") == whole[name], name


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """underlay's handlers in this process, restored afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(interrupts, "_taken", [])
    entry.install_handlers()
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _signal_on_rename(monkeypatch: pytest.MonkeyPatch, signum: int, *, at: int = 1) -> None:
    """The ``at``-th rename of a temporary file gets ``signum`` instead of renaming."""
    real = Path.replace
    calls = []

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        calls.append(self)
        if len(calls) == at:
            assert self.exists()  # the temporary file is on disk
            signal.raise_signal(signum)
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)


@pytest.mark.usefixtures("handlers")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_a_report_is_written_leaves_no_file(
    signum: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signal_on_rename(monkeypatch, signum)
    with pytest.raises(entry.Interrupted) as info:
        write_atomically(tmp_path / "report.html", "<html></html>\n" * 1000)
    assert info.value.exit_code == 128 + signum
    assert list(tmp_path.iterdir()) == []


def _series() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    t = np.arange(3, dtype=np.float64) * 300
    return [("vm-a", t, np.ones(3), np.full(3, 512.0))]


@pytest.mark.usefixtures("handlers")
def test_a_signal_while_a_trace_is_written_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signal_on_rename(monkeypatch, signal.SIGTERM)
    with pytest.raises(entry.Interrupted):
        write_trace(tmp_path / "usage.trace.csv", _series())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("handlers")
def test_a_signal_between_the_trace_and_its_scenario_leaves_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ImportedTrace(data={}, header="# test\n", series=_series(), summary="")
    _signal_on_rename(monkeypatch, signal.SIGINT, at=2)  # the trace is in place by then
    with pytest.raises(entry.Interrupted):
        write_import(tmp_path / "usage.yaml", result)
    assert list(tmp_path.iterdir()) == []


def _import_that_fails_on(signum: int) -> None:
    """What a C extension does when a signal interrupts its initialisation (seen in CI with
    SciPy's HiGHS): the handler's exception becomes an ImportError chained to it."""
    try:
        signal.raise_signal(signum)
    except BaseException as exc:
        raise ImportError("initialization failed") from exc


@pytest.mark.usefixtures("handlers")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_a_library_turns_into_its_own_error_still_exits_as_the_signal(
    signum: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        entry.run_guarded(lambda: _import_that_fails_on(signum))
    assert info.value.code == 128 + signum
    assert capsys.readouterr().err.splitlines() == [LINES[signal.Signals(signum)]]


@pytest.mark.usefixtures("handlers")
def test_a_signal_whose_chain_a_library_dropped_still_exits_as_the_signal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def swallowing() -> None:
        with contextlib.suppress(BaseException):
            signal.raise_signal(signal.SIGTERM)
        raise RuntimeError("something else")  # no chain back to the signal

    with pytest.raises(SystemExit) as info:
        entry.run_guarded(swallowing)
    assert info.value.code == 143
    assert capsys.readouterr().err.splitlines() == ["Terminated."]


@pytest.mark.usefixtures("handlers")
def test_an_error_with_no_signal_taken_is_not_taken_for_one() -> None:
    def failing() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        entry.run_guarded(failing)


@pytest.mark.usefixtures("handlers")
def test_the_cli_catch_all_hands_a_signal_error_back(monkeypatch: pytest.MonkeyPatch) -> None:
    cli_app = importlib.import_module("underlay.cli.app")  # the package re-exports `app`
    monkeypatch.setattr(cli_app, "app", lambda: _import_that_fails_on(signal.SIGINT))
    with pytest.raises(entry.Interrupted) as info:
        cli_app.main()
    assert info.value.exit_code == 130
