"""Fixtures for the reference client: the real app on a real HTTP server, and photo folders.

The client is tested the way a phone meets the server: over HTTP on 127.0.0.1, through
``requests``, with faults injected in the client's transport adapter.
"""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_photo_dirs(photo_dirs):
    """Every test here gets its own photo folders (see tests/conftest.py)."""
    return photo_dirs
