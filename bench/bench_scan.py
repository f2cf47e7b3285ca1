#!/usr/bin/env python
"""Benchmark: scan requests per second on gunicorn, next to a bare Flask endpoint.

    python bench/bench_scan.py [--seconds 10] [--workers 2] [--connections 16]

What it does, all on this machine and in this one run:

1. makes a throwaway SQLite database in a temp dir, runs ``zicha db upgrade`` and ``zicha demo``;
2. starts the Zicha server on gunicorn (``server.wsgi:app``) and the bare app
   (``bench/bare_app.py``: one primary-key read with Flask-SQLAlchemy, no flask-smorest, no
   auth) on gunicorn, same worker count, same database file, 127.0.0.1 only;
3. signs in as a demo worker and checks that the scan URL answers 200 with schedules;
4. loads both with ``wrk`` (warm-up, then bare / scan / bare / scan) and prints the best run of
   each: requests per second, p50 / p99 latency, and the ratio scan / bare.

It prints figures; it is not a pass/fail test. The target is a ratio of at least 0.7.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
TARGET_RATIO = 0.7
DEVICE = {"install_id": "bench-device-0001", "name": "bench", "platform": "bench"}


class BenchError(RuntimeError):
    """A reason to stop the benchmark, said plainly."""


# --------------------------------------------------------------------------- setup


def zicha_command() -> list[str]:
    exe = shutil.which("zicha")
    if exe:
        return [exe]
    # Not installed as a script: the same commands through the flask CLI.
    return [sys.executable, "-m", "flask", "--app", "server"]


def run_cli(args: list[str], env: dict, timeout: float = 120) -> str:
    cmd = zicha_command() + args
    try:
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`{' '.join(args)}` did not finish in {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise BenchError(f"`zicha {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare_database(tmp: Path) -> dict:
    """A fresh database with the demo enterprise; the environment every process shares."""
    if not (REPO / "server" / "demo" / "data.py").exists():
        raise BenchError("server/demo/data.py is missing: the demo data is needed to benchmark the scan")
    env = dict(os.environ)
    env.update(
        {
            "ZICHA_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "ZICHA_SECRET_KEY": "bench-" + os.urandom(24).hex(),
            "ZICHA_INSTANCE_PATH": str(tmp / "instance"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("ZICHA_DEBUG", None)
    run_cli(["db", "upgrade"], env)
    run_cli(["demo"], env)
    return env


@dataclass
class DemoFacts:
    enterprise: str
    worker: str
    post_id: int
    qr_token: str
    schedules: int


def read_demo(db_path: Path) -> DemoFacts:
    con = sqlite3.connect(db_path)
    try:
        demo_code = _demo_code()
        ent = con.execute("SELECT id, code FROM enterprises WHERE code = ?", (demo_code,)).fetchone()
        if ent is None:
            ent = con.execute("SELECT id, code FROM enterprises ORDER BY id LIMIT 1").fetchone()
        if ent is None:
            raise BenchError("the demo created no enterprise")
        enterprise_id, code = ent
        worker = con.execute(
            "SELECT username FROM users WHERE enterprise_id = ? AND role = 'worker' AND active ORDER BY id LIMIT 1",
            (enterprise_id,),
        ).fetchone()
        if worker is None:
            raise BenchError("the demo has no active user with role 'worker'")
        post = con.execute(
            "SELECT p.id, p.qr_token, COUNT(s.id) AS n FROM posts p JOIN schedules s ON s.post_id = p.id "
            "WHERE p.enterprise_id = ? AND p.active AND s.active GROUP BY p.id ORDER BY n DESC, p.id LIMIT 1",
            (enterprise_id,),
        ).fetchone()
        if post is None:
            raise BenchError("the demo has no active post with an active schedule")
        return DemoFacts(code, worker[0], post[0], post[1], post[2])
    finally:
        con.close()


def _demo_code() -> str:
    try:
        sys.path.insert(0, str(REPO))
        from server.demo.data import DEMO_CODE

        return DEMO_CODE
    except Exception:  # noqa: BLE001 - fall back to the first enterprise
        return "demo"


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn, started on 127.0.0.1 and always stopped by :meth:`stop`."""

    def __init__(self, name: str, app: str, workers: int, env: dict, log_dir: Path, extra: list[str] = ()):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        cmd = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--error-logfile", str(self.log_path),
            "--log-level", "warning",
            *extra,
            app,
        ]  # no --access-logfile: gunicorn writes no access log unless asked
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}; see {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as resp:
                    resp.read()
                    return
            except urllib.error.HTTPError:
                return  # it answers; the status is checked later
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f}s; {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "log:\n" + "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()  # gunicorn's arbiter stops its workers on SIGTERM
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


# --------------------------------------------------------------------------- HTTP checks


def http_json(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def sign_in(server: Server, facts: DemoFacts, password: str) -> str:
    status, body = http_json(
        "POST",
        server.base + "/api/v1/auth/sign-in",
        {"enterprise": facts.enterprise, "username": facts.worker, "password": password, "device": DEVICE},
    )
    if status not in (200, 201) or not isinstance(body, dict) or "token" not in body:
        raise BenchError(f"sign-in as {facts.worker!r} failed: {status} {body}")
    return body["token"]


def verify_scan(url: str, token: str) -> int:
    status, body = http_json("GET", url, token=token)
    if status != 200:
        raise BenchError(f"the scan URL answered {status}, not 200 — refusing to benchmark errors: {body}")
    schedules = body.get("schedules") if isinstance(body, dict) else None
    if not schedules:
        raise BenchError(f"the scan URL answered 200 but with no schedules — refusing to benchmark it: {body}")
    return len(schedules)


def verify_bare(url: str) -> None:
    status, body = http_json("GET", url)
    if status != 200 or not isinstance(body, dict) or "name" not in body:
        raise BenchError(f"the bare URL answered {status}: {body}")


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(label: str, out: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        raise BenchError(f"cannot read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        label,
        float(rps.group(1)),
        _ms(p50.group(1)),
        _ms(p99.group(1)),
        int(total.group(1)),
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(g) for g in sock.groups()) if sock else 0,
    )


def run_wrk(label: str, url: str, seconds: int, connections: int, token: str | None) -> WrkResult:
    threads = max(1, min(2, connections))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    cmd.append(url)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish ({label})") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({label}): {done.stderr or done.stdout}")
    result = parse_wrk(label, done.stdout)
    if result.non_2xx:
        raise BenchError(f"{label}: {result.non_2xx} of {result.requests} answers were not 2xx — figures are void")
    return result


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs of each endpoint, alternating (default 2)")
    parser.add_argument("--server-app", default="server.wsgi:app",
                        help="gunicorn app of the Zicha server (default server.wsgi:app); another MODULE:VAR lets "
                             "you benchmark a variant, with its directory on PYTHONPATH")
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.workers < 1 or args.connections < 1 or args.rounds < 1:
        parser.error("--seconds, --workers, --connections and --rounds must be positive")

    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y wrk`; "
              "macOS: `brew install wrk`) and run again.", file=sys.stderr)
        return 2

    # A plain `kill` of this script must still stop the servers: turn SIGTERM into SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    servers: list[Server] = []
    tmp = Path(tempfile.mkdtemp(prefix="zicha-bench-"))
    try:
        print(f"preparing the demo database in {tmp} …", flush=True)
        env = prepare_database(tmp)
        facts = read_demo(tmp / "bench.db")
        from server.demo.data import DEMO_PASSWORD  # the module exists: prepare_database checked

        scan_srv = Server("zicha", args.server_app, args.workers, env, tmp)
        servers.append(scan_srv)
        bare_srv = Server("bare", "bare_app:app", args.workers, env, tmp, ["--pythonpath", str(BENCH)])
        servers.append(bare_srv)
        scan_srv.wait_ready("/api/v1/openapi.json")
        bare_srv.wait_ready(f"/bare/{facts.post_id}")

        token = sign_in(scan_srv, facts, DEMO_PASSWORD)
        scan_url = f"{scan_srv.base}/api/v1/scan/{facts.qr_token}"
        bare_url = f"{bare_srv.base}/bare/{facts.post_id}"
        n_schedules = verify_scan(scan_url, token)
        verify_bare(bare_url)

        print(f"scan:  GET /api/v1/scan/<token of post {facts.post_id}> as {facts.enterprise}/{facts.worker} "
              f"({n_schedules} schedules in the answer)")
        print(f"bare:  GET /bare/{facts.post_id} (one primary-key read, plain Flask + Flask-SQLAlchemy)")
        print(f"gunicorn --workers {args.workers} each; wrk -t {max(1, min(2, args.connections))} "
              f"-c {args.connections} -d {args.seconds}s; machine: {os.cpu_count()} CPUs, {platform.platform()}")
        print("note: wrk and both servers share this machine; compare figures within one run only.\n", flush=True)

        warm = max(1, min(3, args.seconds))
        print(f"warm-up ({warm}s each) …", flush=True)
        run_wrk("bare warm-up", bare_url, warm, args.connections, None)
        run_wrk("scan warm-up", scan_url, warm, args.connections, token)

        results: dict[str, list[WrkResult]] = {"bare": [], "scan": []}
        for round_no in range(1, args.rounds + 1):
            for label, url, tok in (("bare", bare_url, None), ("scan", scan_url, token)):
                r = run_wrk(label, url, args.seconds, args.connections, tok)
                results[label].append(r)
                print(f"  round {round_no} {label:<4} {r.rps:9.1f} req/s  p50 {r.p50_ms:7.2f} ms  "
                      f"p99 {r.p99_ms:7.2f} ms  ({r.requests} requests, {r.socket_errors} socket errors)",
                      flush=True)

        best_bare = max(results["bare"], key=lambda r: r.rps)
        best_scan = max(results["scan"], key=lambda r: r.rps)
        ratio = best_scan.rps / best_bare.rps if best_bare.rps else 0.0
        print()
        print(f"best of {args.rounds}      req/s     p50 ms     p99 ms")
        print(f"  bare     {best_bare.rps:9.1f}  {best_bare.p50_ms:9.2f}  {best_bare.p99_ms:9.2f}")
        print(f"  scan     {best_scan.rps:9.1f}  {best_scan.p50_ms:9.2f}  {best_scan.p99_ms:9.2f}")
        verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
        print(f"ratio scan/bare = {ratio:.2f}  ({verdict} the target of {TARGET_RATIO})")
        noisy = [label for label, runs in results.items()
                 if len(runs) > 1 and min(r.rps for r in runs) < 0.85 * max(r.rps for r in runs)]
        if noisy:
            print(f"warning: the runs of {' and '.join(noisy)} differ by more than 15% — the machine is busy; "
                  f"rerun (e.g. --rounds 3) before trusting the ratio")
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
