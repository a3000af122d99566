"""Windowing of Tracks into observe/predict windows (Social-GAN protocol)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from motionseq.data.trajectories import (
    TrajectoryWindows,
    concat_windows,
    make_windows,
    read_split_dir,
)
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import Tracks

SCENES = ["eth", "hotel", "univ", "zara1", "zara2"]
STANDARD_TEST_COUNTS = {"eth": 364, "hotel": 1197, "univ": 24334, "zara1": 2356, "zara2": 5910}


def _tracks(rows: list[tuple[int, int, float, float]], dt: float = 0.4) -> Tracks:
    a = np.asarray(rows, dtype=np.float64)
    return Tracks(frame=a[:, 0], agent=a[:, 1], xy=a[:, 2:], dt=dt)


def _walker(agent: int, frames: range, y: float = 0.0) -> list[tuple[int, int, float, float]]:
    # x encodes the frame id, so every window's content can be checked exactly.
    return [(f, agent, f / 10.0, y) for f in frames]


def test_full_presence_and_unique_frame_axis() -> None:
    # Agent 1: frames 0..240 (25 frames); agent 2: 0..180 (19, too short).
    # Frame ids jump 240 -> 300 (nobody at 250..290): the time axis is the unique ids,
    # so a window may span the jump, as in the reference loader.
    rows = _walker(1, range(0, 250, 10)) + _walker(2, range(0, 190, 10), 5.0)
    rows += _walker(1, range(300, 330, 10))
    w = make_windows(_tracks(rows))
    # Agent 1 has 28 unique-axis frames -> 28 - 20 + 1 = 9 windows; agent 2 none.
    assert len(w) == 9
    assert set(w.agent.tolist()) == {1}
    assert w.start_frame.tolist() == list(range(0, 90, 10))
    assert w.obs.shape == (9, 8, 2) and w.fut.shape == (9, 12, 2)
    assert w.obs.dtype == np.float32 and w.agent.dtype == np.int64
    # Window starting at frame 80: frames 80..240 then 300, 310, 320.
    last = np.concatenate([w.obs[-1], w.fut[-1]])[:, 0] * 10
    assert np.allclose(last, list(range(80, 250, 10)) + [300, 310, 320])
    assert (w.scene == 0).all() and w.dt == 0.4


def test_agent_with_a_gap_is_not_counted() -> None:
    rows = _walker(1, range(0, 300, 10))  # 30 frames -> window starts 0..100
    rows += [r for r in _walker(2, range(0, 300, 10), 3.0) if r[0] != 150]  # missing at 150
    w = make_windows(_tracks(rows))
    # Every window (start 0..100, 20 frames) contains frame 150: agent 2 never counts.
    assert w.agent.tolist() == [1] * 11
    rows2 = rows + _walker(2, range(300, 500, 10), 3.0)
    w2 = make_windows(_tracks(rows2))
    starts2 = w2.start_frame[w2.agent == 2]
    assert starts2.min() == 160  # first window entirely after the gap


def test_min_agents_and_order() -> None:
    rows = _walker(1, range(0, 200, 10)) + _walker(5, range(0, 210, 10), 1.0)
    rows += _walker(3, range(0, 200, 10), 2.0)
    w = make_windows(_tracks(rows), min_agents=1)
    # Window at 0 holds agents 1, 3, 5 (sorted by id); window at 10 only agent 5.
    assert list(zip(w.start_frame.tolist(), w.agent.tolist(), strict=True)) == [
        (0, 1), (0, 3), (0, 5), (10, 5)]
    w2 = make_windows(_tracks(rows), min_agents=2)
    assert w2.agent.tolist() == [1, 3, 5]
    assert len(make_windows(_tracks(rows), min_agents=4)) == 0


def test_stride_and_lengths() -> None:
    rows = _walker(1, range(0, 400, 10))  # 40 frames
    w = make_windows(_tracks(rows), obs_len=4, pred_len=6, stride=3)
    # Starts at every 3rd axis position from 0 while a 10-frame window fits: 0, 3, ..., 30.
    assert w.start_frame.tolist() == [i * 10 for i in range(0, 31, 3)]
    assert w.obs.shape[1:] == (4, 2) and w.fut.shape[1:] == (6, 2)
    assert np.allclose(w.fut[0, 0], [4.0, 0.0])  # frame 40 = axis step 4


def test_short_tracks_give_zero_windows_not_an_error() -> None:
    w = make_windows(_tracks(_walker(1, range(0, 50, 10))))
    assert len(w) == 0 and w.obs.shape == (0, 8, 2) and w.fut.shape == (0, 12, 2)


def test_several_tracks_and_concat() -> None:
    a = _tracks(_walker(1, range(0, 200, 10)))
    b = _tracks(_walker(7, range(0, 210, 10)))
    w = make_windows([a, b])
    assert w.scene.tolist() == [0, 1, 1] and w.agent.tolist() == [1, 7, 7]
    c = concat_windows([w, make_windows(b)])
    assert len(c) == 5
    assert c.scene.tolist() == [0, 1, 1, 2, 2]  # the second part's scenes follow the first's
    assert np.array_equal(c.obs[3:], w.obs[1:])


def test_bad_input_raises() -> None:
    t = _tracks(_walker(1, range(0, 200, 10)))
    with pytest.raises(ConfigError, match="obs_len"):
        make_windows(t, obs_len=0)
    with pytest.raises(ConfigError, match="stride"):
        make_windows(t, stride=0)
    with pytest.raises(DataError, match="no Tracks"):
        make_windows([])
    with pytest.raises(DataError, match="dt"):
        make_windows([t, _tracks(_walker(1, range(0, 200, 10)), dt=0.1)])
    w = make_windows(t)
    with pytest.raises(DataError, match="lengths"):
        concat_windows([w, make_windows(t, obs_len=4)])
    with pytest.raises(DataError):
        TrajectoryWindows(w.obs, w.fut[:0], w.agent, w.start_frame, w.scene, 0.4)


def test_read_split_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_split_dir(tmp_path / "nope")
    with pytest.raises(DataError, match="no .txt"):
        read_split_dir(tmp_path)
    _tracks(_walker(2, range(0, 30, 10))).save_txt(tmp_path / "b.txt")
    _tracks(_walker(1, range(0, 30, 10))).save_txt(tmp_path / "a.txt")
    (tmp_path / "notes.md").write_text("not a track file")
    got = read_split_dir(tmp_path, dt=0.5)
    assert [t.agents().tolist() for t in got] == [[1], [2]]  # sorted by file name
    assert all(t.dt == 0.5 for t in got)


@pytest.mark.data
def test_standard_ethucy_test_counts(shared_data: Path) -> None:
    root = shared_data / "ethucy"
    if not root.is_dir():
        pytest.skip(f"ETH/UCY not found under {root}")
    t0 = time.perf_counter()
    counts = {s: len(make_windows(read_split_dir(root / s / "test"))) for s in SCENES}
    elapsed = time.perf_counter() - t0
    assert counts == STANDARD_TEST_COUNTS
    assert elapsed < 10.0, f"reading + windowing the five test splits took {elapsed:.1f}s"
