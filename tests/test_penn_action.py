"""Penn Action: the reader on the shared copy (official split, classes, coordinates, sides),
the source options, the download's archive handling (local files only), a short training
run that learns, and a Penn Action model reading MediaPipe poses of a real clip."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from motionseq.data.features import PoseFeatures
from motionseq.data.penn_action import (
    ACTIONS,
    FPS,
    PennActionSource,
    download_penn_action,
    read_clip,
    read_penn_action,
)
from motionseq.errors import ConfigError, DataError
from motionseq.skeleton import get_layout
from motionseq.tasks.train import train
from tests.test_train import compose_cfg

PENN = get_layout("penn13")
# the 15 actions as the dataset README lists them
README_ACTIONS = ["baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk",
                  "golf_swing", "jump_rope", "jumping_jacks", "pullup", "pushup", "situp",
                  "squat", "strum_guitar", "tennis_forehand", "tennis_serve"]


@pytest.fixture(scope="module")
def penn_root(shared_data: Path) -> Path:
    root = shared_data / "penn_action"
    if not (root / "labels").is_dir():
        pytest.skip(f"Penn Action labels not found at {root / 'labels'}")
    return root


@pytest.fixture(scope="module")
def clips(penn_root: Path):
    return read_penn_action(penn_root)


def _front_fraction(clips, view: str) -> float:
    """Mean over clips of ``view`` of the share of frames (both shoulders visible) where the
    left shoulder lies right of the right shoulder in the image."""
    ls, rs = PENN.index("left_shoulder"), PENN.index("right_shoulder")
    fractions = []
    for c in clips:
        if c.view != view:
            continue
        kp, vis = c.sequence.keypoints, c.sequence.visibility
        both = (vis[:, ls] > 0) & (vis[:, rs] > 0)
        if both.any():
            fractions.append(np.mean(kp[both, ls, 0] > kp[both, rs, 0]))
    return float(np.mean(fractions))


def test_joint_order_matches_the_readme():
    assert PENN.joints == ("head", "left_shoulder", "right_shoulder", "left_elbow",
                           "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                           "left_knee", "right_knee", "left_ankle", "right_ankle")
    assert list(ACTIONS) == README_ACTIONS


def test_official_split_and_classes(clips):
    assert len(clips) == 2326
    assert sum(c.train for c in clips) == 1258
    assert sum(not c.train for c in clips) == 1068
    assert sorted({c.sequence.label for c in clips}) == README_ACTIONS
    assert {c.view for c in clips} == {"front", "back", "left", "right"}


def test_sequences_match_their_files(clips, penn_root):
    for c in clips:
        seq = c.sequence
        assert seq.layout == "penn13" and seq.fps == FPS and len(seq.source) == 4
        assert seq.keypoints.shape == (len(seq), 13, 2) and seq.visibility.shape == (len(seq), 13)
        visible = seq.visibility > 0
        assert np.isfinite(seq.keypoints[visible]).all()
    for c in clips[::200]:  # frame count and size against the raw file
        raw = scipy.io.loadmat(penn_root / "labels" / f"{c.sequence.source}.mat")
        h, w, t = (int(v) for v in raw["dimensions"].ravel())
        assert (len(c.sequence), c.height, c.width) == (t, h, w)
        pixels = read_clip(penn_root / "labels" / f"{c.sequence.source}.mat",
                           image_normalized=False)
        np.testing.assert_allclose(pixels.sequence.keypoints,
                                   c.sequence.keypoints * np.float32([w, h]), rtol=1e-5)


def test_coordinates_are_image_normalised(clips):
    kp = np.concatenate([c.sequence.keypoints for c in clips])
    vis = np.concatenate([c.sequence.visibility for c in clips]) > 0
    xy = kp[vis]
    inside = ((xy >= -0.02) & (xy <= 1.02)).all(axis=1)
    assert inside.mean() > 0.999  # annotators clicked within the frame, a few at its edge


def test_occluded_joints_keep_their_annotated_estimates(clips):
    kp = np.concatenate([c.sequence.keypoints for c in clips])
    vis = np.concatenate([c.sequence.visibility for c in clips])
    occluded = vis == 0
    assert occluded.mean() > 0.2  # Penn marks many joints occluded ...
    # ... most with a guessed position, the rest parked in the image corner: unknown
    known = np.isfinite(kp[occluded]).all(axis=1)
    assert 0.5 < known.mean() < 0.7
    assert np.isfinite(kp[vis > 0]).all()  # a visible joint is never a placeholder
    # the placeholders sat within a few pixels of (0, 0); the guesses do not
    raw = np.concatenate([c.sequence.keypoints * np.array([c.width, c.height])
                          for c in clips])
    assert (raw[occluded][known] > 3.0).any(axis=1).all()
    # two frames are wholly unannotated
    assert np.isnan(kp).all(axis=(1, 2)).sum() == 2


def test_sides_follow_anatomy(clips, penn_root):
    # A subject facing the camera has the anatomical left on the image's right, as in
    # MediaPipe's output; from behind, on the image's left.
    assert _front_fraction(clips, "front") > 0.9
    assert _front_fraction(clips, "back") < 0.3
    path = penn_root / "labels" / "0001.mat"
    raw, swapped = read_clip(path, swap_sides=False), read_clip(path)
    perm = PENN.flip_permutation()
    np.testing.assert_array_equal(raw.sequence.keypoints[:, perm], swapped.sequence.keypoints)
    np.testing.assert_array_equal(raw.sequence.keypoints[:, 0], swapped.sequence.keypoints[:, 0])


def test_source_options(penn_root, clips):
    splits = PennActionSource(str(penn_root), actions=["squat", "pushup"], stride=2,
                              max_frames=20, limit_per_class=3).load()
    for split in ("train", "test"):
        seqs = splits[split]
        assert sorted(s.label for s in seqs) == ["pushup"] * 3 + ["squat"] * 3
        assert all(len(s) <= 20 and s.fps == FPS / 2 for s in seqs)
    full = {c.sequence.source: c.sequence for c in clips}
    s = splits["train"][0]
    whole = full[s.source].keypoints[::2]
    start = (len(whole) - len(s)) // 2  # the middle of the clip
    np.testing.assert_array_equal(s.keypoints, whole[start:start + len(s)])
    with pytest.raises(ConfigError, match="known: baseball_pitch"):
        PennActionSource(str(penn_root), actions=["dance"])
    with pytest.raises(ConfigError, match="stride"):
        PennActionSource(str(penn_root), stride=0)


def test_missing_or_broken_files_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="python -m motionseq.data.penn_action"):
        PennActionSource(str(tmp_path)).load()
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "0001.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataError, match="cannot read Penn Action label file"):
        PennActionSource(str(tmp_path)).load()
    scipy.io.savemat(tmp_path / "labels" / "0001.mat", {"x": np.zeros((3, 13))})
    with pytest.raises(DataError, match="no 'y' field"):
        read_clip(tmp_path / "labels" / "0001.mat")


def _archive(path: Path, clip: Path) -> Path:
    """A tiny stand-in for Penn_Action.tar.gz: a frame, a label and a README."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("Penn_Action/frames/0001/000001.jpg", b"jpeg"),
                           ("Penn_Action/README", b"readme"),
                           ("Penn_Action/labels/0001.mat", clip.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_download_keeps_only_the_labels(penn_root, tmp_path):
    """The archive handling, on a local file (no network)."""
    archive = _archive(tmp_path / "Penn_Action.tar.gz", penn_root / "labels" / "0001.mat")
    dest = tmp_path / "penn"
    download_penn_action(dest, url=archive.as_uri())
    assert sorted(p.name for p in dest.iterdir()) == ["labels"]
    assert [p.name for p in (dest / "labels").iterdir()] == ["0001.mat"]
    assert read_clip(dest / "labels" / "0001.mat").sequence.label == "baseball_pitch"
    with pytest.raises(DataError, match="could not download Penn Action"):
        download_penn_action(tmp_path / "other", url="http://127.0.0.1:9/Penn_Action.tar.gz",
                             timeout=5)
    assert not list((tmp_path / "other").iterdir())  # nothing half-written


@pytest.fixture(scope="module")
def trained(penn_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small LSTM trained for 10 epochs on every 2nd frame, at most 48 steps per clip."""
    out = tmp_path_factory.mktemp("penn_train")
    cfg = compose_cfg("train", ["data=penn_action", f"data.source.root={penn_root}",
                                "data.source.stride=2", "data.source.max_frames=48",
                                "model.hidden=64", "trainer.max_epochs=10"],
                      out / "run", out / "data")
    t0 = time.perf_counter()
    result = train(cfg)
    result["seconds"] = time.perf_counter() - t0
    return result


def test_short_training_learns_well_above_chance(trained):
    # chance is 1/15; this run reaches ~0.7 in ~15 s on one core
    assert trained["test/acc"] > 0.5, f"test accuracy {trained['test/acc']:.3f}"
    assert trained["checkpoint"] and Path(trained["checkpoint"]).is_file()


def test_penn_model_reads_mediapipe_poses_of_a_real_clip(trained, shared_data):
    from motionseq.extract.pose import PoseExtractor
    from motionseq.modules.checkpoint import module_from_checkpoint

    video = shared_data / "videos" / "ntu_a001_drink_water.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    with PoseExtractor() as extractor:
        seq = extractor.extract(video)
    assert seq.layout == "mediapipe33" and seq.person_fraction() > 0.9

    module = module_from_checkpoint(trained["checkpoint"])
    assert module.class_names == README_ACTIONS
    features = PoseFeatures(**module.hparams.features)
    assert features.layout == "penn13"
    penn = features.prepare(seq)
    mp = seq.layout_spec
    assert penn.layout == "penn13" and penn.keypoints.shape == (len(seq), 13, 3)
    for joint, source in (("head", "nose"), ("left_wrist", "left_wrist"),
                          ("right_ankle", "right_ankle")):
        np.testing.assert_array_equal(penn.keypoints[:, PENN.index(joint)],
                                      seq.keypoints[:, mp.index(source)])
    # The subject faces the camera: the left shoulder is on the image's right, as in Penn
    # Action's front-view clips once their sides are swapped (test_sides_follow_anatomy).
    ls, rs = PENN.index("left_shoulder"), PENN.index("right_shoulder")
    assert np.nanmean(penn.keypoints[:, ls, 0] > penn.keypoints[:, rs, 0]) > 0.9

    x = torch.from_numpy(features(seq))[None]
    assert x.shape == (1, len(seq), features.dim)
    p = module.predict_proba(x, torch.tensor([x.shape[1]]))
    assert p.shape == (1, 15)
    assert torch.isfinite(p).all() and (p >= 0).all()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)
