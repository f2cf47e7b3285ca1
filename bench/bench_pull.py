"""Sync pull latency: an empty pull (nothing new) at 10 posts and at 100,000 posts.

The sync contract says a pull with nothing new costs the same for an enterprise of ten posts or a
hundred thousand. This script builds both enterprises in one database (the big one's posts and
their change-log rows inserted with SQLAlchemy Core in bulk, not ORM objects), brings a device of
each to the head of its log with a paged snapshot, then times pulls through the Flask test client
(in-process: no HTTP server, so the figures are the application's own cost):

* empty pull — the cursor is at the head: nothing new;
* one change — one post renamed since the cursor;
* for scale, ``GET /api/v1/enterprise`` — the same bearer-token check plus one primary-key read,
  i.e. about the cheapest authenticated request this server has.

Usage::

    python bench/bench_pull.py                              # SQLite in a temp dir
    python bench/bench_pull.py --posts 10 100000 --requests 3000
    python bench/bench_pull.py --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db

A PostgreSQL database must be empty: the migrations build the schema in it.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import create_app  # noqa: E402
from server.accounts import services as accounts  # noqa: E402
from server.accounts.models import Role  # noqa: E402
from server.changes.log import log_changes  # noqa: E402
from server.enterprises import services as enterprises  # noqa: E402
from server.extensions import db  # noqa: E402
from server.posts.models import Post  # noqa: E402

PASSWORD = "bench-password-1"
CHUNK = 10_000
PULL = "/api/v1/sync/pull"


def build_enterprise(code: str, posts: int) -> str:
    """An enterprise with ``posts`` active posts; returns a worker's bearer token."""
    enterprise = enterprises.create_enterprise(code, f"企业{code}")
    site = enterprises.create_site(enterprise.id, "厂区")
    accounts.create_user(enterprise.id, "worker", "工人", Role.WORKER, PASSWORD)
    db.session.commit()
    table = Post.__table__
    now = enterprise.created_at
    for start in range(0, posts, CHUNK):
        rows = [
            {
                "enterprise_id": enterprise.id, "site_id": site.id, "name": f"岗位{i}", "location": "",
                "risk_level": "yellow", "qr_token": secrets.token_urlsafe(32), "active": True, "created_at": now,
            }
            for i in range(start, min(posts, start + CHUNK))
        ]
        connection = db.session.connection()
        ids = connection.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
        log_changes(connection, enterprise.id, [("post", i) for i in ids])
        db.session.commit()
    token = accounts.sign_in(code, "worker", PASSWORD, {"install_id": f"{code}-phone", "name": "phone", "platform": "android"}).token
    db.session.commit()
    return token


def timed(client, url: str, headers: dict, query: dict, requests: int) -> list[float]:
    for _ in range(min(100, requests)):  # warm-up: caches, connection pool, code paths
        assert client.get(url, headers=headers, query_string=query).status_code == 200
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        r = client.get(url, headers=headers, query_string=query)
        samples.append(time.perf_counter() - began)
        assert r.status_code == 200
    return samples


def figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):6.3f} ms   p99 {p99:6.3f} ms   mean {statistics.fmean(ms):6.3f} ms"


def count_statements(app, client, headers: dict, query: dict) -> int:
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        client.get(PULL, headers=headers, query_string=query)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[10, 100_000])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds that interleave the sizes")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        client = app.test_client()
        with app.app_context():
            upgrade()
            print(f"database: {db.engine.dialect.name} {'.'.join(map(str, db.engine.dialect.server_version_info or ()))}")
            tokens = {}
            for n in args.posts:
                began = time.perf_counter()
                tokens[n] = build_enterprise(f"e{n}", n)
                print(f"built enterprise with {n:>7,} posts (+ {n:,} change rows) in {time.perf_counter() - began:6.1f} s")
            log_rows = db.session.scalar(sa.text("SELECT count(*) FROM changes"))
            print(f"change log: {log_rows:,} rows in all")
            db.session.remove()

        cases = {}  # posts -> (headers, cursor one change behind the head, cursor at the head)
        for n in args.posts:
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            # a paged snapshot brings the device to the head of the log
            began, cursor, pages, entities = time.perf_counter(), None, 0, 0
            while True:
                query = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
                page = client.get(PULL, headers=headers, query_string=query).json
                cursor, pages, entities = page["cursor"], pages + 1, entities + len(page["changes"])
                if not page["more"]:
                    break
            seconds = time.perf_counter() - began
            print(f"{n:>8,} posts: snapshot of {entities:,} entities in {pages} pages of ≤1000, {seconds:.2f} s ({entities / seconds:,.0f} entities/s)")
            with app.app_context():
                post_id = db.session.scalar(sa.select(sa.func.min(Post.id)).where(Post.enterprise_id == _enterprise_id(f"e{n}")))
                db.session.get(Post, post_id).name = "改名"  # the ORM path: the session listener logs it
                db.session.commit()
            head = client.get(PULL, headers=headers, query_string={"cursor": cursor}).json["cursor"]
            cases[n] = (headers, cursor, head)
        with app.app_context():
            _analyze()

        # Rounds interleave the sizes, so that a noisy neighbour slows both alike.
        samples = {(n, case): [] for n in args.posts for case in ("empty pull", "one change", "GET /enterprise")}
        per_round = max(1, args.requests // args.rounds)
        with app.app_context():
            for _ in range(args.rounds):
                for n, (headers, behind, head) in cases.items():
                    samples[n, "empty pull"] += timed(client, PULL, headers, {"cursor": head}, per_round)
                    samples[n, "one change"] += timed(client, PULL, headers, {"cursor": behind}, per_round)
                    samples[n, "GET /enterprise"] += timed(client, "/api/v1/enterprise", headers, {}, per_round)
            statements = {
                (n, case): count_statements(app, client, headers, {"cursor": cursor})
                for n, (headers, behind, head) in cases.items()
                for case, cursor in (("empty pull", head), ("one change", behind))
            }
        print()
        print(f"{'posts':>8}  {'case':<16} latency, {per_round * args.rounds} requests in {args.rounds} rounds (in-process)   SQL statements")
        for (n, case), values in samples.items():
            print(f"{n:>8,}  {case:<16} {figures(values)}   {statements.get((n, case), '-')}")
        with app.app_context():
            db.engine.dispose()


def _analyze() -> None:
    """Fresh planner statistics after the bulk load, as a deployment would have (and so that
    autovacuum does not analyse 100k rows in the middle of the timing)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def _enterprise_id(code: str) -> int:
    from server.enterprises.models import Enterprise

    return db.session.scalar(sa.select(Enterprise.id).where(Enterprise.code == code))


if __name__ == "__main__":
    main()
