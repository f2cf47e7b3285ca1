"""The client's transport against a tiny real HTTP server: faults land where they claim to."""
from __future__ import annotations

import gzip
import threading

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from sync.transport import AuthError, Fault, FaultInjectingAdapter, HTTPError, Transport, Unavailable


@pytest.fixture
def counter_server():
    """Counts the requests that reached it; /flaky answers 503 until told otherwise."""
    app = Flask("counter")
    seen: list[tuple[str, bytes, str]] = []
    state = {"unavailable": 0}

    @app.route("/count", methods=["GET", "POST"])
    def count():
        seen.append((request.method, request.get_data(), request.headers.get("Content-Encoding", "")))
        return {"seen": len(seen)}

    @app.route("/flaky", methods=["POST"])
    def flaky():
        seen.append(("POST", request.get_data(), ""))
        if state["unavailable"] > 0:
            state["unavailable"] -= 1
            return {"error": {"code": "service_unavailable"}}, 503
        return {"ok": True}

    @app.route("/private")
    def private():
        return {"error": {"code": "unauthorized", "message": "sign in"}}, 401

    @app.route("/bad", methods=["POST"])
    def bad():
        return {"error": {"code": "validation_failed", "message": "no"}}, 422

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen, state
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def transport(url: str, adapter: FaultInjectingAdapter | None = None, retries: int = 3) -> tuple[Transport, list[float]]:
    waits: list[float] = []
    return Transport(url, adapter=adapter, retries=retries, sleep=waits.append), waits


def test_a_drop_before_sending_never_reaches_the_server_and_is_retried(counter_server):
    url, seen, _ = counter_server
    adapter = FaultInjectingAdapter()
    adapter.add(Fault.DROP_BEFORE_SEND, method="POST", path="/count", times=2)
    client, waits = transport(url, adapter)
    assert client.request("POST", "/count", json_body={"a": 1}).json() == {"seen": 1}
    assert len(seen) == 1 and waits == [0.5, 1.0]
    assert [f.fault for f in adapter.injected] == [Fault.DROP_BEFORE_SEND] * 2
    assert client.stats.network_errors == 2 and client.stats.attempts == 3


def test_a_drop_after_the_answer_reached_the_server_and_the_retry_goes_again(counter_server):
    url, seen, _ = counter_server
    adapter = FaultInjectingAdapter()
    adapter.add(Fault.DROP_AFTER_COMMIT, path="/count")
    client, _ = transport(url, adapter)
    assert client.request("POST", "/count", json_body={"a": 1}, compress=True).json() == {"seen": 2}
    assert len(seen) == 2 and seen[0] == seen[1]  # the very same request, twice
    assert gzip.decompress(seen[0][1]) == b'{"a":1}' and seen[0][2] == "gzip"
    assert adapter.armed == 0


def test_503_is_retried_and_exhausted_retries_say_unavailable(counter_server):
    url, seen, state = counter_server
    client, _ = transport(url, retries=2)
    state["unavailable"] = 2
    assert client.request("POST", "/flaky", data=b"x").json() == {"ok": True}
    state["unavailable"] = 5
    with pytest.raises(Unavailable):
        client.request("POST", "/flaky", data=b"x")
    adapter = FaultInjectingAdapter()
    adapter.add(Fault.DROP_BEFORE_SEND, times=3)
    dropped, _ = transport(url, adapter, retries=2)
    with pytest.raises(Unavailable):
        dropped.request("GET", "/count")


def test_client_errors_are_not_retried(counter_server):
    url, seen, _ = counter_server
    client, waits = transport(url)
    with pytest.raises(AuthError):
        client.request("GET", "/private")
    with pytest.raises(HTTPError) as error:
        client.request("POST", "/bad", json_body={})
    assert error.value.status == 422 and error.value.code == "validation_failed" and waits == []


def test_bytes_on_the_wire_are_counted(counter_server):
    url, _, _ = counter_server
    client, _ = transport(url)
    client.request("POST", "/count", data=b"x" * 1000)
    assert client.stats.sent > 1000 and client.stats.received > 0
    assert client.stats.by_path == {"count": client.stats.total}
