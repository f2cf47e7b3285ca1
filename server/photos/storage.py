"""Where photo files live: one small interface, local disk by default, S3-compatible in production.

Keys are made by the ingest service from the enterprise id and the SHA-256 (content-addressed:
the same key always holds the same bytes, so writing one twice is harmless and a write that
raced another cannot corrupt it). Nothing here is under a web root; files are only ever served
through the photo views, which check the caller's enterprise first.

Durability (DESIGN "Security and durability"): a local write is temp file → fsync → rename →
fsync of the folder, and the caller adds the database row only after ``put_*`` returned, so an
acknowledged photo's files exist even after a power cut. A crash between the file and the row
leaves a harmless orphan under a hash key, overwritten by the next upload of the same photo.
An S3 ``PutObject`` is durable once it has answered.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app


class Storage(Protocol):
    def put_file(self, key: str, path: Path) -> None:
        """Store a copy of the file at ``path`` under ``key`` (the source is left in place)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``."""

    def get_bytes(self, key: str) -> bytes:
        """The bytes under ``key``; ``FileNotFoundError`` if there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Files under ``root`` (``ZICHA_PHOTO_DIR``), one per key."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # keys are ours, but a path never leaves the root
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    def _write(self, key: str, fill) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def put_file(self, key: str, path: Path) -> None:
        def fill(out):
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, 1024 * 1024)

        self._write(key, fill)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph RGW, Aliyun OSS in S3 mode …)."""

    def __init__(self, bucket: str, prefix: str = "", **client_options):
        import boto3  # the `s3` extra; only needed when this storage is chosen

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", **{k: v for k, v in client_options.items() if v})
        from botocore.exceptions import ClientError

        self._client_error = ClientError

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self._client_error as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._client_error as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


_SETTINGS = (
    "PHOTO_STORAGE", "PHOTO_DIR", "PHOTO_S3_BUCKET", "PHOTO_S3_PREFIX", "PHOTO_S3_ENDPOINT_URL",
    "PHOTO_S3_REGION", "PHOTO_S3_ACCESS_KEY_ID", "PHOTO_S3_SECRET_ACCESS_KEY",
)


def build(config) -> Storage:
    """The storage ``config`` chooses (``PHOTO_STORAGE``: ``local`` or ``s3``)."""
    kind = config["PHOTO_STORAGE"]
    if kind == "local":
        return LocalStorage(config["PHOTO_DIR"])
    if kind == "s3":
        if not config.get("PHOTO_S3_BUCKET"):
            raise RuntimeError("ZICHA_PHOTO_S3_BUCKET is required when ZICHA_PHOTO_STORAGE=s3")
        return S3Storage(
            config["PHOTO_S3_BUCKET"],
            config.get("PHOTO_S3_PREFIX") or "",
            endpoint_url=config.get("PHOTO_S3_ENDPOINT_URL"),
            region_name=config.get("PHOTO_S3_REGION"),
            aws_access_key_id=config.get("PHOTO_S3_ACCESS_KEY_ID"),
            aws_secret_access_key=config.get("PHOTO_S3_SECRET_ACCESS_KEY"),
        )
    raise RuntimeError(f"unknown ZICHA_PHOTO_STORAGE {kind!r} (local or s3)")


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage, built once per configuration (a boto3 client is costly to make)."""
    app = app or current_app
    settings = tuple(app.config.get(name) for name in _SETTINGS)
    cached = app.extensions.get("zicha.photo_storage")
    if cached is None or cached[0] != settings:
        cached = (settings, build(app.config))
        app.extensions["zicha.photo_storage"] = cached
    return cached[1]
