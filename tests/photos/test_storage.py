"""Local storage: durable writes (temp, fsync, rename, fsync the folder) and keys kept inside the root."""
from __future__ import annotations

import os

import pytest

from server.photos import storage as storage_module
from server.photos.storage import LocalStorage, build


def test_local_write_is_fsynced_then_renamed_then_the_folder_fsynced(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(storage_module.os, "fsync", lambda fd: events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))) or real_fsync(fd))
    monkeypatch.setattr(storage_module.os, "replace", lambda a, b: events.append(("rename", None)) or real_replace(a, b))
    store = LocalStorage(tmp_path)
    store.put_bytes("7/ab/abc/display.jpg", b"jpeg bytes")
    assert events == [("fsync", False), ("rename", None), ("fsync", True)]
    assert (tmp_path / "7/ab/abc/display.jpg").read_bytes() == b"jpeg bytes"
    assert [p.name for p in (tmp_path / "7/ab/abc").iterdir()] == ["display.jpg"]  # no temp left


def test_put_file_copies_and_overwrites_idempotently(tmp_path):
    source = tmp_path / "incoming.part"
    source.write_bytes(b"original")
    store = LocalStorage(tmp_path / "photos")
    store.put_file("1/aa/a/original", source)
    store.put_file("1/aa/a/original", source)
    assert source.exists() and store.get_bytes("1/aa/a/original") == b"original"
    store.delete("1/aa/a/original")
    assert not store.exists("1/aa/a/original")
    with pytest.raises(FileNotFoundError):
        store.get_bytes("1/aa/a/original")


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "1/../../x"])
def test_keys_never_leave_the_root(tmp_path, key):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path / "photos").put_bytes(key, b"x")


def test_storage_is_chosen_by_configuration(tmp_path):
    assert isinstance(build({"PHOTO_STORAGE": "local", "PHOTO_DIR": str(tmp_path)}), LocalStorage)
    with pytest.raises(RuntimeError, match="BUCKET"):
        build({"PHOTO_STORAGE": "s3"})
    with pytest.raises(RuntimeError, match="unknown"):
        build({"PHOTO_STORAGE": "ftp"})
