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


@pytest.fixture(scope="session")
def joints_run(shared_data: Path, tmp_path_factory) -> dict:
    """A short ``experiment=forecast_joints`` training on part of Penn Action (20 clips per
    action): its metrics and checkpoint."""
    from motionseq.tasks.train import train
    from tests.test_train import compose_cfg

    root = tmp_path_factory.mktemp("joints")
    cfg = compose_cfg("train", [
        "experiment=forecast_joints", f"data.source.poses.root={shared_data / 'penn_action'}",
        "data.source.poses.limit_per_class=20", "trainer.max_epochs=3", "logger=none",
        "model.hidden=32"], root)
    return train(cfg)
