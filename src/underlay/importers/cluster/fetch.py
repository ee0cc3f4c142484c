"""One live cluster, read through the official ``kubernetes`` client: the kubeconfig
context, the server version, and paginated lists with timeouts, retries and restarts.

Answers are read raw (``_preload_content=False``) and parsed with :func:`json.loads`:
the client's model classes would build a Python object per field of 100k pods. The
client's own urllib3 retries are switched off so that every retry is ours: with backoff,
counted, and reported.

A list is read in pages (``limit`` / ``continue``). When a continue token expires
(``410 Gone``, after five to fifteen minutes on a busy cluster) the list starts again
from its first page: pages of two snapshots would mix (Kubernetes API concepts,
"Retrieving large results sets in chunks").
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

from underlay.errors import InputError, TraceError, UnderlayError
from underlay.importers.cluster.reads import Read

__all__ = ["Connection", "Forbidden", "Limits", "NotServed"]

_LISTERS: Final = {
    "nodes": ("CoreV1Api", "list_node"),
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "namespaces": ("CoreV1Api", "list_namespace"),
    "replicasets": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
    "jobs": ("BatchV1Api", "list_job_for_all_namespaces"),
    "poddisruptionbudgets": ("PolicyV1Api", "list_pod_disruption_budget_for_all_namespaces"),
    "runtimeclasses": ("NodeV1Api", "list_runtime_class"),
}
"""The client's list call for each resource of :data:`~.reads.READS`."""

_RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Limits:
    """How patiently the importer reads."""

    page_size: int = 500
    """Objects per page (kubectl's own chunk size)."""
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    attempts: int = 4
    """Tries per request on a 5xx, a 429, a timeout or a broken connection."""
    backoff_seconds: float = 1.0
    """Wait before the second try; doubled before each next one."""
    restarts: int = 3
    """Fresh starts of one list after its continue token expired."""


class Forbidden(UnderlayError):
    """The credentials may not list this kind (403); the message is the server's."""


class NotServed(TraceError):
    """The server does not serve this kind at this API version (404): an older cluster
    (RuntimeClasses are ``node.k8s.io/v1`` from 1.20, PodDisruptionBudgets ``policy/v1``
    from 1.21) or a trimmed API."""


class _Expired(Exception):
    """The continue token expired (410): the list must start again."""


ObjectHook = Callable[[dict[str, Any]], Any]
Progress = Callable[[int, int], None]


class Connection:
    """The client for one kubeconfig context (the current one when ``context`` is None)."""

    def __init__(self, kubeconfig: Path | None, context: str | None, limits: Limits) -> None:
        from kubernetes import client, config

        self.limits = limits
        self._where = (
            f"--kubeconfig {kubeconfig}"
            if kubeconfig
            else f"kubeconfig {os.environ.get('KUBECONFIG') or '~/.kube/config'}"
        )
        file = str(kubeconfig) if kubeconfig else None
        if kubeconfig is not None and not kubeconfig.is_file():
            raise InputError(f"{self._where}: no such file")
        try:
            contexts, current = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=file
            )
            chosen = context or (current or {}).get("name")
            found = next((c for c in contexts if c.get("name") == chosen), None)
            if found is None:
                names = ", ".join(sorted(str(c.get("name")) for c in contexts)) or "none"
                raise InputError(f"{self._where}: no context {chosen!r} (contexts: {names})")
            configuration = client.Configuration()
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=file,
                context=chosen,
                client_configuration=configuration,
                persist_config=False,
            )
        except InputError:
            raise
        except Exception as exc:  # the loader raises ConfigException, yaml and OS errors
            raise InputError(f"{self._where}: cannot use it ({_first_line(exc)})") from None
        configuration.retries = False  # ours, with backoff: see _answer
        self.context = str(chosen)
        self.cluster = str((found.get("context") or {}).get("cluster") or chosen)
        self._client = client
        self._api = client.ApiClient(configuration)

    def describe(self) -> str:
        """``cluster C (context X)``, for messages: never a URL with credentials."""
        if self.cluster == self.context:
            return f"cluster {self.context}"
        return f"cluster {self.cluster} (context {self.context})"

    def version(self) -> str:
        """The server's ``gitVersion``, e.g. ``v1.29.4``."""
        api = self._client.VersionApi(self._api)
        doc = self._answer("/version", lambda: api.get_code(**self._options()))
        if not isinstance(doc, dict) or not isinstance(doc.get("gitVersion"), str):
            raise TraceError(f"{self.describe()}: GET /version: expected an object with gitVersion")
        return str(doc["gitVersion"])

    def list_objects(
        self, read: Read, hook: ObjectHook, *, selector: str | None, progress: Progress | None
    ) -> list[Any]:
        """``hook(object)`` of every object of ``read``, page by page; raises
        :class:`Forbidden` on a 403."""
        for _ in range(self.limits.restarts + 1):
            try:
                return self._pages(read, hook, selector, progress)
            except _Expired:
                continue
        raise InputError(
            f"{self.describe()}: GET {read.path}: the list expired (410) "
            f"{self.limits.restarts + 1} times before its last page; try again when the "
            "cluster is quieter, or with a larger page (--page-size)"
        )

    def _pages(
        self, read: Read, hook: ObjectHook, selector: str | None, progress: Progress | None
    ) -> list[Any]:
        api_class, method = _LISTERS[read.resource]
        call = getattr(getattr(self._client, api_class)(self._api), method)
        out: list[Any] = []
        token: str | None = None
        while True:
            args = self._options(limit=self.limits.page_size)
            if token:
                args["_continue"] = token
            if selector:
                args["label_selector"] = selector
            doc = self._answer(read.path, partial(call, **args), expired_ok=bool(token))
            items, token, remaining = _page(doc, read, self.describe())
            out.extend(hook(item) for item in items)
            if progress is not None:
                progress(len(out), len(out) + remaining)
            if not token:
                return out

    def _options(self, **extra: Any) -> dict[str, Any]:
        timeout = (self.limits.connect_timeout, self.limits.read_timeout)
        return {
            "_preload_content": False,
            "_request_timeout": timeout,
            # The API server compresses large lists when asked (APIResponseCompression,
            # on by default since 1.16); a 100k-pod cluster is ~350 MB of JSON.
            "_headers": {"Accept-Encoding": "gzip"},
            **extra,
        }

    def _answer(self, path: str, call: Callable[[], Any], *, expired_ok: bool = False) -> Any:
        """The parsed JSON of ``call()``, retried with backoff on transient failures."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        where = f"{self.describe()}: GET {path}"
        problem = ""
        for attempt in range(self.limits.attempts):
            if attempt:
                time.sleep(self.limits.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = call()
                status, body = int(response.status), bytes(response.data)
            except ApiException as exc:
                status, body = int(exc.status or 0), str(exc.body or exc.reason or "").encode()
            except (HTTPError, OSError) as exc:
                problem = _first_line(exc)
                continue
            if status in _RETRIED_STATUSES:
                problem = f"HTTP {status}: {_message(body)}"
                continue
            if status == 410 and expired_ok:
                raise _Expired
            if status == 403:
                raise Forbidden(f"{where}: forbidden (403): {_message(body)}")
            if status == 404:
                raise NotServed(f"{where}: not served by this cluster (404)")
            if status == 0:  # the client's code for a TLS failure
                raise InputError(f"{where}: {_message(body)}")
            if status == 401:
                raise InputError(f"{where}: the server refused the credentials (401)")
            if not 200 <= status < 300:
                raise TraceError(f"{where}: HTTP {status}: {_message(body)}")
            return _json(body, where)
        raise InputError(
            f"{where}: no answer after {self.limits.attempts} tries (last: {problem}); "
            "is the cluster reachable?"
        )


def _page(doc: Any, read: Read, source: str) -> tuple[list[dict[str, Any]], str | None, int]:
    """``(items, continue token, remaining count)`` of one list page, type-checked."""
    where = f"{source}: GET {read.path}"
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise TraceError(f"{where}: expected a {read.kind}List with a list of items")
    items = doc.get("items") or []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise TraceError(f"{where}: items[{index}]: expected an object, got {item!r:.40}")
    meta = doc.get("metadata") or {}
    if not isinstance(meta, dict):
        raise TraceError(f"{where}: metadata: expected an object")
    token = meta.get("continue") or None
    remaining = meta.get("remainingItemCount") or 0
    if token is not None and not isinstance(token, str):
        raise TraceError(f"{where}: metadata.continue: expected a string")
    return items, token, remaining if isinstance(remaining, int) else 0


def _json(body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        head = body.lstrip()[:1]
        if head == b"<":
            hint = "an HTML page; is the kubeconfig's server the API server, not a proxy?"
        elif not body.strip():
            hint = "an empty answer"
        else:
            hint = f"truncated or malformed ({exc})"
        raise TraceError(f"{where}: the answer is not JSON: {hint}") from None


def _message(body: bytes) -> str:
    """The ``message`` of a ``Status`` answer, else the start of the body."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])
    text = body.decode("utf-8", "replace").strip()
    return text[:120] or "no message"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
