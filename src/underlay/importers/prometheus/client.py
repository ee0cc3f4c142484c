"""A small client for the Prometheus HTTP API (``/api/v1/query``, ``/api/v1/query_range``).

Prometheus-compatible servers (Thanos Query, VictoriaMetrics, Mimir, Cortex) answer the
same API, so the client works with them too. Every answer is checked as it is read: an
answer that is not the API's JSON (an HTML page from a proxy or a login form, a truncated
body, a field of the wrong type) or an HTTP error raises :class:`PrometheusError`
(exit 2) naming the server, the query and the problem, never a traceback.

Range queries are cut into chunks of at most :data:`MAX_POINTS` points per series
(Prometheus refuses more: "exceeded maximum resolution of 11,000 points per timeseries")
and, for many series, of at most :data:`SAMPLES_PER_CHUNK` samples in all, so one answer
never holds a whole week of a large cluster.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import requests

from underlay.errors import InputError, TraceError
from underlay.files import read_text

__all__ = [
    "MAX_POINTS",
    "SAMPLES_PER_CHUNK",
    "Connection",
    "PrometheusClient",
    "PrometheusError",
    "RangeSeries",
    "connection",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAX_POINTS: Final = 11_000
"""Prometheus' limit of points per series in one range query."""
SAMPLES_PER_CHUNK: Final = 500_000
"""At most this many samples (series x points) asked for in one range query."""

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class PrometheusError(TraceError):
    """The Prometheus server could not be reached or gave an answer that cannot be used."""


@dataclass(frozen=True)
class Connection:
    """Where the server is and how to authenticate (secrets are never printed)."""

    url: str
    timeout_s: float = 60.0
    bearer_token: str | None = None
    basic: tuple[str, str] | None = None
    verify: bool | str = True


def _secret(option: str, path: Path) -> str:
    try:
        text = read_text(path, InputError, "a file holding the secret", max_bytes=1 << 20).strip()
    except InputError as exc:
        raise InputError(f"{option} {exc}") from None
    if not text:
        raise InputError(f"{option} {path}: the file is empty")
    return text


def connection(
    url: str,
    *,
    timeout_s: float = 60.0,
    bearer_token_file: Path | None = None,
    user: str | None = None,
    password_file: Path | None = None,
    ca_file: Path | None = None,
    insecure: bool = False,
) -> Connection:
    """A :class:`Connection` from the command line's options (files read here)."""
    if not re.match(r"https?://[^/\s]+", url):
        raise InputError(f"--url: {url[:80]!r} is not an http:// or https:// address")
    if bearer_token_file is not None and user is not None:
        raise InputError("--bearer-token-file and --user: give one way to authenticate")
    if (user is None) != (password_file is None):
        raise InputError("--user and --password-file go together")
    if ca_file is not None and insecure:
        raise InputError("--ca-file and --insecure: give one or the other")
    if ca_file is not None and not ca_file.is_file():
        raise InputError(f"--ca-file {ca_file}: no such file")
    if not 0 < timeout_s <= 3600:
        raise InputError(f"--timeout: {timeout_s:g} must be from 0 to 3600 seconds")
    token = _secret("--bearer-token-file", bearer_token_file) if bearer_token_file else None
    basic = None
    if user is not None and password_file is not None:
        basic = (user, _secret("--password-file", password_file))
    verify: bool | str = False if insecure else (str(ca_file) if ca_file else True)
    return Connection(url.rstrip("/"), timeout_s, token, basic, verify)


@dataclass(frozen=True, eq=False)
class RangeSeries:
    """One series of a range query's answer: its labels and its samples on the step grid."""

    labels: dict[str, str]
    steps: I64
    """Index of each sample's step (0 = the range's start)."""
    values: F64


_HTTP_HINTS: Final = {
    401: "the server wants credentials: give --bearer-token-file, or --user and --password-file",
    403: "the credentials given are not allowed to query this server",
    404: "no Prometheus API at this address: is --url the server's base address?",
    429: "the server is rate-limiting: try again later or with a longer --step",
    503: "the server is unavailable (starting, overloaded or behind a failing proxy)",
}


class PrometheusClient:
    """Queries of one server; a :class:`requests.Session` kept open across chunks."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._session = requests.Session()
        if conn.bearer_token is not None:
            self._session.headers["Authorization"] = f"Bearer {conn.bearer_token}"
        if conn.basic is not None:
            self._session.auth = conn.basic
        self._session.verify = conn.verify

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def _fail(self, query: str, problem: str) -> PrometheusError:
        return PrometheusError(f"Prometheus at {self.conn.url}: query {query!r}: {problem}")

    def _get(self, path: str, params: dict[str, str], query: str) -> Any:
        """The ``data`` of a successful answer to ``GET path``."""
        url = f"{self.conn.url}{path}"
        try:
            answer = self._session.get(url, params=params, timeout=self.conn.timeout_s)
        except requests.exceptions.SSLError as exc:
            raise self._fail(
                query, f"TLS failed ({_short(exc)}); give --ca-file, or --insecure to skip checks"
            ) from None
        except requests.exceptions.Timeout:
            raise self._fail(
                query, f"no answer within {self.conn.timeout_s:g} s (raise --timeout)"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
            why = reason.group(1).strip() if reason else _short(exc)
            raise self._fail(query, f"cannot connect ({why}): is --url right?") from None
        except requests.exceptions.RequestException as exc:
            raise self._fail(query, f"the request failed ({_short(exc)})") from None
        return self._data(answer, query)

    def _data(self, answer: requests.Response, query: str) -> Any:
        body = answer.text
        kind = answer.headers.get("Content-Type", "")
        parsed: Any = None
        if "html" in kind or body.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            title = _TITLE.search(body)
            what = f" ({title.group(1).strip()[:80]!r})" if title else ""
            status = f"HTTP {answer.status_code}: " if answer.status_code >= 400 else ""
            raise self._fail(
                query,
                f"{status}the answer is an HTML page{what}, not the Prometheus API's JSON: is "
                "--url the server's address (not a proxy's login page)?",
            )
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            if answer.status_code >= 400:
                raise self._fail(query, _http_problem(answer.status_code, body)) from None
            raise self._fail(
                query, f"the answer is not valid JSON ({exc}; {len(body):,} bytes received)"
            ) from None
        if not isinstance(parsed, dict):
            raise self._fail(query, f"the answer's JSON is {_kind(parsed)}, expected an object")
        if parsed.get("status") == "error" or answer.status_code >= 400:
            error = parsed.get("error")
            detail = f"{parsed.get('errorType', 'error')}: {str(error)[:300]}" if error else ""
            raise self._fail(query, _http_problem(answer.status_code, detail))
        if parsed.get("status") != "success":
            raise self._fail(query, f"'status' is {_clip(parsed.get('status'))}, not 'success'")
        if "data" not in parsed:
            raise self._fail(query, "the answer has no 'data'")
        return parsed["data"]

    def _result(self, data: Any, expected: str, query: str) -> list[Any]:
        if not isinstance(data, dict):
            raise self._fail(query, f"'data' is {_kind(data)}, expected an object")
        kind = data.get("resultType")
        if kind != expected:
            raise self._fail(query, f"'data.resultType' is {_clip(kind)}, expected {expected!r}")
        result = data.get("result")
        if not isinstance(result, list):
            raise self._fail(query, f"'data.result' is {_kind(result)}, expected a list")
        return result

    def _labels(self, item: Any, where: str, query: str) -> dict[str, str]:
        if not isinstance(item, dict):
            raise self._fail(query, f"'{where}' is {_kind(item)}, expected an object")
        metric = item.get("metric")
        if not isinstance(metric, dict) or not all(isinstance(v, str) for v in metric.values()):
            raise self._fail(query, f"'{where}.metric' is not an object of string labels")
        return metric

    def query_range(
        self, query: str, start_s: float, step_s: float, points: int, series_hint: int = 1
    ) -> Iterator[RangeSeries]:
        """A range query over ``points`` steps from ``start_s``, in chunks (see the module
        docstring); yields each series of each chunk, samples mapped to step indices."""
        per_chunk = max(1, min(MAX_POINTS, SAMPLES_PER_CHUNK // max(1, series_hint), points))
        for first in range(0, points, per_chunk):
            last = min(points, first + per_chunk) - 1
            params = {
                "query": query,
                "start": f"{start_s + first * step_s:.3f}",
                "end": f"{start_s + last * step_s:.3f}",
                "step": f"{step_s:g}",
            }
            data = self._get("/api/v1/query_range", params, query)
            for i, item in enumerate(self._result(data, "matrix", query)):
                yield self._range_series(item, f"data.result[{i}]", query, start_s, step_s)

    def _range_series(
        self, item: Any, where: str, query: str, start_s: float, step_s: float
    ) -> RangeSeries:
        labels = self._labels(item, where, query)
        values = item.get("values")
        if not isinstance(values, list):
            raise self._fail(query, f"'{where}.values' is {_kind(values)}, expected a list")
        try:
            pairs = np.asarray(values, dtype=np.float64) if values else np.empty((0, 2))
            if pairs.ndim != 2 or pairs.shape[1] != 2:
                raise ValueError
            # NumPy reads null as NaN: only then (rare) look at each sample
            if np.isnan(pairs).any() and not all(_is_pair(v) for v in values):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            bad = next(
                (j for j, v in enumerate(values) if not _is_pair(v)), 0
            )  # the first bad sample, for the message
            raise self._fail(
                query, f"'{where}.values[{bad}]' is {_clip(values[bad])}, not [time, \"number\"]"
            ) from None
        steps = np.rint((pairs[:, 0] - start_s) / step_s).astype(np.int64)
        return RangeSeries(labels, steps, pairs[:, 1])


def _is_pair(value: Any) -> bool:
    if not (isinstance(value, list) and len(value) == 2):
        return False
    try:
        float(value[0])
        float(value[1])
    except (TypeError, ValueError, OverflowError):
        return False
    return not isinstance(value[1], bool | dict | list)


def _http_problem(status: int, detail: str) -> str:
    text = f"HTTP {status}" if status >= 400 else "the server reports an error"
    hint = _HTTP_HINTS.get(status)
    if detail:
        text += f": {detail.strip()[:300]}"
    if hint:
        text += f" ({hint})"
    return text


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _clip(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else "NaN"
    return text if len(text) <= 60 else text[:57] + "..."


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
