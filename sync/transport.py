"""HTTP for the reference client: ``requests`` with retries, byte counts and injectable faults.

A phone's link drops at the worst moments: before a request leaves, or after the server has
committed but before its answer arrives. The sync protocol makes both safe to retry (the server
is idempotent by record id, and answers only after its commit), so :class:`Transport` simply
retries network errors and ``502/503/504`` with backoff. The sleep between attempts is
injectable: tests never sleep.

:class:`FaultInjectingAdapter` is a ``requests`` transport adapter that breaks chosen requests on
purpose, against a real HTTP server:

``Fault.DROP_BEFORE_SEND``
    the connection fails before anything is sent: the server never sees the request.
``Fault.DROP_AFTER_COMMIT``
    the request is sent and the server answers in full (so it has committed), then the answer
    is thrown away and the caller gets a connection error — "response lost after commit".
"""
from __future__ import annotations

import enum
import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

RETRY_STATUSES = frozenset({502, 503, 504})


class TransportError(Exception):
    """The request could not be completed (after retries)."""


class Unavailable(TransportError):
    """The server could not be reached, or kept answering 502/503/504."""


class HTTPError(TransportError):
    """The server answered with an error the client cannot retry its way out of."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = {"error": {"code": "http_error", "message": response.text[:200]}}
        error = self.body.get("error", {}) if isinstance(self.body, dict) else {}
        self.code = error.get("code", "http_error")
        super().__init__(f"{response.request.method} {urlsplit(response.url).path}: {self.status} {self.code}")


class AuthError(HTTPError):
    """401: the token is missing, expired or revoked (sign in again)."""


class Fault(enum.Enum):
    DROP_BEFORE_SEND = "drop_before_send"
    DROP_AFTER_COMMIT = "drop_after_commit"


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    path: str | None
    times: int


@dataclass
class InjectedFault:
    fault: Fault
    method: str
    path: str


class FaultInjectingAdapter(HTTPAdapter):
    """Breaks the next matching requests on purpose (see the module docstring).

    ``add(Fault.DROP_AFTER_COMMIT, method="POST", path="/api/v1/sync/push", times=2)`` breaks
    the next two pushes after the server answered them. ``path`` matches a prefix of the URL
    path. Every fault fired is appended to ``injected``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rules: list[_Rule] = []
        self.injected: list[InjectedFault] = []

    def add(self, fault: Fault, *, method: str | None = None, path: str | None = None, times: int = 1) -> None:
        self._rules.append(_Rule(fault, method.upper() if method else None, path, times))

    @property
    def armed(self) -> int:
        """How many faults are still waiting to fire."""
        return sum(r.times for r in self._rules)

    def _take(self, request: requests.PreparedRequest) -> Fault | None:
        path = urlsplit(request.url or "").path
        for rule in self._rules:
            if rule.times > 0 and rule.method in (None, request.method) and (rule.path is None or path.startswith(rule.path)):
                rule.times -= 1
                self.injected.append(InjectedFault(rule.fault, request.method or "", path))
                return rule.fault
        return None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        fault = self._take(request)
        if fault is Fault.DROP_BEFORE_SEND:
            raise requests.ConnectionError("injected: connection dropped before the request was sent", request=request)
        response = super().send(request, **kwargs)
        if fault is Fault.DROP_AFTER_COMMIT:
            _ = response.content  # the server has answered in full: it has committed
            response.close()
            raise requests.ConnectionError("injected: connection dropped after the server answered", request=request)
        return response


@dataclass
class WireStats:
    """Bytes on the wire (request line, headers and bodies as sent/received) and requests."""

    requests: int = 0
    attempts: int = 0
    sent: int = 0
    received: int = 0
    network_errors: int = 0
    retried_statuses: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.sent + self.received


class Transport:
    """One device's HTTP client for the Zicha API under ``base_url``.

    ``sleep`` (default :func:`time.sleep`) waits between retries; pass ``lambda s: None`` in
    tests. ``adapter`` replaces the connection adapter (e.g. a :class:`FaultInjectingAdapter`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        adapter: HTTPAdapter | None = None,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: tuple[float, float] = (10.0, 60.0),
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "zicha-sync-client/1",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.adapter = adapter or HTTPAdapter()
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.session.headers["User-Agent"] = user_agent
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.sleep = sleep
        self.token: str | None = None
        self.stats = WireStats()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        body: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        compress: bool = False,
        ok: tuple[int, ...] = (200, 201, 204),
        retry: bool = True,
    ) -> requests.Response:
        """Send a request; retry network errors and 502/503/504; return a response in ``ok``.

        Any other status raises :class:`HTTPError` (:class:`AuthError` for 401); exhausted
        retries raise :class:`Unavailable`. ``compress`` gzips the body (``Content-Encoding``).
        ``body``, when given, is called before every attempt and returns an object with
        ``body`` (bytes) and ``headers``: a push is rebuilt with its clocks read as it is sent.
        """
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if compress and data is not None:
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self.stats.requests += 1
        attempts = 1 + (self.retries if retry else 0)
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                self.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            self.stats.attempts += 1
            if body is not None:
                built = body()
                data = built.body
                headers.update(built.headers)
            try:
                response = self.session.request(method, self.url(path), data=data, headers=headers, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                self.stats.network_errors += 1
                self._count_sent(method, path, data, headers, params)
                last = error
                continue
            self._count(response)
            if response.status_code in RETRY_STATUSES:
                self.stats.retried_statuses += 1
                last = HTTPError(response)
                continue
            if response.status_code in ok:
                return response
            if response.status_code == 401:
                raise AuthError(response)
            raise HTTPError(response)
        raise Unavailable(f"{method} {path}: gave up after {attempts} attempts: {last}") from last

    # Bytes are counted as HTTP/1.1 puts them on the wire (before TLS), which is what a metered
    # link is billed for, near enough.
    def _count_sent(self, method: str, path: str, data: bytes | None, headers: dict, params: dict | None) -> None:
        head = len(method) + len(path) + 12 + sum(len(k) + len(str(v)) + 4 for k, v in headers.items())
        self.stats.sent += head + (len(data) if data else 0)

    def _count(self, response: requests.Response) -> None:
        request = response.request
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode() if isinstance(request.body, str) else b""
        sent = len(request.method or "") + len(request.path_url) + 12 + sum(len(k) + len(v) + 4 for k, v in request.headers.items()) + len(body)
        raw_length = response.headers.get("Content-Length")
        received_body = int(raw_length) if raw_length and raw_length.isdigit() else len(response.content)
        received = 17 + len(response.reason or "") + sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + received_body
        self.stats.sent += sent
        self.stats.received += received
        path = urlsplit(response.url).path
        segments = path.split("/api/v1/", 1)[-1].strip("/").split("/")
        name = "/".join(segments[:2]) if segments[0] == "sync" else segments[0]
        self.stats.by_path[name] = self.stats.by_path.get(name, 0) + sent + received
