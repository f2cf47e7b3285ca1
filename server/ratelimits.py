"""Rate limits that keep no address (Flask-Limiter, :data:`server.extensions.limiter`).

A limit per client needs a name for the client, and the only one a public page has is the
address it calls from — exactly what a reporter must be able to trust we do not keep. So the
limiter never sees the address: :func:`client_key` gives it ``HMAC-SHA256(day key, address)``,
and the day key changes when the UTC day does.

- With the default ``RATELIMIT_STORAGE_URI = memory://`` the day key is 32 random bytes made in
  the process and dropped at the end of the day: after that, nobody — not the operator with
  every secret, not a memory dump — can tell which address a counter belonged to. The counters
  themselves expire with their windows (minutes to a day). Each worker process counts on its
  own, so with N gunicorn workers a client may get up to N times a limit.
- With a shared store (``redis://…``, as a multi-worker production should use, so that the
  workers count together) the workers must agree on the key, so it is derived from
  ``SECRET_KEY`` and the day. The store then holds keyed hashes that someone holding
  ``SECRET_KEY`` could test addresses against for as long as a counter lives (a day at most).

An IPv6 client is counted by its /64 network (one home or phone gets a whole /64 and could
otherwise step through it). Behind reverse proxies, ``RATELIMIT_TRUSTED_PROXIES`` says how many
of them append to ``X-Forwarded-For``; the address the nearest trusted proxy saw is used. Left
at 0 behind a proxy, every client is the proxy — and the per-client limits become one shared
limit, so set it.

Limits are strings in Flask-Limiter's notation (``"5 per minute;50 per day"``) read from the
config at request time (:func:`configured`), so a test can lower one for a moment.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from collections.abc import Callable

from flask import current_app, request

from server import clock


class DayKeys:
    """The key of the current UTC day. ``shared_secret`` None: a random key per process,
    forgotten when the day turns; else a key derived from the secret and the day."""

    def __init__(self, shared_secret: bytes | None):
        self._shared = shared_secret
        self._lock = threading.Lock()
        self._day: str | None = None
        self._key = b""

    def key(self, day: str) -> bytes:
        if self._shared is not None:
            return hmac.new(self._shared, f"zicha client key {day}".encode(), hashlib.sha256).digest()
        with self._lock:
            if day != self._day:
                self._day, self._key = day, secrets.token_bytes(32)  # yesterday's key is gone
            return self._key

    @classmethod
    def for_config(cls, config) -> DayKeys:
        memory = config["RATELIMIT_STORAGE_URI"].startswith("memory://")
        return cls(None if memory else config["SECRET_KEY"].encode())


def client_address() -> str:
    """The address the request came from: the peer, or what the nearest trusted proxy saw."""
    address = request.remote_addr or ""
    proxies = current_app.config["RATELIMIT_TRUSTED_PROXIES"]
    if proxies > 0:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    return address


def client_network(address: str) -> str:
    """What one client is: an IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_key() -> str:
    """The limiter's name for the calling client: a keyed hash of its address under today's key."""
    day_key = current_app.extensions["zicha.client_keys"].key(clock.now().date().isoformat())
    digest = hmac.new(day_key, client_network(client_address()).encode(), hashlib.sha256).hexdigest()
    return f"client:{digest[:32]}"


def configured(setting: str) -> Callable[[], str]:
    """A limit read from ``app.config[setting]`` when a request is checked."""
    return lambda: current_app.config[setting]
