"""A local HTTPS Kubernetes API server for the live importer's tests and benchmark.

It serves list endpoints from in-memory objects with the API server's semantics that the
importer depends on (api-concepts, "Retrieving large results sets in chunks"):

* ``limit`` / ``continue``: pages in name order; a continue token encodes the offset and
  the list's resourceVersion; ``metadata.remainingItemCount`` on every page but the last;
* an expired continue token: ``410 Gone`` with a ``Status`` of reason ``Expired``
  (``expire_once``: the first continue request on that path expires);
* gzip for answers over 128 KiB when the client accepts it (APIResponseCompression);
* ``labelSelector``: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, comma-separated (AND);
* ``403 Forbidden`` with the RBAC ``Status`` on chosen paths; ``401`` without the token;
* a slow first answer (``slow``: path -> seconds, once), a 5xx (``fail_once``), or a raw
  answer of our choosing (``raw``: an HTML error page, truncated JSON...).

Every request is recorded as ``(method, path, query)`` so the tests can check that the
importer only ever reads. The certificate is self-signed, made with the ``openssl`` CLI.
"""

from __future__ import annotations

import base64
import gzip
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "test-token-9f8e7d6c5b4a-never-print-me"
"""The bearer token the server requires; tests assert it appears in no output."""

Items = list[dict[str, Any]] | Callable[[int, int], list[dict[str, Any]]]
"""A list's objects, or ``(start, stop) -> objects`` with ``sizes`` giving the count."""


@dataclass
class ApiState:
    """What the server serves and how it misbehaves; tests set these fields."""

    lists: dict[str, Items] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    version: dict[str, str] = field(
        default_factory=lambda: {"major": "1", "minor": "29", "gitVersion": "v1.29.4"}
    )
    forbidden: set[str] = field(default_factory=set)
    expire_once: set[str] = field(default_factory=set)
    expire_always: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)
    fail_once: dict[str, int] = field(default_factory=dict)
    raw: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    cache: dict[tuple[str, int, int, str], bytes] | None = None
    """When a dict, each page's body is kept once made (the benchmark's server, so that
    its pages cost the importer's time only)."""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    gzipped: int = 0
    """Answers sent compressed."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        items = self.lists.get(path, [])
        return self.sizes[path] if callable(items) else len(items)

    def page(self, path: str, start: int, stop: int) -> list[dict[str, Any]]:
        items = self.lists.get(path, [])
        return items(start, stop) if callable(items) else items[start:stop]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    state: ApiState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        # As the API server: gzip when asked and the body is over 128 KiB.
        if len(data) > 128 * 1024 and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data, compresslevel=1)
            self.send_header("Content-Encoding", "gzip")
            with self.state.lock:
                self.state.gzipped += 1
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _any(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        state = self.state
        with state.lock:
            state.requests.append((self.command, url.path, query))
            delay = state.slow.pop(url.path, 0.0)
            failing = state.fail_once.pop(url.path, None)
        if delay:
            time.sleep(delay)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
        if failing is not None:
            return self._send(failing, _status(failing, "InternalError", "etcd is busy"))
        if url.path in state.raw:
            code, content_type, body = state.raw[url.path]
            return self._send(code, body, content_type)
        if self.command != "GET":
            return self._send(405, _status(405, "MethodNotAllowed", "read-only server"))
        if url.path in state.forbidden:
            resource = url.path.rsplit("/", 1)[-1]
            return self._send(
                403,
                _status(
                    403,
                    "Forbidden",
                    f'{resource} is forbidden: User "system:serviceaccount:ops:underlay" '
                    f'cannot list resource "{resource}" at the cluster scope',
                ),
            )
        if url.path in ("/version", "/version/"):
            return self._send(200, state.version)
        if url.path not in state.lists:
            return self._send(404, _status(404, "NotFound", "the server could not find it"))
        self._list(url.path, query)

    def _list(self, path: str, query: dict[str, str]) -> None:
        state = self.state
        start, version = 0, "1000"
        if query.get("continue"):
            token = json.loads(base64.b64decode(query["continue"]))
            start, version = token["start"], token["rv"]
            with state.lock:
                expired = path in state.expire_once or path in state.expire_always
                state.expire_once.discard(path)
            if expired:
                return self._send(
                    410,
                    _status(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a "
                        "consistent list result. You can start a new list without the "
                        "continue parameter.",
                    ),
                )
        total = state.count(path)
        limit = int(query.get("limit") or 0) or total
        stop = min(total, start + limit)
        key = (path, start, stop, query.get("labelSelector") or "")
        if state.cache is not None and key in state.cache:
            return self._send(200, state.cache[key])
        items = state.page(path, start, stop)
        selector = query.get("labelSelector")
        if selector:
            items = [
                i
                for i in items
                if _matches((i.get("metadata") or {}).get("labels") or {}, selector)
            ]
        meta: dict[str, Any] = {"resourceVersion": version}
        if stop < total:
            token = json.dumps({"start": stop, "rv": version}).encode()
            meta["continue"] = base64.b64encode(token).decode()
            meta["remainingItemCount"] = total - stop
        kind = path.rsplit("/", 1)[-1]
        self._send(
            200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": meta, "items": items}
        )

    do_GET = _any
    do_POST = _any
    do_PUT = _any
    do_PATCH = _any
    do_DELETE = _any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: ``(cert, key)``."""
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def write_kubeconfig(
    path: Path, server: str, cert: Path, contexts: tuple[str, ...] = ("test",)
) -> None:
    """A kubeconfig whose contexts all point at ``server`` with :data:`TOKEN`."""
    ca = base64.b64encode(cert.read_bytes()).decode()
    names = contexts
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": f"{n}-cluster",
                "cluster": {"server": server, "certificate-authority-data": ca},
            }
            for n in names
        ],
        "users": [{"name": "reader", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": n, "context": {"cluster": f"{n}-cluster", "user": "reader"}} for n in names
        ],
        "current-context": names[0],
    }
    path.write_text(yaml.safe_dump(config))


@contextmanager
def serve(state: ApiState, cert: Path, key: Path) -> Iterator[str]:
    """Run the server on 127.0.0.1 (a free port) while the block runs; yields its URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = type("Handler", (_Handler,), {"state": state})
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
