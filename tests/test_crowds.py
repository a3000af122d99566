"""Synthetic crowds: determinism, realism, avoidance, file round trip, window counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motionseq.data.crowds import generate_crowds, simulate_crowd, split_seed, write_crowds
from motionseq.data.trajectories import make_windows, read_split_dir
from motionseq.errors import ConfigError
from motionseq.models.baselines import constant_velocity
from motionseq.modules.metrics import ade
from motionseq.sequence import Tracks


@pytest.fixture(scope="module")
def scene() -> Tracks:
    return simulate_crowd(7)


def _same(a: Tracks, b: Tracks) -> bool:
    return (np.array_equal(a.frame, b.frame) and np.array_equal(a.agent, b.agent)
            and np.array_equal(a.xy, b.xy) and a.dt == b.dt and a.frame_step == b.frame_step)


def test_deterministic_per_seed() -> None:
    a, b, c = (simulate_crowd(s, num_steps=40) for s in (3, 3, 4))
    assert _same(a, b)
    assert not _same(a, c)
    assert all(_same(x, y) for x, y in zip(generate_crowds(2, 5, num_steps=30),
                                            generate_crowds(2, 5, num_steps=30), strict=True))


def test_layout_of_a_scene(scene: Tracks) -> None:
    frames = np.unique(scene.frame)
    assert frames[0] >= 0 and frames[-1] <= 239 * 10
    assert len(frames) > 0.95 * 240  # an empty area is rare
    for a in scene.agents():  # one unbroken path per person
        assert (np.diff(scene.path(a)[0]) == 10).all()
    assert scene.dt == 0.4 and scene.frame_step == 10
    assert len(scene.agents()) > 30  # people keep arriving
    assert ((scene.xy > -0.5) & (scene.xy < np.array([16.5, 12.5]))).all()


def test_speeds_are_walking_speeds(scene: Tracks) -> None:
    speeds = []
    for a in scene.agents():
        f, xy = scene.path(a)
        speeds.append(np.linalg.norm(np.diff(xy, axis=0), axis=1) / 0.4)
    s = np.concatenate(speeds)
    p1, p50, p99 = np.percentile(s, [1, 50, 99])
    assert 1.0 < p50 < 1.5, p50
    assert p1 > 0.3 and p99 < 2.3, (p1, p99)


def test_pedestrians_avoid_each_other(scene: Tracks) -> None:
    nearest = []
    for f in np.unique(scene.frame):
        xy = scene.xy[scene.frame == f]
        if len(xy) > 1:
            d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
            np.fill_diagonal(d, np.inf)
            nearest.append(d.min(1))
    nearest = np.concatenate(nearest)
    # Without the social forces (contact only) ~2% of nearest neighbours are under 0.5 m
    # and some overlap (< 0.3 m); with them, close passes stay rare.
    assert (nearest < 0.3).mean() < 0.001
    assert (nearest < 0.5).mean() < 0.005
    assert np.median(nearest) > 1.0


def test_paths_are_not_trivially_straight() -> None:
    w = make_windows(generate_crowds(2, 11))
    assert len(w) > 400, len(w)  # ~350-400 windows per default scene
    obs, fut = torch.from_numpy(w.obs), torch.from_numpy(w.fut)
    err = ade(constant_velocity(obs, 12), fut).item()
    # Noise alone would give ~0.1 m; people who never turn or slow down well under 0.2 m.
    assert 0.25 < err < 1.0, err


def test_write_and_read_back(tmp_path: Path) -> None:
    scenes = {"train": 2, "test": 1}
    root = write_crowds(tmp_path / "crowds", seed=1, scenes=scenes, num_steps=50)
    assert root == tmp_path / "crowds"
    for split, n in scenes.items():
        got = read_split_dir(root / split)
        want = generate_crowds(n, split_seed(1, split), num_steps=50)
        assert len(got) == n
        assert all(_same(g, x) for g, x in zip(got, want, strict=True))
    meta = json.loads((root / "crowds_meta.json").read_text())
    assert meta["seed"] == 1 and meta["scenes"] == scenes and meta["kwargs"] == {"num_steps": 50}


def test_write_skips_when_up_to_date_and_redoes_otherwise(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write_crowds(root, seed=2, scenes={"train": 2}, num_steps=30)
    path = root / "train" / "scene_001.txt"
    path.write_text(path.read_text() + "")  # same content, new mtime
    marker = path.stat().st_mtime_ns
    write_crowds(root, seed=2, scenes={"train": 2}, num_steps=30)
    assert path.stat().st_mtime_ns == marker  # untouched
    # Other arguments: rewritten, and the scene that is no longer part of it is gone.
    write_crowds(root, seed=3, scenes={"train": 1}, num_steps=30)
    assert not path.exists()
    assert _same(read_split_dir(root / "train")[0],
                 generate_crowds(1, split_seed(3, "train"), num_steps=30)[0])
    # A missing file is regenerated even when the meta file matches.
    (root / "train" / "scene_000.txt").unlink()
    write_crowds(root, seed=3, scenes={"train": 1}, num_steps=30)
    assert (root / "train" / "scene_000.txt").is_file()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        simulate_crowd(0, num_steps=0)
    with pytest.raises(ConfigError):
        simulate_crowd(0, dt=-0.4)
    with pytest.raises(ConfigError, match="scenes"):
        write_crowds("/nonexistent-never-written", scenes={"train": -1})
