"""`underlay import prometheus` against broken servers: the corpus in
tests/bad_inputs/prometheus/ (truncated JSON, wrong types, empty results, HTML error
pages, 401/403/500, missing labels), each answer served by a tiny local HTTP server to
one query while the others get good answers. Every case: one ``Error:`` line with the
expected fragment, exit 2, nothing written. Also: no server, a slow server, and the
credentials the options send.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from typer.testing import CliRunner

from prom_server import missing_reason
from underlay.cli import app

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs" / "prometheus"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (CORPUS / "expected.yaml").read_text(encoding="utf-8")
)
runner = CliRunner()

SCENARIO = """\
name: t
hardware:
  host_models:
    - name: std
      cores: 64
      memory: 256Gi
tenants:
  - name: shop
    workloads:
      - name: web
        replicas: 1
        requests: {cpu: 500m, memory: 1Gi}
"""
END = 1_700_001_000  # --end, a multiple of 300 s: the hour's grid starts at 1_699_997_400
SAMPLE_T = 1_700_000_400


def _matrix(items: list[tuple[dict[str, str], str]]) -> dict[str, Any]:
    result = [{"metric": m, "values": [[SAMPLE_T, v]]} for m, v in items]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


POD = {"namespace": "shop", "pod": "web-0"}
GOOD: dict[str, dict[str, Any]] = {  # every query is a range query
    "replicasets": _matrix([]),
    "owners": _matrix([({**POD, "owner_kind": "StatefulSet", "owner_name": "web"}, "1")]),
    "cpu": _matrix([(POD, "0.25")]),
    "memory": _matrix([(POD, str(100 * 2**20))]),
    "requests": _matrix([]),
}


def _which(query: str) -> str:
    for marker, name in (
        ("kube_replicaset_owner", "replicasets"),
        ("kube_pod_owner", "owners"),
        ("container_cpu", "cpu"),
        ("container_memory", "memory"),
    ):
        if marker in query:
            return name
    return "requests"


@dataclass
class Server:
    """What the server answers and what it was asked."""

    url: str = ""
    bad: tuple[str, int, str, bytes] | None = None  # (query, status, type, body)
    delay_s: float = 0.0
    good: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(GOOD))
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query).get("query", [""])[0]
            state.seen.append((url.path, dict(self.headers)))
            time.sleep(state.delay_s)
            which = _which(query)
            if state.bad is not None and state.bad[0] == which:
                _, status, kind, body = state.bad
            else:
                status, kind = 200, "application/json"
                body = json.dumps(state.good[which]).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _run(tmp_path: Path, url: str, *extra: str) -> tuple[Any, Path]:
    scenario = tmp_path / "cluster.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out" / "week.yaml"
    out.parent.mkdir(exist_ok=True)
    args = ["import", "prometheus", str(scenario), "--url", url, "-o", str(out)]
    args += ["--end", str(END), "--range", "1h", "--step", "5m", *extra]
    return runner.invoke(app, args, catch_exceptions=False), out


def _one_error(result: Any, out: Path) -> str:
    assert result.exit_code == 2, result.output
    stderr = result.stderr.strip()
    assert stderr.startswith("Error: ") and stderr.count("Error:") == 1, stderr
    assert "Traceback" not in result.output
    assert list(out.parent.iterdir()) == []  # nothing written, not even a temporary file
    return " ".join(stderr.split())


def test_good_answers_import(server: Server, tmp_path: Path) -> None:
    """The baseline every bad case departs from: the good answers import."""
    result, out = _run(tmp_path, server.url)
    assert result.exit_code == 0, result.output
    trace = (out.parent / "week.trace.csv").read_text(encoding="utf-8").splitlines()
    # one sample at 1_700_000_400 - 1_699_997_400 = 3000 s; 0.25 cores; 100 MiB
    assert trace == ["series,time_s,cpu_cores,memory_mib", "shop/web/1,3000,0.25,100"]


def test_every_corpus_file_has_an_expectation() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "expected.yaml"}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_answer_one_message_exit_2(server: Server, tmp_path: Path, name: str) -> None:
    case = EXPECTED[name]
    server.bad = (case["query"], case["status"], case["type"], (CORPUS / name).read_bytes())
    result, out = _run(tmp_path, server.url)
    message = _one_error(result, out)
    assert case["message"] in message
    assert server.url in message  # the server is named


def test_no_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nobody listens there
    result, out = _run(tmp_path, f"http://127.0.0.1:{port}")
    assert "cannot connect" in _one_error(result, out)


def test_slow_server_times_out(server: Server, tmp_path: Path) -> None:
    server.delay_s = 1.5
    result, out = _run(tmp_path, server.url, "--timeout", "0.3")
    assert "no answer within 0.3 s (raise --timeout)" in _one_error(result, out)


def test_credentials_sent_never_shown(server: Server, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n", encoding="utf-8")
    result, _ = _run(tmp_path, server.url, "--bearer-token-file", str(token))
    assert result.exit_code == 0, result.output
    assert all(h.get("Authorization") == "Bearer s3cret-token" for _, h in server.seen)
    server.seen.clear()
    password = tmp_path / "password"
    password.write_text("hunter2\n", encoding="utf-8")
    result, out = _run(tmp_path, server.url, "--user", "ann", "--password-file", str(password))
    assert result.exit_code == 0, result.output
    basic = "Basic " + base64.b64encode(b"ann:hunter2").decode()
    assert all(h.get("Authorization") == basic for _, h in server.seen)
    written = out.read_text(encoding="utf-8") + result.output
    assert "hunter2" not in written and "s3cret" not in written


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--range", "7 days"], "--range: '7 days' is not a duration"),
        (["--step", "0s"], "--step: '0s' must be a positive duration"),
        (["--end", "yesterday"], "--end: 'yesterday' is not a time"),
        (["--user", "ann"], "--user and --password-file go together"),
        (["--insecure", "--ca-file", "ca.pem"], "--ca-file and --insecure"),
        (["--bearer-token-file", "/nonexistent/token"], "--bearer-token-file /nonexistent/token"),
        (["--range", "1m"], "--range: 60 s is shorter than --step 300 s"),
        # 10 years of 5-minute steps: 10 * 365 * 288 + 1 = 1,051,201 points
        (["--range", "3650d"], "--range / --step: 1,051,201 points per pod, more than"),
    ],
)
def test_bad_options(server: Server, tmp_path: Path, extra: list[str], fragment: str) -> None:
    result, out = _run(tmp_path, server.url, *extra)
    assert fragment in _one_error(result, out)


def test_bad_url(tmp_path: Path) -> None:
    result, out = _run(tmp_path, "prometheus:9090")
    assert "--url: 'prometheus:9090' is not an http:// or https:// address" in _one_error(
        result, out
    )


def test_real_server_is_optional() -> None:
    """The corpus needs no Prometheus; the reason the real-server tests skip is clear."""
    reason = missing_reason()
    assert reason is None or "apt-get install prometheus" in reason


@pytest.mark.parametrize("target", ["scenario", "trace"])
def test_never_writes_over_its_scenario(server: Server, tmp_path: Path, target: str) -> None:
    """-o the scenario itself, or -o x.yaml whose trace x.trace.csv links to the scenario:
    refused before asking the server anything."""
    scenario = tmp_path / "cluster.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = scenario
    if target == "trace":
        out = tmp_path / "x.yaml"
        (tmp_path / "x.trace.csv").symlink_to(scenario)
    args = ["import", "prometheus", str(scenario), "--url", server.url, "-o", str(out)]
    result = runner.invoke(app, [*args, "--end", str(END), "--range", "1h"])
    assert result.exit_code == 2, result.output
    assert "--output" in result.stderr
    assert scenario.read_text(encoding="utf-8") == SCENARIO
    assert server.seen == []


def test_pod_without_owner_is_its_own_workload(server: Server, tmp_path: Path) -> None:
    """kube-state-metrics knows web-0 only; cAdvisor also has the bare pod debug-shell
    (no kube_pod_owner series): it is a workload of its own, matched by its name."""
    shell = {"namespace": "shop", "pod": "debug-shell"}
    server.good["cpu"] = _matrix([(POD, "0.25"), (shell, "0.5")])
    server.good["memory"] = _matrix([(POD, str(100 * 2**20)), (shell, str(64 * 2**20))])
    scenario = SCENARIO + "      - {name: debug-shell, replicas: 1, requests: {cpu: 100m}}\n"
    (tmp_path / "cluster.yaml").write_text(scenario, encoding="utf-8")
    out = tmp_path / "out" / "week.yaml"
    out.parent.mkdir()
    args = ["import", "prometheus", str(tmp_path / "cluster.yaml"), "--url", server.url]
    result = runner.invoke(app, [*args, "-o", str(out), "--end", str(END), "--range", "1h"])
    assert result.exit_code == 0, result.output
    trace = (out.parent / "week.trace.csv").read_text(encoding="utf-8").splitlines()
    # 3000 s from the range's start (see test_good_answers_import); 0.5 cores, 64 MiB
    assert trace[1:] == ["shop/debug-shell/1,3000,0.5,64", "shop/web/1,3000,0.25,100"]
