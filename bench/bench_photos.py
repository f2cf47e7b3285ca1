#!/usr/bin/env python
"""Benchmark: photo ingest time and peak memory per 12 MP JPEG, with and without JPEG draft mode.

    python bench/bench_photos.py [--photos 6]

What it does, all on this machine and in this one run:

1. makes ``--photos`` + 1 distinct 4000 × 3000 JPEGs (a gradient under camera-like noise,
   quality 90: ~3.8 MB each, like a phone photo; each with its own EXIF capture time, so each
   has its own SHA-256) in a temp dir;
2. for each mode — ``draft`` (what the server does: libjpeg decodes at 1/2 scale, enough for the
   1600 px display copy) and ``full`` (decode at 4000 × 3000, then shrink) — starts a fresh
   child process that migrates a throwaway SQLite database, signs in a worker, warms up with
   one photo, then measures each of the others twice:
   * **pipeline**: ``server.photos.images.process`` alone (sniff, structure walk, decode,
     orientation, display copy and thumbnail, evidence);
   * **PUT**: the whole ``PUT /api/v1/photos/<sha256>`` through the app (stream to a temp
     file while hashing, pipeline, three durable local writes with fsync, the row, the commit);
   * **peak RSS**: how far the process's resident memory rises during one PUT, worst of the
     photos (the Linux high-water mark, reset before each PUT; Pillow's pixel buffers are C
     allocations tracemalloc cannot see), and the whole process's peak.
3. prints the medians side by side and the ratio full / draft.

It prints figures; it is not a pass/fail test. Each mode runs in its own process so one mode's
peak memory cannot hide the other's.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZE = (4000, 3000)


def make_photos(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 12 MP JPEGs that compress like real photos (not flat colour, not pure noise)."""
    from PIL import ExifTags, Image

    width, height = SIZE
    red = Image.linear_gradient("L").resize(SIZE)
    green = Image.radial_gradient("L").resize(SIZE)
    blue = red.transpose(Image.Transpose.ROTATE_180)
    noise = Image.merge("RGB", [Image.effect_noise(SIZE, sigma) for sigma in (28, 30, 32)])
    picture = Image.blend(Image.merge("RGB", (red, green, blue)), noise, 0.35)
    paths = []
    for n in range(count):
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = f"2026:11:23 09:{n // 60:02d}:{n % 60:02d}"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
        path = folder / f"photo-{n}.jpg"
        picture.save(path, "JPEG", quality=90, exif=exif)
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(field)


def measure_extra_rss(work) -> tuple[float, float]:
    """(result of ``work()``, how far resident memory rose above its level before the call).

    Linux lets a process reset its high-water mark (``/proc/self/clear_refs`` ← 5), so each
    call is measured on its own, not hidden under an earlier peak.
    """
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _status_mb("VmRSS")
    result = work()
    return result, _status_mb("VmHWM") - before


def child(mode: str, photo_paths: list[Path], work: Path) -> dict:
    """One mode in this (fresh) process: set up an app, warm up, measure; return the figures."""
    import functools
    import hashlib

    from flask_migrate import upgrade

    from server import create_app
    from server.accounts import services as accounts
    from server.accounts.models import Role
    from server.enterprises import services as enterprises
    from server.extensions import db
    from server.photos import images

    from argon2 import PasswordHasher

    from server.accounts import passwords

    # Argon2 at production cost uses 64 MiB for one sign-in: that peak would hide the photos'.
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if mode == "full":
        images.process = functools.partial(images.process, draft=False)  # what services.ingest calls
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}",
        "PHOTO_DIR": str(work / "photos"),
        "PHOTO_TEMP_DIR": str(work / "tmp"),
    })
    with app.app_context():
        upgrade()
        enterprise = enterprises.create_enterprise("bench", "基准测试企业")
        accounts.create_user(enterprise.id, "worker", "工人", Role.WORKER, "bench password 2026")
        db.session.commit()
        token = accounts.sign_in("bench", "worker", "bench password 2026", None).token
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    limits = images.Limits(app.config["PHOTO_MAX_PIXELS"], app.config["PHOTO_DISPLAY_PX"], app.config["PHOTO_THUMB_PX"])

    def put(path: Path) -> float:
        data = path.read_bytes()
        started = time.perf_counter()
        response = client.put(f"/api/v1/photos/{hashlib.sha256(data).hexdigest()}", data=data, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 201:
            raise SystemExit(f"PUT answered {response.status_code}: {response.get_data(as_text=True)}")
        return elapsed * 1000

    warm, *measured = photo_paths
    put(warm)
    pipeline_ms, put_ms, extra_mb = [], [], []
    for path in measured:
        started = time.perf_counter()
        images.process(path, limits)
        pipeline_ms.append((time.perf_counter() - started) * 1000)
        elapsed, extra = measure_extra_rss(lambda: put(path))
        put_ms.append(elapsed)
        extra_mb.append(extra)
    return {
        "mode": mode,
        "pipeline_ms": statistics.median(pipeline_ms),
        "put_ms": statistics.median(put_ms),
        "peak_rss_mb": max(extra_mb),
        "total_rss_mb": peak_rss_mb(),
        "photo_mb": statistics.mean(p.stat().st_size for p in measured) / 1e6,
        "photos": len(measured),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=6, help="photos measured per mode (one more warms up)")
    parser.add_argument("--child", choices=["draft", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        paths = sorted(args.dir.glob("photo-*.jpg"), key=lambda p: int(p.stem.split("-")[1]))
        work = Path(tempfile.mkdtemp(dir=args.dir, prefix=f"{args.child}-"))
        print(json.dumps(child(args.child, paths, work)))
        return

    with tempfile.TemporaryDirectory(prefix="zicha-bench-photos-") as folder:
        folder = Path(folder)
        print(f"making {args.photos + 1} JPEGs of {SIZE[0]} × {SIZE[1]} …", flush=True)
        make_photos(folder, args.photos + 1)
        results = {}
        for mode in ("draft", "full"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--dir", str(folder)],
                check=True, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])

    draft, full = results["draft"], results["full"]
    print(f"\nPhoto ingest, 12 MP JPEG ({SIZE[0]} × {SIZE[1]}, {draft['photo_mb']:.1f} MB), median of {draft['photos']} "
          f"— {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'mode':<8}{'pipeline ms':>13}{'PUT ms':>10}{'PUT +RSS MB':>14}{'process peak MB':>17}")
    for row in (draft, full):
        print(f"{row['mode']:<8}{row['pipeline_ms']:>13.0f}{row['put_ms']:>10.0f}{row['peak_rss_mb']:>14.0f}{row['total_rss_mb']:>17.0f}")
    print(f"full / draft: pipeline ×{full['pipeline_ms'] / draft['pipeline_ms']:.2f}, PUT ×{full['put_ms'] / draft['put_ms']:.2f}, "
          f"memory ×{full['peak_rss_mb'] / max(draft['peak_rss_mb'], 1):.2f}")


if __name__ == "__main__":
    main()
