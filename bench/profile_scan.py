#!/usr/bin/env python
"""Where a scan request spends its time: stage timings, SQL statements, and a cProfile.

    python bench/profile_scan.py [--requests 2000] [--top 30] [--pstats out.pstats]

In one process, on a throwaway SQLite database with the demo data: sign in as a demo worker,
then send N ``GET /api/v1/scan/<token>`` through ``app.test_client()`` (no HTTP server, no
network). It prints

* the time per request for the whole request, for authentication (``server.accounts.auth``),
  for the scan rule (``server.scan.services.scan``) and for marshmallow serialisation
  (``ScanOut.dump``), next to the same figures for the bare app (``bench/bare_app.py``);
* the SQL statements one scan request sends, in order;
* the top functions of a cProfile run, by own time and by cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

DEVICE = {"install_id": "bench-device-0001", "name": "bench", "platform": "bench"}


def build(tmp: Path):
    url = f"sqlite:///{tmp / 'profile.db'}"
    os.environ["ZICHA_DATABASE_URL"] = url
    os.environ.setdefault("ZICHA_SECRET_KEY", "profile-" + os.urandom(16).hex())
    os.environ["ZICHA_INSTANCE_PATH"] = str(tmp / "instance")

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from server import create_app
    from server.demo.data import DEMO_CODE, DEMO_PASSWORD, load_demo
    from server.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        worker = db.session.execute(sa.text(
            "SELECT u.username FROM users u JOIN enterprises e ON e.id = u.enterprise_id "
            "WHERE e.code = :c AND u.role = 'worker' ORDER BY u.id LIMIT 1"), {"c": DEMO_CODE}).scalar_one()
        post_id, qr_token = db.session.execute(sa.text(
            "SELECT p.id, p.qr_token FROM posts p JOIN schedules s ON s.post_id = p.id "
            "WHERE p.active AND s.active GROUP BY p.id ORDER BY COUNT(s.id) DESC, p.id LIMIT 1")).one()
    client = app.test_client()
    resp = client.post("/api/v1/auth/sign-in", json={
        "enterprise": DEMO_CODE, "username": worker, "password": DEMO_PASSWORD, "device": DEVICE})
    assert resp.status_code in (200, 201), resp.get_json()
    token = resp.get_json()["token"]
    return app, client, token, post_id, qr_token, url


class Stages:
    """Wraps a few functions by module attribute to add up their wall time."""

    def __init__(self):
        self.total = defaultdict(float)
        self._undo = []

    def wrap(self, owner, name, label):
        original = getattr(owner, name)
        total = self.total

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                total[label] += time.perf_counter() - t0

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def undo(self):
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


@contextmanager
def sql_log(engine):
    import sqlalchemy as sa

    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def per_request(client, url, n, headers=None):
    for _ in range(min(200, n)):  # warm caches (SQLAlchemy compiled cache, marshmallow, …)
        client.get(url, headers=headers)
    t0 = time.perf_counter()
    for _ in range(n):
        resp = client.get(url, headers=headers)
    elapsed = time.perf_counter() - t0
    assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True))
    return elapsed / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--pstats", help="also save the cProfile data here (for snakeviz etc.)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="zicha-profile-"))
    try:
        app, client, token, post_id, qr_token, url = build(tmp)
        headers = {"Authorization": f"Bearer {token}"}
        scan_url = f"/api/v1/scan/{qr_token}"
        first = client.get(scan_url, headers=headers)
        if first.status_code != 200 or not first.get_json().get("schedules"):
            print(f"scan answered {first.status_code}: {first.get_data(as_text=True)}", file=sys.stderr)
            return 1
        n_sched = len(first.get_json()["schedules"])
        body_len = len(first.get_data())

        from bare_app import create_bare_app
        bare = create_bare_app(url)
        bare_client = bare.test_client()
        bare_url = f"/bare/{post_id}"
        bare_len = len(bare_client.get(bare_url).get_data())

        from server.accounts import auth
        from server.extensions import db
        from server.scan import services
        from server.scan.schemas import ScanOut

        # 1. Plain per-request times, no instrumentation.
        n = args.requests
        t_bare = per_request(bare_client, bare_url, n)
        t_scan = per_request(client, scan_url, n, headers)

        # 2. The same with stage timers (adds a little overhead of its own).
        stages = Stages()
        stages.wrap(auth, "authenticate", "auth.authenticate (token lookup)")
        stages.wrap(services, "scan", "scan.services.scan (3 queries + periods)")
        stages.wrap(ScanOut, "dump", "ScanOut.dump (marshmallow, incl. lazy loads)")
        t_staged = per_request(client, scan_url, n, headers)
        warm = min(200, n)
        stage_ms = {k: v / (n + warm) * 1000 for k, v in stages.total.items()}
        stages.undo()

        # 3. The SQL one request sends.
        with app.app_context():
            engine = db.engine
        with sql_log(engine) as statements:
            client.get(scan_url, headers=headers)
        with bare.app_context():
            import bare_app
            bare_engine = bare_app.db.engine
        with sql_log(bare_engine) as bare_statements:
            bare_client.get(bare_url)

        print(f"in-process (test_client), {n} requests each, post {post_id} with {n_sched} schedules")
        print(f"  bare  /bare/{post_id}           {t_bare * 1000:7.3f} ms/request  ({1 / t_bare:7.0f}/s per core)  "
              f"{len(bare_statements)} SQL statements, {bare_len} bytes")
        print(f"  scan  /api/v1/scan/<token>  {t_scan * 1000:7.3f} ms/request  ({1 / t_scan:7.0f}/s per core)  "
              f"{len(statements)} SQL statements, {body_len} bytes")
        print(f"  ratio scan/bare (in-process)  {t_bare / t_scan:.2f}")
        print(f"\nstages of a scan request (timed run: {t_staged * 1000:.3f} ms/request)")
        accounted = 0.0
        for label, ms in stage_ms.items():
            accounted += ms
            print(f"  {ms:7.3f} ms  {100 * ms / (t_staged * 1000):5.1f}%  {label}")
        rest = t_staged * 1000 - accounted
        print(f"  {rest:7.3f} ms  {100 * rest / (t_staged * 1000):5.1f}%  the rest: Flask/Werkzeug/flask-smorest, "
              "session set-up and teardown, JSON encoding")
        print("\nSQL of one scan request:")
        for i, s in enumerate(statements, 1):
            print(f"  {i}. {s[:160]}{'…' if len(s) > 160 else ''}")
        print("SQL of one bare request:")
        for i, s in enumerate(bare_statements, 1):
            print(f"  {i}. {s[:160]}")

        # 4. cProfile.
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            client.get(scan_url, headers=headers)
        profiler.disable()
        if args.pstats:
            profiler.dump_stats(args.pstats)
        for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key)
            stats.print_stats(args.top)
            print(f"\ncProfile over {n} scan requests, top {args.top} by {title}:")
            text = out.getvalue()
            print(text[text.find("   ncalls"):].rstrip())
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
