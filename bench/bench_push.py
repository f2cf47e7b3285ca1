#!/usr/bin/env python
"""Benchmark: sync push ingest in checks per second on gunicorn, next to a bare executemany endpoint.

    python bench/bench_push.py [--batch 50] [--batches 200] [--workers 2] [--clients 4] [--rounds 2]

What it does, all on this machine and in this one run:

1. makes a throwaway SQLite database (``zicha db upgrade`` + ``zicha demo``), signs a demo
   worker in on one device per client thread, and reads the demo's schedules and checklist
   versions;
2. builds push bodies the way a device sends them (protocol v1, gzip): ``--batch`` checks per
   push, built by the reference client's
   :func:`sync.simulate.synthetic_records` (every item answered, some failed, photo digests named,
   time-ordered ids) and :func:`sync.simulate.push_bodies`; fresh ids for every run, and each
   device's ``device_seq`` carrying on from its last push, as a phone's does;
3. starts the Zicha server and ``bench/bare_push_app.py`` (parse the same body, ``sqlite3``
   ``executemany`` of the same rows, no rules) on gunicorn with the same worker count;
4. sends all batches from ``--clients`` threads — each thread a device sending its own pushes
   in order, as phones syncing at once do — alternating bare / checks / heap / zicha runs, and
   prints the checks per second of each, the ratio zicha / bare, and the bytes on the wire per
   check (request and answer bodies as sent — gzip both ways — and with HTTP headers).

"bare" inserts the rows a push stores — the checks, and the photo slots their answers name —
into tables shaped like ``checks`` and ``check_photos`` (their keys and indexes); the ratio is
taken against it. Two cheaper readings are printed beside it, to compare with earlier figures:
"checks", the checks rows alone (no photo slots: what the README's earlier figures compared
with), and "heap", the checks rows in a table with no key or index at all, cheaper to write and
useless to read (the earliest figures).

It prints figures; it is not a pass/fail test. Targets: ratio ≥ 0.5, ≤ 515 bytes per check.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bench_scan import BenchError, DEVICE, Server, http_json, prepare_database, read_demo  # noqa: E402
from sync.simulate import push_bodies, synthetic_records  # noqa: E402
from sync.timing import Reading  # noqa: E402

TARGET_RATIO = 0.5
TARGET_BYTES = 515


@dataclass
class Target:
    schedule_id: int
    version_id: int
    items: list


def read_targets(db_path: Path, enterprise: str) -> list[Target]:
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute(
            "SELECT s.id, v.id, v.items FROM schedules s JOIN checklists c ON c.id = s.checklist_id "
            "JOIN checklist_versions v ON v.id = c.current_version_id JOIN enterprises e ON e.id = s.enterprise_id "
            "WHERE e.code = ? AND s.active ORDER BY s.id",
            (enterprise,),
        ).fetchall()
    finally:
        con.close()
    if not rows:
        raise BenchError("the demo has no active schedule with a published version")
    return [Target(sid, vid, json.loads(items)) for sid, vid, items in rows]


def build_bodies(
    targets: list[Target], batches: int, batch: int, now: datetime, fail_rate: float = 0.05, first_seq: int = 1
) -> list[bytes]:
    """``batches`` gzip push bodies of ``batch`` checks each, as the reference client sends them:
    one device, offline for the last hours, its checks spread over the demo's schedules and
    numbered from ``first_seq``."""
    n = batches * batch
    seed = random.getrandbits(48)  # fresh ids every run: the same ids again would be duplicates
    start = now - timedelta(seconds=n + 60)
    boot = f"bench{seed:011x}"[-16:]
    per_target = [
        synthetic_records(
            n // len(targets) + 1, schedule_id=t.schedule_id, version={"id": t.version_id, "items": t.items},
            start=start, boot_id=boot, seed=seed + i, spacing=timedelta(seconds=len(targets)), fail_rate=fail_rate,
        )
        for i, t in enumerate(targets)
    ]
    records = sorted((r for group in per_target for r in group), key=lambda r: r["uptime_ms"])[:n]
    for seq, record in enumerate(records, first_seq):
        record["device_seq"] = seq
    sent = Reading(boot, 3_600_000 + int((now - start) / timedelta(milliseconds=1)), now)
    return [encoded.body for encoded in push_bodies(records, sent=sent, batch=batch)]


@dataclass
class RunResult:
    label: str
    checks_per_s: float
    body_bytes: int
    wire_bytes: int
    checks: int
    seconds: float = 0.0
    follow_up_seconds: float = 0.0  # the job's work for this run's failed checks (zicha only)

    @property
    def all_in_per_s(self) -> float:
        return self.checks / (self.seconds + self.follow_up_seconds)


FOLLOW_UP = """
import time
from server import create_app
from server.checks.follow_up import follow_up_all
app = create_app()
with app.app_context():
    started = time.perf_counter()
    done = follow_up_all()
    print(time.perf_counter() - started, done, sep="\t")
"""


def follow_up(env: dict) -> tuple[float, str]:
    """Run the ``checks.follow_up`` job's work in its own process, as the runner would: the
    seconds it took (start-up excluded) and what it did."""
    out = subprocess.run([sys.executable, "-c", FOLLOW_UP], env=env, cwd=BENCH.parent, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise BenchError(f"the follow-up failed: {out.stderr[-2000:]}")
    seconds, said = out.stdout.strip().splitlines()[-1].split("\t")
    return float(seconds), said


class Devices:
    """One signed-in device per client thread, each numbering its records on from its last push."""

    def __init__(self, tokens: list[str | None]):
        self.tokens = tokens
        self.next_seq = [1] * len(tokens)

    def bodies(self, targets: list[Target], batches: int, batch: int, now: datetime, fail_rate: float) -> list[tuple[str | None, list[bytes]]]:
        """``batches`` pushes shared out between the devices: per device its token and its pushes, in order."""
        streams = []
        for i, token in enumerate(self.tokens):
            mine = batches // len(self.tokens) + (i < batches % len(self.tokens))
            streams.append((token, build_bodies(targets, mine, batch, now, fail_rate, self.next_seq[i])))
            self.next_seq[i] += mine * batch
        return streams


def run(label: str, port: int, path: str, streams: list[tuple[str | None, list[bytes]]], batch: int) -> RunResult:
    """Each stream (a device's token and its pushes) sent in order from its own thread."""
    lock = threading.Lock()
    totals = {"body": 0, "wire": 0, "errors": []}

    def worker(token, bodies):
        for body in bodies:
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            con.request("POST", path, body=body, headers=headers)
            resp = con.getresponse()
            answer = resp.read()
            con.close()
            request_head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()
            ) + "\r\n"
            response_head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in resp.getheaders()) + "\r\n"
            with lock:
                if resp.status != 200:
                    totals["errors"].append(f"{resp.status} {answer[:300]!r}")
                totals["body"] += len(body) + len(answer)
                totals["wire"] += len(body) + len(answer) + len(request_head) + len(response_head)

    threads = [threading.Thread(target=worker, args=stream) for stream in streams]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if totals["errors"]:
        raise BenchError(f"{label}: {len(totals['errors'])} pushes failed, e.g. {totals['errors'][0]}")
    checks = sum(len(bodies) for _, bodies in streams) * batch
    return RunResult(label, checks / elapsed, totals["body"] // checks, totals["wire"] // checks, checks, elapsed)


def verify(port: int, token: str, body: bytes) -> None:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    con.request("POST", "/api/v1/sync/push", body=body, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip", "Authorization": f"Bearer {token}"})
    resp = con.getresponse()
    answer = json.loads(resp.read())
    if resp.status != 200:
        raise BenchError(f"the push answered {resp.status}: {answer}")
    kinds = {r["result"] for r in answer["results"]}
    if not kinds <= {"accepted", "awaiting_photos"}:
        raise BenchError(f"the sample push was not accepted — refusing to benchmark errors: {answer['results'][:2]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=50, help="checks per push (default 50)")
    parser.add_argument("--batches", type=int, default=200, help="pushes per run (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs of each, alternating (default 2)")
    parser.add_argument("--fail-rate", type=float, default=0.05, help="chance each answer fails (default 0.05: about 3 checks "
                        "in 10 fail an item; each failed check on a red or orange post raises an alert and hazard drafts)")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    servers: list[Server] = []
    tmp = Path(tempfile.mkdtemp(prefix="zicha-bench-push-"))
    try:
        print(f"preparing the demo database in {tmp} …", flush=True)
        env = prepare_database(tmp)
        facts = read_demo(tmp / "bench.db")
        targets = read_targets(tmp / "bench.db", facts.enterprise)
        from server.demo.data import DEMO_PASSWORD

        # The jobs runner is off in the server so the follow-up of failed checks can be timed
        # on its own after each run (see FOLLOW_UP), and added to the push's time.
        zicha = Server("zicha", "server.wsgi:app", args.workers, dict(env, ZICHA_JOBS="0"), tmp)
        bare = Server("bare", "bare_push_app:app", args.workers, env, tmp, ["--pythonpath", str(BENCH)])
        servers += [zicha, bare]
        zicha.wait_ready("/api/v1/openapi.json")
        bare.wait_ready("/bare/push")

        def sign_in(n: int) -> str:
            device = dict(DEVICE, install_id=f"{DEVICE['install_id']}-{n}", name=f"bench phone {n}")
            status, signed = http_json("POST", zicha.base + "/api/v1/auth/sign-in", {
                "enterprise": facts.enterprise, "username": facts.worker, "password": DEMO_PASSWORD, "device": device})
            if status not in (200, 201):
                raise BenchError(f"sign-in failed: {status} {signed}")
            return signed["token"]

        now = datetime.now(timezone.utc)
        verify(zicha.port, sign_in(0), build_bodies(targets, 1, args.batch, now)[0])
        phones = Devices([sign_in(n) for n in range(1, args.clients + 1)])
        no_auth = Devices([None] * args.clients)
        items = sum(len(t.items) for t in targets) / len(targets)
        print(f"push:  POST /api/v1/sync/push, {args.batch} checks per push (~{items:.1f} answers each, each answer failing "
              f"with chance {args.fail_rate}), gzip both ways")
        print("bare:  POST /bare/push, same body, json + sqlite3 executemany of the same rows (checks and their photo "
              "slots) into tables with the checks and check_photos tables' keys and indexes")
        print("checks: POST /bare/push-checks, the same without the photo slots (what earlier figures compared with)")
        print("heap:  POST /bare/push-heap, the checks rows alone into a table with no key and no index")
        print(f"{args.batches} pushes per run from {args.clients} threads (a device each); gunicorn --workers {args.workers} each; "
              f"machine: {os.cpu_count()} CPUs, {platform.platform()}\n", flush=True)

        kinds = (
            ("bare", bare, "/bare/push", no_auth), ("checks", bare, "/bare/push-checks", no_auth),
            ("heap", bare, "/bare/push-heap", no_auth), ("push", zicha, "/api/v1/sync/push", phones),
        )
        for _label, server, path, devices in kinds:
            run("warm-up", server.port, path, devices.bodies(targets, 20, args.batch, now, args.fail_rate), args.batch)
        follow_up(env)  # what the warm-up owes, so that each round's follow-up is its own
        results: dict[str, list[RunResult]] = {label: [] for label, *_ in kinds}
        for round_no in range(1, args.rounds + 1):
            for label, server, path, devices in kinds:
                r = run(label, server.port, path, devices.bodies(targets, args.batches, args.batch, now, args.fail_rate), args.batch)
                results[label].append(r)
                print(f"  round {round_no} {label:<6} {r.checks_per_s:9.0f} checks/s  {r.body_bytes:5d} body bytes/check  "
                      f"{r.wire_bytes:5d} with headers  ({r.checks} checks)", flush=True)
                if label == "push":
                    r.follow_up_seconds, said = follow_up(env)
                    print(f"               then the follow-up job: {said} in {r.follow_up_seconds:.2f} s → "
                          f"{r.all_in_per_s:.0f} checks/s all in", flush=True)
        best_bare, best_checks, best_heap, best_push = (max(results[k], key=lambda r: r.checks_per_s) for k in ("bare", "checks", "heap", "push"))
        ratio = best_push.checks_per_s / best_bare.checks_per_s
        print()
        print(f"best of {args.rounds}: bare {best_bare.checks_per_s:.0f} checks/s, checks {best_checks.checks_per_s:.0f} checks/s, "
              f"heap {best_heap.checks_per_s:.0f} checks/s, push {best_push.checks_per_s:.0f} checks/s")
        print(f"ratio push/bare = {ratio:.2f}  ({'meets' if ratio >= TARGET_RATIO else 'BELOW'} the target of {TARGET_RATIO}); "
              f"push/checks = {best_push.checks_per_s / best_checks.checks_per_s:.2f}, "
              f"push/heap = {best_push.checks_per_s / best_heap.checks_per_s:.2f}")
        all_in = max(r.all_in_per_s for r in results["push"])
        print(f"with the follow-up of failed checks counted: {all_in:.0f} checks/s, ratio {all_in / best_bare.checks_per_s:.2f}")
        print(f"bytes on the wire per check (push): {best_push.body_bytes} in bodies, {best_push.wire_bytes} with HTTP headers  "
              f"({'meets' if best_push.wire_bytes <= TARGET_BYTES else 'ABOVE'} the target of {TARGET_BYTES})")
        return 0
    except BenchError as err:
        print(f"benchmark aborted: {err}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
