"""``python -m sync simulate …``: run simulated devices against a Zicha server.

Example (a server from ``zicha serve --demo``)::

    python -m sync simulate --server http://127.0.0.1:5000 --enterprise demo \\
        --admin-username admin --admin-password zicha-demo-2026 --devices 50 --days 7 --offline

Each device signs in as a worker of its own (created through the admin API), pulls, works
offline for ``--days`` simulated days ending now, then syncs; a summary is printed (``--json``
for a machine-readable one). See :mod:`sync.simulate`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields

from sync.protocol import MAX_BATCH
from sync.simulate import SimulationConfig, simulate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync", description="Zicha sync reference client tools")
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="simulated devices: offline for days, then sync")
    sim.add_argument("--server", required=True, help="base URL, e.g. http://127.0.0.1:5000")
    sim.add_argument("--enterprise", required=True, help="enterprise code")
    # The server signs users in by username; --admin-phone is accepted for the same value.
    sim.add_argument("--admin-username", "--admin-phone", dest="admin_username", required=True, help="an admin's sign-in name")
    sim.add_argument("--admin-password", required=True)
    sim.add_argument("--devices", type=int, default=5)
    sim.add_argument("--days", type=int, default=7, help="days offline, ending now")
    sim.add_argument(
        "--offline", action="store_true", default=True,
        help="work offline for --days, then sync (the default, and the only mode: a real server's clock cannot be moved)",
    )
    sim.add_argument("--drop-rate", type=float, default=0.0, help="share of requests dropped (half before sending, half after the answer)")
    sim.add_argument("--concurrency", type=int, default=8, help="devices syncing at once")
    sim.add_argument("--batch-size", type=int, default=MAX_BATCH)
    sim.add_argument("--tus-threshold", type=int, default=2 * 1024 * 1024, help="photos larger than this use the resumable upload")
    sim.add_argument("--photo-size", default="320x240", help="generated photos, WIDTHxHEIGHT")
    sim.add_argument("--fail-rate", type=float, default=0.05, help="share of items answered as failed")
    sim.add_argument("--reboot-every-days", type=int, default=3)
    sim.add_argument("--workdir", help="where device databases go (default: a new temporary folder)")
    sim.add_argument("--user-prefix", help="worker usernames start with this (default: sim<random>-)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    width, _, height = args.photo_size.partition("x")
    names = {f.name for f in fields(SimulationConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values["photo_size"] = (int(width), int(height))
    config = SimulationConfig(**values)
    started = time.perf_counter()
    log = (lambda message: None) if args.json else (lambda message: print(message, file=sys.stderr))
    summary = simulate(config, log=log)
    if args.json:
        print(json.dumps({**summary.as_dict(), "seconds": round(time.perf_counter() - started, 2)}, ensure_ascii=False, indent=2))
    else:
        print(summary.text())
    return 0 if not summary.outbox_left and not summary.sync_errors else 1


if __name__ == "__main__":
    sys.exit(main())
