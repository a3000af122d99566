"""Pose extraction (MediaPipe), batch extraction over folders, and skeleton rendering."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from motionseq.errors import ConfigError
from motionseq.extract.batch import (
    MANIFEST,
    extract_batch,
    find_videos,
    main,
    read_manifest,
)
from motionseq.extract.pose import PoseExtractor, PoseOptions, extract_pose
from motionseq.extract.render import render
from motionseq.sequence import PoseSequence

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIP_FRAMES = 20
CLIP_SIZE = (640, 360)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 20 frames of the NTU drinking clip, scaled to 640x360."""
    src = shared_data / "videos" / "ntu_a001_drink_water.avi"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    cap = cv2.VideoCapture(str(src))
    frames = []
    while len(frames) < CLIP_FRAMES:
        ok, f = cap.read()
        assert ok
        frames.append(cv2.resize(f, CLIP_SIZE, interpolation=cv2.INTER_AREA))
    cap.release()
    return write_video(tmp_path_factory.mktemp("clip") / "drink.avi", frames)


def make_input(root: Path, clip: Path, ok_clips: int = 2) -> Path:
    """INPUT with two labels: good copies of ``clip`` (one two folders deep), an empty file
    and a truncated copy."""
    (root / "drink").mkdir(parents=True)
    (root / "other" / "sub").mkdir(parents=True)
    for i in range(ok_clips):
        dst = root / "drink" / f"a{i}.avi" if i % 2 == 0 else root / "other" / "sub" / f"b{i}.avi"
        shutil.copy(clip, dst)
    (root / "other" / "empty.mp4").write_bytes(b"")
    data = clip.read_bytes()
    (root / "drink" / "truncated.avi").write_bytes(data[: len(data) // 10])
    return root


# --- single videos ---------------------------------------------------------------------------

@pytest.mark.data
@pytest.mark.slow
def test_real_clip_finds_the_person_inside_the_frame(shared_data: Path) -> None:
    video = shared_data / "videos" / "ntu_a001_drink_water.avi"
    stats: dict = {}
    seq = extract_pose(video, stats=stats)
    assert seq.layout == "mediapipe33"
    assert seq.keypoints.shape == (103, 33, 3) and seq.visibility.shape == (103, 33)
    assert seq.fps == pytest.approx(30.0)
    np.testing.assert_allclose(seq.timestamps, np.arange(103) / 30.0)
    assert seq.person_fraction() >= 0.95
    assert stats["frames"] == 103 and stats["expected_frames"] == 103
    found = ~np.isnan(seq.keypoints).any(axis=(1, 2))
    seen = seq.visibility[found] >= 0.5
    xy = seq.keypoints[found][..., :2][seen]
    assert len(xy) > 0.5 * found.sum() * 33  # most joints of a standing person are visible
    assert (xy >= 0).all() and (xy <= 1).all()
    # one standing person mid-frame: hips below shoulders (image y grows downwards)
    assert np.nanmedian(seq.keypoints[:, 23:25, 1]) > np.nanmedian(seq.keypoints[:, 11:13, 1])


def test_blank_video_keeps_every_frame_as_nan(tmp_path: Path) -> None:
    blank = [np.full((120, 160, 3), 30, np.uint8) for _ in range(6)]
    video = write_video(tmp_path / "blank.avi", blank, fps=10.0)
    with PoseExtractor(model_complexity=1) as ex:
        seq = ex.extract(video, label="none")
        assert ex.backend == "solutions"
    assert seq.keypoints.shape == (6, 33, 3)
    assert np.isnan(seq.keypoints).all() and (seq.visibility == 0).all()
    np.testing.assert_allclose(seq.timestamps, np.arange(6) / 10.0)
    assert seq.person_fraction() == 0.0 and seq.label == "none"
    path = seq.save(tmp_path / "blank.npz")
    assert PoseSequence.load(path).num_frames == 6


def test_bad_options_and_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model file not found"):
        PoseExtractor(model_path=str(tmp_path / "pose_landmarker.task"))
    with pytest.raises(ConfigError, match="model_complexity"):
        PoseOptions(model_complexity=3)
    with pytest.raises(ConfigError, match="min_detection_confidence"):
        PoseOptions(min_detection_confidence=1.5)


# --- batch -----------------------------------------------------------------------------------

@pytest.mark.data
def test_batch_rows_resume_and_redo(short_clip: Path, tmp_path: Path) -> None:
    src = make_input(tmp_path / "in", short_clip)
    out = tmp_path / "out"
    assert [p.as_posix() for p in find_videos(src)] == [
        "drink/a0.avi", "drink/truncated.avi", "other/empty.mp4", "other/sub/b1.avi"]
    s = extract_batch(src, out, workers=2)
    rows = {r["path"]: r for r in s.rows}
    assert (s.done, s.failed, s.skipped) == (2, 2, 0)
    assert rows["drink/a0.avi"]["status"] == "ok" and rows["other/sub/b1.avi"]["status"] == "ok"
    assert rows["other/empty.mp4"]["status"] == "failed" and rows["other/empty.mp4"]["reason"]
    assert "truncated" in rows["drink/truncated.avi"]["reason"]
    assert float(rows["drink/a0.avi"]["person_fraction"]) >= 0.95
    assert rows["drink/a0.avi"]["frames"] == str(CLIP_FRAMES)
    assert read_manifest(out / MANIFEST) == rows
    seq = PoseSequence.load(out / "other" / "sub" / "b1.npz")
    assert seq.label == "other" and seq.num_frames == CLIP_FRAMES
    assert not (out / "drink" / "truncated.npz").exists()
    assert not list(out.rglob(".*"))  # no temporary files left

    # resume: done videos are skipped and their files untouched; failed ones are retried
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")}
    s2 = extract_batch(src, out, workers=1)
    assert (s2.done, s2.skipped, s2.failed) == (0, 2, 2)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")} == mtimes

    # a changed video is extracted again; a repaired one becomes ok
    shutil.copy(short_clip, src / "drink" / "truncated.avi")
    t = time.time() + 5
    os.utime(src / "drink" / "a0.avi", (t, t))
    s3 = extract_batch(src, out, workers=1)
    assert (s3.done, s3.skipped, s3.failed) == (2, 1, 1)
    assert (out / "drink" / "truncated.npz").is_file()


@pytest.mark.data
@pytest.mark.slow
def test_killed_batch_leaves_no_partial_file_and_resumes(short_clip: Path,
                                                         tmp_path: Path) -> None:
    src = make_input(tmp_path / "in", short_clip, ok_clips=4)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "motionseq.extract.batch", f"input={src}", f"output={out}",
         "workers=1", "quiet=true"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(r["status"] == "ok" for r in read_manifest(out / MANIFEST).values()):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = read_manifest(out / MANIFEST)
    assert 1 <= sum(r["status"] == "ok" for r in before.values()) < 4
    for npz in out.rglob("[!.]*.npz"):  # every visible output is complete
        assert PoseSequence.load(npz).num_frames == CLIP_FRAMES

    s = extract_batch(src, out, workers=1)
    assert s.skipped == sum(r["status"] == "ok" for r in before.values())
    assert sum(r["status"] == "ok" for r in s.rows) == 4 and s.failed == 2
    assert len(list(out.rglob("*.npz"))) == 4
    assert not list(out.rglob(".*"))  # the killed run's temporary file was removed


def test_cli_reports_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([f"input={tmp_path / 'missing'}", f"output={tmp_path / 'out'}"]) == 2
    assert "input folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--input", str(tmp_path / "empty"), "--output", str(tmp_path / "o"),
                 "--quiet"]) == 2
    assert "no videos" in capsys.readouterr().err
    assert main([f"input={tmp_path}", f"output={tmp_path / 'o'}", "workers=0"]) == 2


# --- render ----------------------------------------------------------------------------------

@pytest.mark.data
def test_render_writes_every_frame(short_clip: Path, tmp_path: Path) -> None:
    seq = extract_pose(short_clip)
    path = seq.save(tmp_path / "drink.npz")
    out = render(path, short_clip, tmp_path / "drink_pose.mp4")
    assert count_frames(out) == CLIP_FRAMES
    cap = cv2.VideoCapture(str(out))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == CLIP_SIZE
    ok, drawn = cap.read()
    cap.release()
    plain = cv2.VideoCapture(str(short_clip)).read()[1]
    assert ok and np.abs(drawn.astype(int) - plain.astype(int)).max() > 100  # bones drawn
    with pytest.raises(ConfigError, match="must end in"):
        render(seq, short_clip, tmp_path / "x.gif")
