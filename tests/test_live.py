"""Live inference: the stream predictor's parity with the dataset feature path, carried
state against windows, smoothing and hysteresis, capture, and headless runs of the live
loop on real clips."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from omegaconf import open_dict

from motionseq.data.features import PoseFeatures
from motionseq.data.workouts import make_workout
from motionseq.errors import CheckpointError, ConfigError, DataError
from motionseq.extract.pose import extract_pose
from motionseq.live import overlay
from motionseq.live.app import find_newest_classifier, find_newest_joint_forecaster, run
from motionseq.live.capture import Capture
from motionseq.live.joints import JointPaths
from motionseq.live.reps import percentile_sorted
from motionseq.live.stream import NO_KNOWN_ACTION, NO_PERSON, UNKNOWN, StreamPredictor
from motionseq.modules.classifier import ActionClassifier
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout
from tests.test_train import TINY, _run_script, compose_cfg

FEATS = PoseFeatures()
NTU = "ntu_a001_drink_water.avi"


# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def ntu_seq(shared_data: Path) -> PoseSequence:
    """The NTU clip's poses through the extraction (dataset) path."""
    return extract_pose(shared_data / "videos" / NTU)


def _classifier(features: PoseFeatures = FEATS, classes=("a", "b", "c"), seed: int = 0,
                **kw) -> ActionClassifier:
    """An untrained classifier (random weights) with a normaliser: enough for parity."""
    torch.manual_seed(seed)
    m = ActionClassifier(features.dim, list(classes), features=features.to_dict(),
                         hidden=kw.pop("hidden", 16), **kw)
    m.set_normalizer(np.zeros(features.dim), np.full(features.dim, 2.0))
    return m.eval()


def _slice(seq: PoseSequence, a: int, b: int) -> PoseSequence:
    return PoseSequence(seq.keypoints[a:b], seq.visibility[a:b], seq.fps, seq.layout)


def _with_gaps(seq: PoseSequence) -> PoseSequence:
    """The clip with hips unknown (frames 10-14), shoulders unknown (20-23), nobody
    (30-33) and a lost wrist (40)."""
    kp = seq.keypoints.copy()
    lay = get_layout(seq.layout)
    hips = [lay.index("left_hip"), lay.index("right_hip")]
    shoulders = [lay.index("left_shoulder"), lay.index("right_shoulder")]
    kp[10:15, hips] = np.nan
    kp[20:24, shoulders] = np.nan
    kp[30:34] = np.nan
    kp[40, lay.index("left_wrist")] = np.nan
    return PoseSequence(kp, seq.visibility, seq.fps, seq.layout)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A tiny classifier (synthetic workouts, mediapipe33 like PoseExtractor) and, when
    the real ETH/UCY files are there, a tiny forecaster, both under one log folder."""
    root = tmp_path_factory.mktemp("logs")
    from motionseq.tasks.train import train

    cfg = compose_cfg("train", [*TINY["workouts"], "trainer.max_epochs=1", "logger=none",
                                "model.hidden=32"], root / "train" / "cls")
    out = {"root": root, "classifier": Path(train(cfg)["checkpoint"])}
    return out


@pytest.fixture(scope="session")
def forecaster_ckpt(trained, shared_data) -> Path:
    from motionseq.tasks.train import train

    time.sleep(0.05)  # written after the classifier: the newest checkpoint
    cfg = compose_cfg("train", [
        "experiment=forecast_ethucy", "data.scene=hotel",
        f"data.source.root={shared_data / 'ethucy'}", "trainer.max_epochs=1", "logger=none",
        "+trainer.limit_train_batches=5", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=1", "model.hidden=32"], trained["root"] / "train" / "fc")
    return Path(train(cfg)["checkpoint"])


# ---------------------------------------------------------------------- parity

def test_window_features_are_the_dataset_features(ntu_seq):
    """The live ring buffer gives exactly PoseFeatures on the same frames, also through
    a layout mapping (mediapipe33 poses, a penn13 classifier)."""
    seq = _with_gaps(ntu_seq)
    full = FEATS(seq)
    for feats in (FEATS, PoseFeatures(layout="penn13")):
        sp = StreamPredictor(_classifier(feats), fps=seq.fps, mode="window", window=24)
        for t in range(seq.num_frames):
            sp.push(seq.keypoints[t], seq.visibility[t])
            lo = max(0, t + 1 - 24)
            np.testing.assert_array_equal(sp.window_features(), feats(_slice(seq, lo, t + 1)))
            if feats is FEATS and t < 24:  # the buffer holds the whole stream
                np.testing.assert_array_equal(sp.window_features()[-1], full[t])


@pytest.mark.parametrize("name", ["ntu", "workout"])
def test_carried_feature_rows_equal_the_whole_stream(name, request):
    """Carried mode computes each frame's row from at most four frames; it equals the row
    of the whole sequence, through missing hips, shoulders and people."""
    if name == "ntu":
        seq = _with_gaps(request.getfixturevalue("ntu_seq"))
    else:
        seq = make_workout("squat", np.random.default_rng(3), min_frames=150,
                           max_frames=150, drop_prob=0.1).sequence
    for feats in (FEATS, PoseFeatures(layout="penn13", centre_velocity=True)):
        full = feats(seq)
        sp = StreamPredictor(_classifier(feats), fps=seq.fps, mode="carried", window=32)
        for t in range(seq.num_frames):
            sp.push(seq.keypoints[t], seq.visibility[t])
            np.testing.assert_array_equal(sp.last_row, full[t])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_carried_state_equals_window_while_the_stream_fits(cell, pooling, ntu_seq):
    """While the buffer holds the whole stream both modes read the same frames, so the
    probabilities agree (one cell step per frame against the encoder on the window)."""
    seq = _with_gaps(ntu_seq)
    model = _classifier(cell=cell, pooling=pooling, layers=2)
    win = StreamPredictor(model, fps=seq.fps, mode="window", window=48)
    car = StreamPredictor(model, fps=seq.fps, mode="carried", window=48)
    assert car.mode == "carried"
    compared = 0
    for t in range(seq.num_frames):
        a = win.push(seq.keypoints[t], seq.visibility[t])
        b = car.push(seq.keypoints[t], seq.visibility[t])
        if t < 48 and a.raw is not None:
            np.testing.assert_allclose(b.raw, a.raw, atol=1e-5)
            compared += 1
    assert compared >= 40
    # later the carried state reads a restarted slot: between 24 and 48 frames
    assert max(car._since_restart) <= 48


def test_the_plain_head_gives_the_module_heads_logits():
    """The live step runs the head as plain functions of its weights: the same logits as
    the module in evaluation (hidden layer, GELU, dropout), and a head of other layers is
    called as it is."""
    from motionseq.live.step import plain_head

    z = torch.randn(3, 16)
    model = _classifier(head_hidden=8, dropout=0.3)
    with torch.inference_mode():
        want = model.head(z)
    torch.testing.assert_close(plain_head(model.head)(z), want, rtol=0, atol=0)
    other = torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.LayerNorm(4)).eval()
    with torch.inference_mode():
        want = other(z)
    torch.testing.assert_close(plain_head(other)(z), want, rtol=0, atol=0)


def test_models_without_a_running_form_use_windows(caplog):
    with caplog.at_level("WARNING"):
        sp = StreamPredictor(_classifier(bidirectional=True), mode="carried")
    assert sp.mode == "window" and "bidirectional" in caplog.text
    sp = StreamPredictor(_classifier(PoseFeatures(resample=32)), mode="auto")
    assert sp.mode == "window"
    assert StreamPredictor(_classifier(pooling="last"), mode="auto").mode == "carried"


def test_classifier_layouts_the_poses_cannot_feed():
    with pytest.raises(CheckpointError, match="layout-free"):
        StreamPredictor(_classifier(PoseFeatures(layout="raw", channels=6)))
    with pytest.raises(CheckpointError, match="lacks .*eye"):
        StreamPredictor(_classifier(PoseFeatures(layout="coco17")), source_layout="penn13")


# ---------------------------------------------------------------------- smoothing

def _scripted(probs: list, **kw) -> StreamPredictor:
    """A window-mode predictor whose model answers the given probabilities in turn."""
    sp = StreamPredictor(_classifier(), mode="window", **kw)
    it = iter(np.asarray(p, np.float32) for p in probs)
    sp._window_step = lambda: next(it)
    return sp


def _pose() -> np.ndarray:
    return np.random.default_rng(0).random((33, 3)).astype(np.float32)


def test_ema_and_hysteresis():
    a, b, c = [0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.0, 0.0, 1.0]
    script = [a] * 10 + [b] * 6 + [c] + [b] * 5 + [[1 / 3] * 3] * 12
    sp = _scripted(script, smoothing=0.4, hold=3, min_frames=2, min_confidence=0.5)
    preds = [sp.push(_pose(), np.ones(33)) for _ in script]
    labels = [p.label for p in preds]
    # a leads from frame 1 (frame 0: too few frames), shown after 3 frames in a row
    assert labels[:4] == [UNKNOWN, UNKNOWN, UNKNOWN, "a"]
    # b leads once the average turns (frame 11), shown 3 frames later
    assert labels[10:14] == ["a", "a", "a", "b"]
    # one frame of c does not change the label
    assert set(labels[14:22]) == {"b"}
    # uniform probabilities: the confidence falls below 0.5: no known action
    assert labels[-1] == NO_KNOWN_ACTION and "b" in labels[22:26]
    p = preds[-1]
    assert p.probabilities.shape == (3,) and abs(float(p.probabilities.sum()) - 1) < 1e-5
    assert p.raw is not None and p.person


def test_background_class_and_the_checkpoint_threshold():
    """Known classes' mass below the checkpoint's known_threshold (the default
    min_confidence) shows "no known action"."""
    model = _classifier(classes=["a", "b", "other"])
    model.hparams["known_threshold"] = 0.7
    sp = StreamPredictor(model, mode="window", smoothing=1.0, hold=1, min_frames=1)
    assert sp.min_confidence == 0.7
    script = iter(np.asarray(p, np.float32) for p in
                  ([0.8, 0.1, 0.1], [0.45, 0.4, 0.15], [0.3, 0.1, 0.6], [0.35, 0.3, 0.35],
                   [0.1, 0.85, 0.05]))
    sp._window_step = lambda: next(script)
    labels = [sp.push(_pose(), np.ones(33)).label for _ in range(5)]
    # the score is the known classes' mass, 1 - p(other): two actions sharing it still count
    assert labels == ["a", "a", NO_KNOWN_ACTION, NO_KNOWN_ACTION, "b"]


def test_no_person_and_reset_after_a_long_absence():
    sp = _scripted([[0.9, 0.05, 0.05]] * 40, hold=2, min_frames=2, absent_frames=3, window=8)
    for _ in range(6):
        p = sp.push(_pose(), np.ones(33))
    assert p.label == "a" and p.person
    labels = [sp.push(None).label for _ in range(3)]
    assert labels == ["a", "a", NO_PERSON]  # two missed frames keep the label
    p = sp.push(np.full((33, 3), np.nan), np.zeros(33))  # all-NaN is nobody too
    assert p.label == NO_PERSON and not p.person and p.raw is None
    for _ in range(4):
        p = sp.push(None)
    assert p.frames < 8  # a window of absence resets the state
    p = sp.push(_pose(), np.ones(33))
    assert p.label == UNKNOWN and p.person  # the next person starts afresh
    for _ in range(4):
        p = sp.push(_pose(), np.ones(33))
    assert p.label == "a"


def test_rep_range_percentiles_are_numpy_percentiles():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 151):
        v = rng.normal(90.0, 30.0, n)
        for q in (5.0, 95.0, 50.0):
            assert percentile_sorted(sorted(v.tolist()), q) == float(np.percentile(v, q))


def test_cached_text_looks_like_put_text():
    """Overlay text is blended from a cache of rasterised strings: the same pixels as two
    cv2.putText calls (outline, fill) up to rounding, also clipped at the borders."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (240, 320, 3), np.uint8)
    for text, org, scale, colour, thick in (("squat 81%", (20, 60), 0.8, (255, 255, 255), 2),
                                            ("no person", (5, 200), 1.3, (0, 230, 255), 3)):
        ref, got = base.copy(), base.copy()
        cv2.putText(ref, text, org, overlay.FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(ref, text, org, overlay.FONT, scale, colour, thick, cv2.LINE_AA)
        overlay._text(got, text, org, scale, colour, thick)
        diff = np.abs(ref.astype(int) - got)
        assert diff.max() <= 8 and diff.mean() < 0.05
    edge = base.copy()
    overlay._text(edge, "clipped", (-30, 8), 1.0, (255, 255, 255), 2)
    overlay._text(edge, "clipped", (300, 239), 1.0, (255, 255, 255), 2)
    overlay._text(edge, "outside", (1000, 1000), 1.0)
    shaded = base.copy()
    overlay._shade(shaded, 10, 20, 100, 80)
    np.testing.assert_allclose(shaded[20:80, 10:100], base[20:80, 10:100] * 0.45, atol=1.0)
    assert (shaded[:20] == base[:20]).all()


def test_joint_paths_extrapolate_the_recent_motion():
    jp = JointPaths(["left_wrist"], fps=10.0, horizon_s=1.0, fit_s=0.3, points=5)
    j = get_layout("mediapipe33").index("left_wrist")
    kp = np.full((33, 3), 0.5, np.float32)
    for t in range(5):
        kp[j, :2] = (0.1 + 0.01 * t, 0.5)
        out = jp.push(kp.copy(), np.ones(33))
    path = out["left_wrist"]
    assert path.shape == (6, 2)
    np.testing.assert_allclose(path[0], (0.14, 0.5), atol=1e-6)  # starts where it is
    np.testing.assert_allclose(path[-1], (0.24, 0.5), atol=1e-5)  # 10 steps of 0.01 ahead
    assert jp.push(None, None) == {}  # a frame without the joint breaks the path


# ---------------------------------------------------------------------- capture

def _frames(n: int, delay: float = 0.0):
    for i in range(n):
        if delay:
            time.sleep(delay)
        yield i, np.full((8, 8, 3), i % 255, np.uint8)


def test_capture_drops_stale_frames_for_a_slow_consumer():
    cap = Capture.from_frames(_frames(60, 0.002), fps=30.0, queue_size=2, drop_stale=True)
    seen = []
    with cap:
        for f in cap:
            seen.append(f.index)
            time.sleep(0.015)  # the consumer is several times slower than the source
    assert cap.dropped > 0 and len(seen) + cap.dropped == 60
    assert seen == sorted(seen) and seen[-1] == 59  # newest frames, in order, the last one


def test_capture_of_a_file_keeps_every_frame():
    cap = Capture.from_frames(_frames(30), fps=30.0, queue_size=2, drop_stale=False)
    seen = []
    with cap:
        for f in cap:
            seen.append(f.index)
            time.sleep(0.002)
    assert seen == list(range(30)) and cap.dropped == 0


def test_capture_reads_the_newest_frame_and_replays_files_in_real_time():
    cap = Capture.from_frames(_frames(30), fps=30.0, queue_size=2, drop_stale=True)
    with cap:
        time.sleep(0.3)  # the source is done while the consumer is busy
        seen = [f.index for f in cap]
    assert seen == [29] and cap.dropped == 29  # older queued frames are skipped too
    cap = Capture.from_frames(_frames(10), fps=50.0, drop_stale=False, realtime=True)
    with cap:
        stamps = [f.captured for f in cap]
    assert len(stamps) == 10 and stamps[-1] - stamps[0] >= 9 / 50.0 - 1e-3


class _FakeCamera:
    """A camera that opens (or not) and never gives a frame."""

    opens = True

    def __init__(self, index):
        pass

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self.opens

    def read(self):
        return False, None

    def get(self, prop):
        return 0.0

    def release(self):
        pass


def test_capture_errors(tmp_path, monkeypatch):
    import motionseq.live.capture as capture

    monkeypatch.setattr(capture.cv2, "VideoCapture", _FakeCamera)
    with Capture(0, timeout=0.3) as cap, pytest.raises(DataError, match="opened but gave no "
                                                                       "frames"):
        cap.read()
    monkeypatch.setattr(_FakeCamera, "opens", False)
    with pytest.raises(DataError, match="no camera at index 3"):
        Capture(3)
    monkeypatch.undo()
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(DataError, match="re-encode"):
        Capture(bad)
    with pytest.raises(DataError, match="not found"):
        Capture(tmp_path / "missing.mp4")


# ---------------------------------------------------------------------- the live loop

def _cfg(tmp_path: Path, **keys):
    cfg = compose_cfg("webcam", [], tmp_path)
    with open_dict(cfg):
        cfg.headless = True
        for k, v in keys.items():
            cfg[k] = v
    return cfg


def _jsonl(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _video_frames(path: str) -> int:
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.mark.parametrize("clip,frames", [(NTU, 103), ("kinetics_arm_wrestling.mp4", 280)])
def test_headless_pose_view_writes_video_and_one_line_per_frame(clip, frames, trained,
                                                                shared_data, tmp_path):
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / clip),
               ckpt=str(trained["classifier"]))
    summary = run(cfg)
    assert summary["view"] == "pose" and summary["frames"] == frames
    assert _video_frames(summary["out"]) == frames
    rows = _jsonl(summary["jsonl"])
    classes = list(torch.load(trained["classifier"], weights_only=True)["motionseq"]
                   ["hparams"]["class_names"])
    assert [r["frame"] for r in rows] == list(range(frames))
    assert all(r["label"] in {*classes, UNKNOWN, NO_PERSON, NO_KNOWN_ACTION} for r in rows)
    assert all(list(r["probabilities"]) == classes for r in rows)
    people = [r for r in rows if r["keypoints"] is not None]
    assert all(np.shape(r["keypoints"]) == (33, 4) for r in people)
    assert all(set(r["reps"]["all"]) == {"squat", "lunge", "push_up", "jumping_jack",
                                         "arm_circles"} for r in rows)
    paths = [p for r in rows for p in r["paths"].values()]
    assert paths and all(np.shape(p) == (9, 2) for p in paths)
    assert rows[-1]["time"] == pytest.approx((frames - 1) / cv2.VideoCapture(
        str(shared_data / "videos" / clip)).get(cv2.CAP_PROP_FPS), abs=1e-3)
    if clip == NTU:
        assert len(people) == frames  # one person in every frame of this clip
        assert abs(sum(rows[-1]["probabilities"].values()) - 1) < 1e-3


def test_headless_pose_view_runs_the_onnx_model(trained, shared_data, tmp_path):
    """runtime=onnx exports the classifier into the run folder and runs it with ONNX
    Runtime: the same labels and probabilities as PyTorch in window mode."""
    pytest.importorskip("onnxruntime")
    src, ckpt = str(shared_data / "videos" / NTU), str(trained["classifier"])
    runs = {}
    threads = torch.get_num_threads()
    for runtime in ("torch", "onnx"):
        cfg = _cfg(tmp_path / runtime, source=src, ckpt=ckpt, stop=40, runtime=runtime)
        with open_dict(cfg):
            cfg.stream.mode = "window"
        runs[runtime] = run(cfg)
    exported = tmp_path / "onnx" / "model.onnx"
    assert torch.get_num_threads() == threads  # the loop's single thread is given back
    assert runs["onnx"]["runtime"] == "onnx" and runs["onnx"]["frames"] == 40
    assert exported.is_file() and runs["torch"]["runtime"] == "torch"
    a, b = (_jsonl(runs[r]["jsonl"]) for r in ("torch", "onnx"))
    assert [r["label"] for r in a] == [r["label"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_allclose(list(rb["probabilities"].values()),
                                   list(ra["probabilities"].values()), atol=2e-5)
    # a model exported before is reused; one of another classifier is refused
    summary = run(_cfg(tmp_path / "again", source=src, ckpt=ckpt, stop=5, runtime="onnx",
                       onnx=str(exported)))
    assert summary["frames"] == 5 and not (tmp_path / "again" / "model.onnx").exists()
    other = tmp_path / "other.onnx"
    other.write_bytes(exported.read_bytes())
    meta = json.loads(Path(f"{exported}.json").read_text())
    meta["class_names"] = [c + "_x" for c in meta["class_names"]]
    Path(f"{other}.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="another classifier.*motionseq-export"):
        run(_cfg(tmp_path / "other", source=src, ckpt=ckpt, runtime="onnx", onnx=str(other)))
    with pytest.raises(ConfigError, match="runtime must be one of torch, onnx"):
        run(_cfg(tmp_path / "bad", source=src, ckpt=ckpt, runtime="tensorrt"))


def test_an_error_on_the_detection_thread_ends_the_run(trained, shared_data, tmp_path,
                                                      monkeypatch):
    """Pose runs on its own thread one frame ahead of the drawing; what fails there is
    raised by run(), the partial outputs are removed and no thread is left behind."""
    import threading

    import motionseq.live.app as app

    detect = app.PoseView.detect

    def failing(self, frame):
        if frame.index == 6:
            raise DataError("pose failed on frame 6")
        return detect(self, frame)

    monkeypatch.setattr(app.PoseView, "detect", failing)
    before = threading.active_count()
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / NTU),
               ckpt=str(trained["classifier"]), stop=20)
    with pytest.raises(DataError, match="frame 6"):
        run(cfg)
    assert not Path(cfg.out).exists() and not Path(cfg.jsonl).exists()
    assert not list(Path(cfg.out).parent.glob(".*.tmp*"))
    deadline = time.time() + 5.0
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_headless_pose_view_draws_learned_joint_paths(trained, joints_run, shared_data,
                                                     tmp_path, caplog):
    """joints.ckpt: the wrists' and ankles' paths come from the forecast_joints model, at
    most its horizon ahead; a classifier checkpoint there is refused clearly."""
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / "kinetics_arm_wrestling.mp4"),
               ckpt=str(trained["classifier"]), stop=60)
    with open_dict(cfg):
        cfg.joints.ckpt = joints_run["checkpoint"]
        cfg.joints.names = ["left_wrist", "right_wrist", "left_ankle"]
        cfg.joints.horizon_s = 2.0  # beyond the model's 0.67 s: drawn to 0.67 s
        cfg.joints.points = 5
    with caplog.at_level("INFO"):
        summary = run(cfg)
    assert "joint paths: learned" in caplog.text and "beyond the model" in caplog.text
    rows = _jsonl(summary["jsonl"])
    paths = [(r["frame"], j, np.array(p)) for r in rows for j, p in r["paths"].items()]
    assert paths and {j for _, j, _ in paths} <= {"left_wrist", "right_wrist", "left_ankle"}
    assert min(f for f, _, _ in paths) >= 14  # 15 frames (0.5 s at 30 fps) observed first
    assert all(p.shape == (6, 2) and np.isfinite(p).all() for _, _, p in paths)
    # joints.runtime=onnx (the default): exported into the run folder and run from there
    assert (Path(cfg.paths.output_dir) / "joints.onnx").is_file()
    with open_dict(cfg):
        cfg.joints.runtime = "tensorrt"
    with pytest.raises(ConfigError, match="joints.runtime must be one of torch, onnx"):
        run(cfg)
    with open_dict(cfg):
        cfg.joints.runtime = "torch"
        cfg.joints.ckpt = str(trained["classifier"])
    with pytest.raises(ConfigError, match="trajectory forecaster"):
        run(cfg)


def test_newest_joint_forecaster_is_a_forecast_joints_run(trained, forecaster_ckpt,
                                                           joints_run):
    """joints.ckpt=auto: the newest forecaster trained on joint paths, never the pedestrian
    forecaster or a classifier; none there: lines."""
    assert find_newest_joint_forecaster(trained["root"]) is None  # classifier + ETH/UCY model
    assert find_newest_joint_forecaster(joints_run["run_dir"]) == Path(joints_run["checkpoint"])


def test_window_keys_snapshot_reset_pause_and_quit(trained, shared_data, tmp_path,
                                                   monkeypatch, caplog):
    """With a window: s saves the picture, r resets the state, p pauses until p again,
    q quits. The window itself is replaced by a script of key presses."""
    from motionseq.live import app

    shown, keys = [], iter("srp" + "q")
    paused_keys = iter([-1, ord("x"), ord("p")])  # nothing, another key, then p resumes

    def show(img):
        shown.append(img.copy())
        return ord(next(keys))

    monkeypatch.setattr(app, "has_display", lambda: True)
    monkeypatch.setattr(app, "_show", show)
    monkeypatch.setattr(app.cv2, "waitKey", lambda ms: next(paused_keys) & 0xFF)
    monkeypatch.setattr(app.cv2, "destroyAllWindows", lambda: None)
    resets = []
    monkeypatch.setattr(app.PoseView, "reset", lambda self: resets.append(len(shown)))
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / NTU),
               ckpt=str(trained["classifier"]), snapshots=str(tmp_path / "snaps"))
    with open_dict(cfg):
        cfg.headless = False
    with caplog.at_level("INFO"):
        summary = run(cfg)
    assert summary["frames"] == 4 and len(shown) == 4  # q on the 4th frame ends the run
    snap = tmp_path / "snaps" / "snapshot_000000.png"
    assert snap.is_file() and cv2.imread(str(snap)).shape == shown[0].shape
    assert resets == [2] and "reset" in caplog.text  # r on the 2nd frame
    assert next(paused_keys, None) is None  # the pause read keys until p
    assert summary["out"] is None and summary["jsonl"] is None  # a window, no files


def test_headless_people_view_on_a_street_video(forecaster_ckpt, shared_data, tmp_path):
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / "vtest_pedestrians.avi"),
               ckpt=str(forecaster_ckpt), fps=7.0, stop=120)
    with open_dict(cfg):
        cfg.people.min_height = 45
    summary = run(cfg)
    assert summary["view"] == "people" and summary["frames"] == 120
    assert _video_frames(summary["out"]) == 120
    rows = _jsonl(summary["jsonl"])
    assert [r["frame"] for r in rows] == list(range(120))
    with_paths = [r for r in rows if r["paths"]]
    assert len(with_paths) > 30  # people are tracked and forecast through most frames
    for r in with_paths:
        ids = {str(p["id"]) for p in r["people"]}
        assert set(r["paths"]) <= ids
        assert all(np.shape(p) == (13, 2) for p in r["paths"].values())  # now + 12 steps


def test_newest_classifier_and_checkpoint_errors(trained, forecaster_ckpt, tmp_path,
                                                 shared_data):
    # the forecaster is newer, but ckpt=null wants a classifier
    assert find_newest_classifier(trained["root"]) == trained["classifier"]
    with pytest.raises(CheckpointError, match="make train"):
        find_newest_classifier(tmp_path)
    cfg = _cfg(tmp_path, source=str(shared_data / "videos" / NTU),
               ckpt=str(trained["classifier"]), view="people")
    with pytest.raises(CheckpointError, match="leave view=auto"):
        run(cfg)


def test_script_errors_are_one_clear_message(trained, monkeypatch, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    proc = _run_script("webcam.py", [f"ckpt={trained['classifier']}"], tmp_path)
    assert proc.returncode == 2 and "headless=true" in proc.stderr, proc.stderr[-2000:]
    proc = _run_script("webcam.py", [f"ckpt={trained['classifier']}", "source=7",
                                     "headless=true"], tmp_path)
    assert proc.returncode == 2 and "no camera at index 7" in proc.stderr, proc.stderr[-2000:]
    for p in (proc,):
        assert "Traceback" not in p.stderr + p.stdout
        assert "out of range" not in p.stderr  # OpenCV's own line: ours says it
    with pytest.raises(ConfigError, match="headless=true"):
        run(_cfg(tmp_path, headless=False))
