#!/usr/bin/env python
"""Where a sync push spends its time: per-push times, SQL statements, and a cProfile.

    python bench/profile_push.py [--batch 50] [--pushes 200] [--fail-rate 0.05] [--top 40]

In one process, on a throwaway SQLite database with the demo data: sign a demo worker in on a
device, then send ``--pushes`` gzip bodies of ``--batch`` checks to ``POST /api/v1/sync/push``
through ``app.test_client()`` (no HTTP server), and the same bodies to the bare endpoint
(``bench/bare_push_app.py``). It prints the time per push of each, the SQL statements one push
sends, and the top functions of a cProfile run. ``bench/bench_push.py`` gives the figures over
HTTP; this says where they come from.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

from bench_push import build_bodies, read_targets  # noqa: E402
from profile_scan import build, sql_log  # noqa: E402

HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def send_all(client, path, bodies, headers):
    t0 = time.perf_counter()
    for body in bodies:
        resp = client.post(path, data=body, headers=headers)
        assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:300])
    return (time.perf_counter() - t0) / len(bodies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--pstats", help="also save the cProfile data here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="zicha-profile-push-"))
    try:
        app, client, token, _post_id, _qr, url = build(tmp)
        from server.demo.data import DEMO_CODE
        from server.extensions import db

        targets = read_targets(tmp / "profile.db", DEMO_CODE)
        now = datetime.now(timezone.utc)
        headers = dict(HEADERS, Authorization=f"Bearer {token}")

        from bare_push_app import create_bare_app
        bare_client = create_bare_app(url).test_client()
        gc.freeze()  # as server/wsgi.py does in each gunicorn worker once the app is built

        next_seq = [1]

        def bodies(n):
            """The device's next ``n`` pushes, numbered on from the last, as a phone's are."""
            made = build_bodies(targets, n, args.batch, now, args.fail_rate, next_seq[0])
            next_seq[0] += n * args.batch
            return made

        send_all(client, "/api/v1/sync/push", bodies(20), headers)

        def bare_bodies(n):
            return build_bodies(targets, n, args.batch, now, args.fail_rate)

        send_all(bare_client, "/bare/push", bare_bodies(20), HEADERS)
        t_bare = send_all(bare_client, "/bare/push", bare_bodies(args.pushes), HEADERS)
        t_push = send_all(client, "/api/v1/sync/push", bodies(args.pushes), headers)
        t_checks = send_all(bare_client, "/bare/push-checks", bare_bodies(args.pushes), HEADERS)
        t_heap = send_all(bare_client, "/bare/push-heap", bare_bodies(args.pushes), HEADERS)
        t_bare2 = send_all(bare_client, "/bare/push", bare_bodies(args.pushes), HEADERS)
        t_push2 = send_all(client, "/api/v1/sync/push", bodies(args.pushes), headers)
        t_bare, t_push = min(t_bare, t_bare2), min(t_push, t_push2)

        with app.app_context():
            engine = db.engine
        with sql_log(engine) as statements:
            send_all(client, "/api/v1/sync/push", bodies(1), headers)

        print(f"in-process (test_client), {args.pushes} pushes of {args.batch} checks, fail rate {args.fail_rate}")
        print(f"  bare    {t_bare * 1000:7.3f} ms/push  {t_bare * 1e6 / args.batch:6.1f} µs/check  (checks and photo slots, tables shaped like the server's)")
        print(f"  checks  {t_checks * 1000:7.3f} ms/push  {t_checks * 1e6 / args.batch:6.1f} µs/check  (the checks rows alone)")
        print(f"  heap    {t_heap * 1000:7.3f} ms/push  {t_heap * 1e6 / args.batch:6.1f} µs/check  (the checks rows alone, no key, no index)")
        print(f"  push    {t_push * 1000:7.3f} ms/push  {t_push * 1e6 / args.batch:6.1f} µs/check")
        print(f"  ratio push/bare (in-process)  {t_bare / t_push:.2f}")
        print(f"\nSQL of one push ({len(statements)} statements):")
        for i, s in enumerate(statements, 1):
            print(f"  {i}. {s[:150]}{'…' if len(s) > 150 else ''}")

        profiler = cProfile.Profile()
        work = bodies(args.pushes)
        profiler.enable()
        send_all(client, "/api/v1/sync/push", work, headers)
        profiler.disable()
        if args.pstats:
            profiler.dump_stats(args.pstats)
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(args.top)
            print(f"\ncProfile by {key}:")
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
