"""Layout-free ("raw") sequences, their features and resampling, and folders of your own
sequences (``data=sequences``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionseq.data.datamodules import ActionDataModule
from motionseq.data.features import PoseFeatures, resample_frames
from motionseq.data.own import SequenceFolderSource, read_csv_table, save_sequence_folder
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import can_map, get_layout
from motionseq.tasks.train import train
from tests.test_train import compose_cfg


def _raw(t=7, f=4, label="a", seed=0, fps=30.0):
    values = np.random.default_rng(seed).normal(size=(t, f)).astype(np.float32)
    return PoseSequence.from_values(values, fps, label=label, source=f"{label}{seed}")


# --- the raw layout ---------------------------------------------------------------------

def test_raw_sequences_take_any_shape():
    seq = _raw(t=5, f=6)
    assert seq.keypoints.shape == (5, 6, 1) and seq.visibility.shape == (5, 6)
    assert seq.num_channels == 6 and seq.layout == "raw"
    imu = PoseSequence(np.zeros((3, 2, 4)), np.ones((3, 2)), 100.0, "raw")
    assert imu.keypoints.shape == (3, 2, 4) and imu.num_channels == 8
    with pytest.raises(DataError, match=r"must be \[T, F\] or \[T, J, C\]"):
        PoseSequence.from_values(np.zeros(5))
    with pytest.raises(DataError, match=r"must be \[T, F\] or \[T, J, C\]"):
        PoseSequence(np.zeros((3, 2, 2, 2)), np.ones((3, 2)), 30.0, "raw")
    # no named joints: nothing maps into or out of raw
    assert get_layout("raw").generic and get_layout("raw").num_joints == 0
    assert not can_map("raw", "penn13") and not can_map("mediapipe33", "raw")
    with pytest.raises(ConfigError, match="no named joints"):
        seq.to_layout("penn13")


def test_raw_sequence_save_load(tmp_path):
    seq = _raw()
    back = PoseSequence.load(seq.save(tmp_path / "s.npz"))
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    assert back.layout == "raw" and back.label == "a"


def test_raw_features_are_values_velocities_and_mask():
    values = np.array([[1.0, 10.0], [2.0, np.nan], [4.0, 13.0], [7.0, 15.0]], np.float32)
    seq = PoseSequence.from_values(values, fps=10.0)
    f = PoseFeatures(layout="raw")
    with pytest.raises(ConfigError, match="channel count is not known yet"):
        _ = f.dim
    x = f(seq)
    assert f.channels == 2 and x.shape == (4, f.dim) == (4, 6) and x.dtype == np.float32
    assert np.isfinite(x).all()
    np.testing.assert_allclose(x[:, 0], [1, 2, 4, 7])  # no body normalisation
    np.testing.assert_allclose(x[:, 1], [10, 0, 13, 15])  # missing → 0 ...
    np.testing.assert_allclose(x[:, 5], [1, 0, 1, 1])  # ... and the mask says so
    np.testing.assert_allclose(x[:, 2], [0, 10, 20, 30])  # per second at 10 fps
    np.testing.assert_allclose(x[:, 3], [0, 0, 0, 20])  # no velocity into or out of a gap
    assert f.to_dict()["channels"] == 2  # the checkpoint carries the channel count
    with pytest.raises(DataError, match="has 3 values per frame but the features expect 2"):
        f(_raw(f=3))
    only = PoseFeatures(layout="raw", velocities=False, visibility=False, channels=2)
    assert only.dim == 2 and only(seq).shape == (4, 2)


def test_raw_features_of_joints_with_coordinates():
    kp = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    vis = np.array([[1.0, 0.5, 1.0], [1.0, 1.0, 1.0]], np.float32)
    # normalize_body=False: the values as they are (True centres and scales [T, J, 2|3]
    # points from the data, tests/test_adaptive.py)
    x = PoseFeatures(layout="raw", velocities=False, normalize_body=False)(
        PoseSequence(kp, vis, 30.0, "raw"))
    np.testing.assert_allclose(x[:, :6], kp.reshape(2, 6))  # joint-major, like the values
    np.testing.assert_allclose(x[0, 6:], [1, 1, 0.5, 0.5, 1, 1])


def test_pose_features_reject_raw_sequences_clearly():
    with pytest.raises(DataError, match="data.features.layout=raw"):
        PoseFeatures(layout="penn13")(_raw())
    penn = PoseSequence(np.zeros((3, 13, 2)), np.ones((3, 13)), 30.0, "penn13")
    # raw features take any sequence's values as they are
    assert PoseFeatures(layout="raw")(penn).shape == (3, 13 * 2 * 3)


# --- resampling --------------------------------------------------------------------------

def test_resample_is_linear_and_keeps_the_duration():
    kp = np.array([0.0, 1.0, 2.0, 4.0], np.float32).reshape(4, 1, 1)
    out, vis, fps = resample_frames(kp, np.ones((4, 1), np.float32), 30.0, 7)
    np.testing.assert_allclose(out[:, 0, 0], [0, 0.5, 1, 1.5, 2, 3, 4])
    assert fps == pytest.approx(60.0) and vis.shape == (7, 1)
    down, _, fps_down = resample_frames(kp, np.ones((4, 1), np.float32), 30.0, 2)
    np.testing.assert_allclose(down[:, 0, 0], [0, 4])
    assert fps_down == pytest.approx(10.0)
    # a value between a known and an unknown frame is unknown
    kp[2] = np.nan
    out, vis, _ = resample_frames(kp, np.ones((4, 1), np.float32), 30.0, 7)
    assert np.isnan(out[3:6, 0, 0]).all() and (vis[3:6] == 0).all() and out[6, 0, 0] == 4
    one, _, _ = resample_frames(kp[:1], np.ones((1, 1), np.float32), 30.0, 3)
    assert one.shape == (3, 1, 1)
    with pytest.raises(ConfigError, match="resample"):
        PoseFeatures(resample=0)


def test_resample_in_features_gives_a_fixed_length():
    f = PoseFeatures(layout="raw", resample=16)
    for t in (5, 40):
        x = f(_raw(t=t))
        assert x.shape == (16, f.dim) and np.isfinite(x).all()
    # velocities stay per second: a ramp of 1 per frame at 30 fps is 30/s at any length
    ramp = PoseSequence.from_values(np.arange(10, dtype=np.float32)[:, None], fps=30.0)
    x = PoseFeatures(layout="raw", resample=19, visibility=False)(ramp)
    np.testing.assert_allclose(x[1:, 1], 30.0, rtol=1e-5)
    pose = PoseSequence(np.random.default_rng(0).random((9, 13, 2)), np.ones((9, 13)), 30,
                        "penn13")
    pf = PoseFeatures(layout="penn13", resample=12)
    assert pf(pose).shape == (12, pf.dim) == (12, 65)


# --- folders of your own sequences ------------------------------------------------------

def _splits(f=3):
    return {split: [_raw(t=5 + i, f=f, label=lab, seed=10 * i + k)
                    for k, lab in enumerate(["jump", "wave"]) for i in range(n)]
            for split, n in (("train", 3), ("test", 2))}


@pytest.mark.parametrize("fmt", ["npz", "npy", "csv"])
def test_folder_round_trip(tmp_path, fmt):
    splits = _splits()
    first = splits["train"][0]
    values = first.keypoints.copy()
    values[1, 2] = np.nan  # a missing value survives the trip
    splits["train"][0] = PoseSequence.from_values(values, label=first.label)
    root = save_sequence_folder(tmp_path / "seqs", splits, fmt=fmt)
    assert sorted(p.name for p in (root / "train").iterdir()) == ["jump", "wave"]
    back = SequenceFolderSource(str(root), fps=30.0).load()
    assert set(back) == {"train", "test"}
    for split, seqs in splits.items():
        def key(s):
            return (s.label, s.num_frames)

        got, want = sorted(back[split], key=key), sorted(seqs, key=key)
        assert [key(s) for s in got] == [key(s) for s in want]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g.keypoints, w.keypoints)
            np.testing.assert_array_equal(g.visibility, w.visibility)
            assert g.layout == "raw" and g.fps == 30.0 and g.source.endswith(fmt)


def test_folder_mixed_files_and_optional_val(tmp_path):
    root = tmp_path / "d"
    save_sequence_folder(root, _splits(), fmt="npz")
    (root / "train" / "jump" / "deeper").mkdir()
    np.save(root / "train" / "jump" / "deeper" / "x.npy", np.ones((4, 3), np.float32))
    (root / "train" / "wave" / "y.csv").write_text("a,b,c\n1,2,3\n4,,6\nnan,8,9\n")
    np.savez(root / "test" / "wave" / "z.npz", values=np.zeros((4, 3)), other=np.ones(2))
    with pytest.raises(DataError, match="holds 2 arrays.*data.source.key"):
        SequenceFolderSource(str(root)).load()
    splits = SequenceFolderSource(str(root), key="values", fps=20.0).load()
    csv_seq = next(s for s in splits["train"] if s.source.endswith("y.csv"))
    assert csv_seq.label == "wave" and csv_seq.fps == 20.0 and csv_seq.num_frames == 3
    assert np.isnan(csv_seq.keypoints[1, 1, 0]) and csv_seq.visibility[1, 1] == 0
    assert sum(s.label == "jump" for s in splits["train"]) == 4
    assert "val" not in splits
    save_sequence_folder(tmp_path / "d", {"val": [_raw(label="jump", f=3)]}, fmt="csv")
    assert len(SequenceFolderSource(str(root), key="values").load()["val"]) == 1


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="sequence folder not found"):
        SequenceFolderSource(str(tmp_path / "nope")).load()
    (tmp_path / "empty" / "train" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "test").mkdir(parents=True)
    with pytest.raises(DataError, match="no sequence files"):
        SequenceFolderSource(str(tmp_path / "empty")).load()
    (tmp_path / "notest" / "train" / "a").mkdir(parents=True)
    np.save(tmp_path / "notest" / "train" / "a" / "x.npy", np.zeros((3, 2)))
    with pytest.raises(DataError, match="has no test/ folder"):
        SequenceFolderSource(str(tmp_path / "notest")).load()

    root = save_sequence_folder(tmp_path / "ok", _splits(), fmt="npy")
    bad = root / "train" / "jump" / "rank.npy"
    np.save(bad, np.zeros(5))
    with pytest.raises(DataError, match=r"rank.npy holds an array of shape \(5,\)"):
        SequenceFolderSource(str(root)).load()
    np.save(bad, np.zeros((2, 3, 4, 5)))
    with pytest.raises(DataError, match="expected one sequence"):
        SequenceFolderSource(str(root)).load()
    np.save(bad, np.zeros((6, 5)))
    with pytest.raises(DataError, match="rank.npy has 5 values per frame .* has 3"):
        SequenceFolderSource(str(root)).load()
    bad.unlink()
    (root / "train" / "jump" / "words.csv").write_text("x,y,z\n1,2,3\n4,five,6\n")
    with pytest.raises(DataError, match="words.csv:3: non-numeric value"):
        SequenceFolderSource(str(root)).load()
    with pytest.raises(DataError, match="2 values, but earlier rows have 3"):
        (root / "w.csv").write_text("1,2,3\n4,5\n")
        read_csv_table(root / "w.csv")
    (root / "train" / "jump" / "words.csv").unlink()
    np.save(root / "train" / "stray.npy", np.zeros((3, 3)))
    with pytest.raises(DataError, match="not in a label folder"):
        SequenceFolderSource(str(root)).load()


def test_a_class_only_in_test_is_reported(tmp_path):
    splits = _splits()
    splits["test"].append(_raw(label="spin", f=3))
    root = save_sequence_folder(tmp_path / "d", splits, fmt="npy")
    dm = ActionDataModule(SequenceFolderSource(str(root)), PoseFeatures(layout="raw"),
                          batch_size=4)
    with pytest.raises(DataError, match=r"'test' has classes that are not in train: \['spin'\]"):
        dm.setup()


def test_pose_layout_files_get_pose_features(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "penn"
    for split, n in (("train", 4), ("test", 2)):
        for lab in ("squat", "pushup"):
            for i in range(n):
                kp = rng.random((8 + i, 13, 2)).astype(np.float32)
                path = root / split / lab / f"{i}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                # [T, 13, 2] and the flat [T, 26] both read as penn13
                np.save(path, kp if i % 2 else kp.reshape(len(kp), 26))
    src = SequenceFolderSource(str(root), layout="penn13")
    splits = src.load()
    assert all(s.layout == "penn13" and s.keypoints.shape[1:] == (13, 2) for s in splits["train"])
    dm = ActionDataModule(src, PoseFeatures(layout="penn13"), batch_size=4)
    assert dm.model_kwargs()["input_size"] == 13 * 5
    batch = next(iter(dm.train_dataloader()))
    assert batch["x"].shape[-1] == 65
    np.save(root / "train" / "squat" / "bad.npy", np.zeros((5, 30)))
    with pytest.raises(DataError, match="layout 'penn13' needs 26 or 39"):
        SequenceFolderSource(str(root), layout="penn13").load()


# --- end to end --------------------------------------------------------------------------

def test_train_on_a_sequence_folder(tmp_path):
    """``data=sequences``: a small folder of two motions trains and tests end to end."""
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", 12), ("test", 4)):
        seqs = []
        for k, lab in enumerate(["slow", "fast"]):
            for _ in range(n):
                t = int(rng.integers(10, 25))
                phase = np.linspace(0, (k + 1) * 2 * np.pi, t)[:, None] + rng.normal(size=(1, 2))
                seqs.append(PoseSequence.from_values(np.sin(phase), 30.0, label=lab))
        splits[split] = seqs
    root = save_sequence_folder(tmp_path / "data", splits, fmt="csv")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={root}",
                                "debug=fast_dev_run", "logger=none"], tmp_path / "run")
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_sequences_config_defaults(tmp_path):
    cfg = compose_cfg("train", ["data=sequences"], tmp_path)
    assert cfg.data.source.root.endswith("sequences") and cfg.data.features.layout == "raw"
    cfg = compose_cfg("train", ["data=sequences", "data.source.layout=penn13"], tmp_path)
    assert cfg.data.features.layout == "penn13"
    assert Path(cfg.data.source.root).name == "sequences"
