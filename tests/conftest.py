"""Shared fixtures: where the real data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``$MOTIONSEQ_SHARED_DATA`` or ``<repo>/../shared/data``; skips the test when absent."""
    root = Path(os.environ.get("MOTIONSEQ_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set MOTIONSEQ_SHARED_DATA to its folder)")
    return root
