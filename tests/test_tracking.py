"""Object paths from video: frame sources, detectors, the tracker, MOT files, homographies,
the console script, and PETS09-S2L1 scored against its ground truth."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from motionseq.errors import ConfigError, DataError
from motionseq.extract.detect import (
    BackgroundDetector,
    Detections,
    HogDetector,
    SizePrior,
    box_iou,
    make_detector,
    nms,
)
from motionseq.extract.mot import mot_to_tracks, read_mot, score_mot, write_mot
from motionseq.extract.paths import (
    apply_homography,
    extract_paths,
    fit_homography,
    load_homography,
    main,
    to_ground,
)
from motionseq.extract.track import Tracker, TrackerConfig
from motionseq.extract.video import FrameSource, read_fps
from motionseq.sequence import Tracks


def run_tracker(frames: list[np.ndarray], cfg: TrackerConfig | None = None
                ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Track per-frame box arrays; ``{id: (frames, boxes)}`` of the offline results."""
    trk = Tracker(cfg)
    for i, boxes in enumerate(frames):
        trk.update(i, Detections(boxes, np.ones(len(boxes))))
    return {tid: (f, b) for tid, f, b in trk.results()}


# --- tracker ---------------------------------------------------------------------------------

def test_crossing_objects_keep_their_ids():
    # Two people walk towards each other and pass, overlapping for several frames.
    frames = []
    for t in range(40):
        a = [20 + 6 * t, 100, 30, 80]
        b = [260 - 6 * t, 108, 30, 80]
        frames.append(np.array([a, b], dtype=float))
    tracks = run_tracker(frames)
    assert len(tracks) == 2
    for f, b in tracks.values():
        assert len(f) == 40
        dx = np.diff(b[:, 0])
        assert (dx > 0).all() or (dx < 0).all(), "an id jumped to the other person"


def test_crossing_with_a_merged_detection_in_the_middle():
    # Where they overlap most the detector sees one blob: both tracks coast through.
    frames = []
    for t in range(40):
        a = np.array([20 + 6 * t, 100, 30, 80.0])
        b = np.array([260 - 6 * t, 100, 30, 80.0])
        if 18 <= t <= 22:
            left = min(a[0], b[0])
            frames.append(np.array([[left, 100, abs(a[0] - b[0]) + 30, 80]]))
        else:
            frames.append(np.stack([a, b]))
    tracks = run_tracker(frames)
    assert len(tracks) == 2
    for f, b in tracks.values():
        assert f[0] == 0 and f[-1] == 39
        dx = np.diff(b[:, 0])
        assert (dx > 0).all() or (dx < 0).all()


def test_birth_needs_min_hits_and_reports_tentative_frames():
    cfg = TrackerConfig(min_hits=4)
    box = np.array([[50, 50, 20, 60.0]])
    short = [box] * 3 + [np.zeros((0, 4))] * 5
    assert run_tracker(short, cfg) == {}
    tracks = run_tracker([box] * 4, cfg)
    assert list(tracks) == [1]
    np.testing.assert_array_equal(tracks[1][0], [0, 1, 2, 3])


def test_online_update_returns_only_confirmed_tracks():
    trk = Tracker(TrackerConfig(min_hits=3))
    box = Detections(np.array([[50, 50, 20, 60.0]]), np.ones(1))
    out = [trk.update(i, box) for i in range(4)]
    assert [len(o) for o in out] == [0, 0, 1, 1]
    assert out[-1][0][0] == 1
    with pytest.raises(ValueError, match="frames must increase"):
        trk.update(2, box)
    live = Tracker(TrackerConfig(min_hits=1), keep_history=False)
    assert live.update(0, box)[0][0] == 1
    with pytest.raises(RuntimeError, match="keep_history"):
        live.results()


def test_death_after_max_misses_and_gap_filling():
    cfg = TrackerConfig(min_hits=2, max_misses=5, max_gap=5, link_gap=0)
    box = np.array([[50, 50, 20, 60.0]])
    empty = np.zeros((0, 4))
    # A gap of 5 frames: the same id, the gap filled.
    tracks = run_tracker([box] * 5 + [empty] * 5 + [box] * 5, cfg)
    assert list(tracks) == [1]
    np.testing.assert_array_equal(tracks[1][0], np.arange(15))
    # A gap of 6 frames: the track died; a new id starts.
    tracks = run_tracker([box] * 5 + [empty] * 6 + [box] * 5, cfg)
    assert sorted(tracks) == [1, 2]
    assert tracks[1][0][-1] == 4 and tracks[2][0][0] == 11


def test_offline_linking_joins_a_track_across_a_long_gap():
    box = np.array([[50, 50, 20, 60.0]])
    empty = np.zeros((0, 4))
    frames = [box] * 5 + [empty] * 10 + [box] * 5
    cfg = TrackerConfig(min_hits=2, max_misses=3, max_gap=3, link_gap=0)
    assert len(run_tracker(frames, cfg)) == 2
    tracks = run_tracker(frames, TrackerConfig(min_hits=2, max_misses=3, max_gap=3,
                                               link_gap=15))
    assert list(tracks) == [1]
    assert len(tracks[1][0]) == 10  # the 10-frame gap is longer than max_gap: not filled


def test_kalman_smoothing_reduces_noise():
    rng = np.random.default_rng(0)
    truth = np.array([[100 + 4 * t, 200, 30, 80.0] for t in range(60)])
    noisy = truth + rng.normal(0, 3, truth.shape) * [1, 1, 0.3, 0.3]
    tracks = run_tracker([b[None] for b in noisy])
    (f, b), = tracks.values()
    err_in = np.abs(noisy[:, :2] - truth[:, :2]).mean()
    err_out = np.abs(b[:, :2] - truth[f, :2]).mean()
    assert err_out < 0.7 * err_in


def test_tracker_config_rejects_bad_values():
    with pytest.raises(ConfigError):
        TrackerConfig(min_hits=0)
    with pytest.raises(ConfigError):
        TrackerConfig(max_size_change=0.5)


def test_box_iou_and_nms():
    a = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [100, 100, 5, 5.0]])
    iou = box_iou(a, a)
    assert iou[0, 1] == pytest.approx(50 / 150)
    assert iou[0, 2] == 0
    np.testing.assert_allclose(np.diag(iou), 1)
    assert sorted(nms(a, np.array([0.9, 0.8, 0.7]), iou=0.3)) == [0, 2]


# --- detection -------------------------------------------------------------------------------

def synthetic_frames(n: int = 60, size=(240, 320), seed: int = 0, enter: int = 5):
    """Grey textured background; from frame ``enter`` one dark 'person' walks left to right
    (the background model has seen the empty scene first)."""
    rng = np.random.default_rng(seed)
    bg = (rng.integers(100, 140, (*size, 1)) + np.zeros((1, 1, 3))).astype(np.uint8)
    for t in range(n):
        f = bg.copy()
        x = 20 + 4 * t
        if t >= enter:
            f[120:180, x:x + 20] = (40, 30, 30)
        noise = rng.integers(-3, 4, f.shape)
        yield np.clip(f.astype(int) + noise, 0, 255).astype(np.uint8), (x, 120, 20, 60)


def test_background_detector_finds_a_moving_person():
    det = BackgroundDetector(prior=SizePrior(slope=0.0, intercept=60.0))
    hits = 0
    for t, (frame, truth) in enumerate(synthetic_frames()):
        d = det(frame)
        if t >= 10 and len(d):
            hits += box_iou(d.boxes, np.array([truth])).max() > 0.5
    assert hits >= 45


def test_moving_camera_warning(caplog):
    rng = np.random.default_rng(1)
    det = BackgroundDetector(history=50)
    with caplog.at_level(logging.WARNING, logger="motionseq.extract.detect"):
        for _ in range(70):
            det(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    assert "camera seems to move" in caplog.text


def test_size_prior_fits_a_line():
    prior = SizePrior(min_samples=20)
    assert not prior.ready
    ys = np.linspace(100, 500, 40)
    h = 0.25 * ys + 15
    prior.observe(np.c_[np.zeros(40), ys - h, 0.36 * h, h])
    assert prior.ready
    assert prior.height(300) == pytest.approx(0.25 * 300 + 15, rel=1e-3)
    with pytest.raises(ConfigError):
        SizePrior(slope=1.0)


# --- MOT files and scoring -------------------------------------------------------------------

def test_mot_round_trip(tmp_path):
    boxes = np.array([[10, 20, 30, 80], [100, 50, 25, 70], [12, 21, 30, 80.0]])
    tracks = Tracks(frame=[0, 0, 1], agent=[1, 2, 1], xy=[[25, 100], [112.5, 120], [27, 101]],
                    dt=1 / 7, boxes=boxes)
    path = write_mot(tmp_path / "m.txt", tracks)
    assert path.read_text().splitlines()[0] == "1,1,10.00,20.00,30.00,80.00,1,-1,-1,-1"
    rows = read_mot(path)
    assert rows.shape == (3, 10)
    back = mot_to_tracks(rows, dt=1 / 7)
    np.testing.assert_array_equal(back.frame, tracks.frame)
    np.testing.assert_array_equal(back.agent, tracks.agent)
    np.testing.assert_allclose(back.boxes, tracks.boxes)
    np.testing.assert_allclose(back.xy, tracks.xy)  # the foot point, bottom centre


def test_read_mot_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_mot(tmp_path / "none.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3\n")
    with pytest.raises(DataError, match="6-10 columns"):
        read_mot(bad)
    bad.write_text("0,1,1,1,1,1\n")
    with pytest.raises(DataError, match="start at 1"):
        read_mot(bad)
    with pytest.raises(DataError, match="boxes"):
        write_mot(tmp_path / "x.txt", Tracks([0], [1], [[0, 0]], dt=1.0))


def test_score_mot_perfect_and_dont_care():
    gt = np.array([[1, 1, 0, 0, 10, 20, 1], [1, 2, 50, 0, 10, 20, 0],
                   [2, 1, 1, 0, 10, 20, 1], [2, 2, 51, 0, 10, 20, 0.0]])
    # A tracker box on the conf-0 person is neither a match nor a false positive.
    hyp = np.array([[1, 7, 0, 0, 10, 20], [1, 8, 50, 0, 10, 20],
                    [2, 7, 1, 0, 10, 20], [2, 8, 51, 0, 10, 20.0]])
    s = score_mot(gt, hyp)
    assert s["mota"] == pytest.approx(1.0) and s["idf1"] == pytest.approx(1.0)
    assert s["false_positives"] == 0 and s["gt_boxes"] == 2
    s = score_mot(gt, hyp[[0, 2]] + [0, 0, 8, 0, 0, 0])  # IoU 2/18 < 0.5: miss and FP
    assert s["misses"] == 2 and s["false_positives"] == 2


# --- homography ------------------------------------------------------------------------------

def test_fit_homography_recovers_a_known_one():
    H = np.array([[0.02, 0.001, -3.0], [0.0005, 0.03, -5.0], [0.0001, 0.002, 1.0]])
    px = np.array([[10, 300], [700, 320], [650, 560], [40, 570], [380, 420.0]])
    ground = apply_homography(H, px)
    fit = fit_homography(px, ground)
    np.testing.assert_allclose(apply_homography(fit, px), ground, atol=1e-6)
    tracks = Tracks([0, 1], [1, 1], px[:2], dt=0.1, boxes=np.ones((2, 4)))
    np.testing.assert_allclose(to_ground(tracks, fit).xy, ground[:2], atol=1e-6)


def test_homography_errors_and_files(tmp_path):
    with pytest.raises(ConfigError, match="singular"):
        to_ground(Tracks([0], [1], [[1, 2]], dt=1.0), np.ones((3, 3)))
    with pytest.raises(ConfigError, match="at least 4"):
        fit_homography(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ConfigError):
        fit_homography([[0, 0], [1, 1], [2, 2], [3, 3]], [[0, 0], [1, 1], [2, 2], [3, 3]])
    matrix = tmp_path / "H.txt"
    matrix.write_text("# image to ground\n1 0 0\n0 2 0\n0 0 1\n")
    np.testing.assert_allclose(load_homography(matrix), np.diag([1, 2, 1.0]))
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("0 0 0 0\n100 0 1 0\n100 100 1 1\n0 100 0 1\n")
    np.testing.assert_allclose(apply_homography(load_homography(pairs), [[50, 50]]),
                               [[0.5, 0.5]], atol=1e-9)
    pairs.write_text("0 0 0\n")
    with pytest.raises(ConfigError, match="3x3"):
        load_homography(pairs)
    with pytest.raises(ConfigError, match="not found"):
        load_homography(tmp_path / "none.txt")


# --- frame sources ---------------------------------------------------------------------------

def test_missing_video(tmp_path):
    with pytest.raises(DataError, match="video not found"):
        FrameSource(tmp_path / "nope.mp4")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x01garbage" * 20)
    with pytest.raises(DataError, match="re-encode"):
        FrameSource(bad)


def test_image_folder(tmp_path):
    with pytest.raises(DataError, match="holds no images"):
        FrameSource(tmp_path)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nframeRate=7\n")
    src = FrameSource(tmp_path, start=1)
    assert src.fps == 7 and len(src) == 2 and (src.width, src.height) == (8, 8)
    got = [(i, int(f[0, 0, 0])) for i, f in src]
    assert got == [(1, 50), (2, 100)]


def write_video(path, frames, fps=10.0):
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def test_video_file_range_and_fps(tmp_path):
    frames = [np.full((32, 48, 3), 10 * i, np.uint8) for i in range(10)]
    video = write_video(tmp_path / "v.avi", frames)
    assert read_fps(video) == pytest.approx(10)
    with FrameSource(video, start=3, stop=6) as src:
        got = [i for i, _ in src]
    assert got == [3, 4, 5]


def test_console_script(tmp_path, capsys):
    frames = [f for f, _ in synthetic_frames(50)]
    video = write_video(tmp_path / "walk.avi", frames)
    H = tmp_path / "H.txt"
    H.write_text("0.01 0 0\n0 0.01 0\n0 0 1\n")
    out, mot, overlay = tmp_path / "t.txt", tmp_path / "m.txt", tmp_path / "o.avi"
    rc = main([str(video), "--out", str(out), "--mot", str(mot), "--overlay", str(overlay),
               "--homography", str(H), "--fps", "5", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    tracks = Tracks.load_txt(out)
    assert len(tracks.agents()) == 1 and len(tracks) > 30
    assert tracks.xy[:, 1].max() < 2.0  # metres through H, not pixels
    assert read_mot(mot)[:, 1].max() == 1
    assert FrameSource(overlay).num_frames == 50
    assert main([str(tmp_path / "none.avi"), "--out", str(out)]) == 2
    assert "video not found" in capsys.readouterr().err


# --- real data -------------------------------------------------------------------------------

# On the first 100 frames the defaults reach MOTA 0.813 / IDF1 0.734 (full run: 0.890 / 0.895).
PETS_MOTA_FLOOR_100 = 0.75
PETS_IDF1_FLOOR_100 = 0.65


def test_pets_first_100_frames(shared_data):
    video = shared_data / "videos" / "vtest_pedestrians.avi"
    gt_path = shared_data / "mot" / "PETS09-S2L1" / "gt" / "gt.txt"
    if not (video.is_file() and gt_path.is_file()):
        pytest.skip(f"PETS09-S2L1 not found under {shared_data}")
    tracks = extract_paths(video, "mog2", fps=7, stop=100, min_height=45)
    assert tracks.dt == pytest.approx(1 / 7) and tracks.frame.max() <= 99
    s = score_mot(gt_path, tracks, frames=(1, 100))
    assert s["mota"] >= PETS_MOTA_FLOOR_100, s
    assert s["idf1"] >= PETS_IDF1_FLOOR_100, s
    # Ground positions: a homography fitted on the ground truth's (pixel, metre) pairs maps
    # the tracked foot points to within half a metre of the matched person.
    gt = read_mot(gt_path)
    gt = gt[gt[:, 6] > 0]
    foot = np.c_[gt[:, 2] + gt[:, 4] / 2, gt[:, 3] + gt[:, 5]]
    ground = to_ground(tracks, fit_homography(foot, gt[:, 7:9]))
    errors = []
    for f in range(100):
        g, here = gt[gt[:, 0] == f + 1], tracks.frame == f
        if len(g) and here.any():
            iou = box_iou(tracks.boxes[here], g[:, 2:6])
            i, j = np.unravel_index(np.argmax(iou), iou.shape)
            if iou[i, j] >= 0.5:
                errors.append(np.linalg.norm(ground.xy[here][i] - g[j, 7:9]))
    assert len(errors) > 50 and np.median(errors) < 0.5


def test_hog_finds_pets_people(shared_data):
    video = shared_data / "videos" / "vtest_pedestrians.avi"
    if not video.is_file():
        pytest.skip(f"PETS09-S2L1 video not found under {shared_data}")
    with FrameSource(video, stop=1) as src:
        (_, frame), = list(src)
    # Frame 1 ground truth: people at (499, 158, 31, 75) and (258, 219, 33, 89).
    crop = frame[130:340, 200:560]
    found = HogDetector()(crop)
    boxes = found.boxes + [200, 130, 0, 0]
    iou = box_iou(np.array([[499, 158, 31, 75], [258, 219, 33, 89.0]]), boxes)
    assert (iou.max(axis=1) > 0.5).all()
    with pytest.raises(ConfigError, match="detector must be"):
        make_detector("yolo")
