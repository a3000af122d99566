"""Pose augmentation: each transform on hand-made poses, the stage's options, and the
train-only, reproducible, per-worker draws of the data module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf, open_dict
from torch.utils.data import DataLoader

from motionseq.data.datamodules import ActionDataModule
from motionseq.data.datasets import AugmentedSequenceDataset, SequenceDataset, pad_collate
from motionseq.data.features import PoseFeatures
from motionseq.data.pose_augment import (
    PoseAugment,
    affine,
    affine_matrix,
    change_speed,
    clip_centre,
    crop_frames,
    mirror,
    pose_layout,
)
from motionseq.data.sources import WorkoutsSource
from motionseq.data.workouts import generate_workouts
from motionseq.errors import ConfigError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout
from motionseq.tasks.train import train
from tests.test_train import TINY, compose_cfg

MP = get_layout("mediapipe33")
ALL_ON = dict(mirror_p=0.5, crop_min=0.7, speed=(0.8, 1.25), rotate_deg=15.0, scale=(0.9, 1.1),
              shear=0.1, joint_dropout=0.05, min_frames=8)


def _pose(t: int = 12, seed: int = 0) -> PoseSequence:
    rng = np.random.default_rng(seed)
    kp = rng.random((t, MP.num_joints, 3)).astype(np.float32)
    return PoseSequence(kp, np.full((t, MP.num_joints), 0.9, np.float32), 30.0, "mediapipe33",
                        label="squat", source="test")


def _workout(seed: int = 0) -> PoseSequence:
    return generate_workouts(1, seed, classes=["jumping_jack"], max_frames=60)[0].sequence


def _same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(b), atol=1e-6)


# --------------------------------------------------------------------------- mirror


def test_mirror_twice_is_identity():
    seq = _workout()  # with dropped joints (NaN)
    kp, vis = mirror(seq.keypoints, seq.visibility, MP)
    kp2, vis2 = mirror(kp, vis, MP)
    _same(kp2, seq.keypoints)
    np.testing.assert_array_equal(vis2, seq.visibility)


def test_mirror_swaps_left_and_right_about_the_centre():
    kp = np.full((2, MP.num_joints, 3), 0.5, np.float32)
    li, ri = MP.index("left_wrist"), MP.index("right_wrist")
    lh, rh = MP.index("left_hip"), MP.index("right_hip")
    kp[:, lh, 0], kp[:, rh, 0] = 0.45, 0.35  # centre x = 0.4
    kp[:, li, :] = (0.7, 0.2, 0.1)
    kp[:, ri, :] = (0.3, 0.6, -0.2)
    kp[:, MP.index("nose"), 0] = 0.42
    vis = np.full((2, MP.num_joints), 0.5, np.float32)
    vis[:, li] = 1.0
    out, ovis = mirror(kp, vis, MP)
    # the right wrist (x 0.3, 0.1 right of the centre) is now the left one, 0.1 to the left
    np.testing.assert_allclose(out[0, li], (0.5, 0.6, -0.2), atol=1e-6)
    np.testing.assert_allclose(out[0, ri], (0.1, 0.2, 0.1), atol=1e-6)
    assert ovis[0, ri] == 1.0 and ovis[0, li] == 0.5
    np.testing.assert_allclose(out[0, MP.index("nose"), 0], 0.38, atol=1e-6)  # not a pair
    np.testing.assert_allclose(clip_centre(out, MP), clip_centre(kp, MP), atol=1e-6)
    # hips symmetric about the centre: the swap and the negation cancel
    np.testing.assert_allclose(out[:, [lh, rh], 0], kp[:, [lh, rh], 0], atol=1e-6)


def test_mirrored_workout_keeps_its_label():
    seq = _workout()
    out = PoseAugment(mirror_p=1.0)(seq, np.random.default_rng(0))
    assert out.label == seq.label == "jumping_jack" and out.layout == seq.layout
    assert out.num_frames == seq.num_frames and not np.allclose(
        np.nan_to_num(out.keypoints), np.nan_to_num(seq.keypoints))


# --------------------------------------------------------------------------- time


def test_crop_and_speed_lengths_stay_in_range():
    seq = _pose(t=40)
    crop = PoseAugment(crop_min=0.5, min_frames=4)
    speed = PoseAugment(speed=(0.5, 2.0), min_frames=4)
    fast = PoseAugment(speed=(8.0, 8.0), min_frames=10)  # 40 frames would become 6
    short = PoseAugment(crop_min=0.05, speed=(0.8, 8.0), min_frames=10)
    lengths = set()
    for i in range(60):
        rng = np.random.default_rng(i)
        assert 20 <= crop(seq, rng).num_frames <= 40
        assert 21 <= speed(seq, rng).num_frames <= 79  # (40 - 1) / factor + 1
        assert fast(seq, rng).num_frames == 10  # never below min_frames
        n = short(seq, rng).num_frames
        assert n >= 10
        lengths.add(n)
        assert fast(_pose(t=6), rng).num_frames == 6  # nor shorter than a short clip was
    assert 10 in lengths and len(lengths) > 5


def test_crop_is_contiguous_and_speed_interpolates():
    kp = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    vis = np.tile(np.linspace(0, 1, 10, dtype=np.float32)[:, None], (1, 2))
    c, cv = crop_frames(kp, vis, 3, 4)
    np.testing.assert_array_equal(c[:, 0, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(cv, vis[3:7])
    s, sv = change_speed(kp[:3], vis[:3], 5)  # half speed: twice the frames, less one
    np.testing.assert_allclose(s[:, 0, 0], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(sv[:, 0], vis[[0, 0, 1, 2, 2], 0])  # nearest (ties to even)
    kp_nan = kp[:3].copy()
    kp_nan[2, 1] = np.nan
    s2, _ = change_speed(kp_nan, vis[:3], 5)
    assert np.isnan(s2[3:, 1]).all() and np.isfinite(s2[:3, 1]).all()


def test_speed_one_and_crop_one_are_identity():
    seq = _workout()
    for aug in (PoseAugment(), PoseAugment(crop_min=1.0, speed=(1.0, 1.0)),
                PoseAugment(enabled=False, **ALL_ON)):
        assert not aug.active
        assert aug(seq, np.random.default_rng(0)) is seq
    kp, vis = change_speed(seq.keypoints, seq.visibility, seq.num_frames)
    _same(kp, seq.keypoints)
    c, _ = crop_frames(seq.keypoints, seq.visibility, 0, seq.num_frames)
    _same(c, seq.keypoints)


# --------------------------------------------------------------------------- geometry


def test_zero_rotation_unit_scale_zero_shear_is_identity():
    seq = _workout()
    np.testing.assert_allclose(affine_matrix(0.0, 1.0, (0.0, 0.0)), np.eye(2))
    _same(affine(seq.keypoints, affine_matrix(0.0, 1.0, (0.0, 0.0)), MP), seq.keypoints)


def _bones(kp: np.ndarray) -> np.ndarray:
    e = np.array(MP.edges)
    return np.linalg.norm(kp[:, e[:, 0], :2] - kp[:, e[:, 1], :2], axis=-1)


def test_rotation_keeps_bone_lengths_and_z():
    seq = _pose(t=5)
    out = affine(seq.keypoints, affine_matrix(30.0, 1.0, (0.0, 0.0)), MP)
    np.testing.assert_allclose(_bones(out), _bones(seq.keypoints), rtol=1e-5)
    np.testing.assert_array_equal(out[..., 2], seq.keypoints[..., 2])
    assert not np.allclose(out[..., :2], seq.keypoints[..., :2])
    np.testing.assert_allclose(clip_centre(out, MP), clip_centre(seq.keypoints, MP), atol=1e-6)
    rot = PoseAugment(rotate_deg=40.0)(seq, np.random.default_rng(1))
    np.testing.assert_allclose(_bones(rot.keypoints), _bones(seq.keypoints), rtol=1e-5)
    scaled = affine(seq.keypoints, affine_matrix(0.0, 1.5, (0.0, 0.0)), MP)
    np.testing.assert_allclose(_bones(scaled), 1.5 * _bones(seq.keypoints), rtol=1e-5)


def test_joint_dropout_hides_joints_and_features_stay_finite():
    seq = _pose(t=30)
    f = PoseFeatures()
    for per_frame in (False, True):
        out = PoseAugment(joint_dropout=0.3, dropout_per_frame=per_frame)(
            seq, np.random.default_rng(3))
        hidden = np.isnan(out.keypoints).any(axis=2)
        assert hidden.any() and (out.visibility[hidden] == 0).all()
        assert (out.visibility[~hidden] == 0.9).all()
        if not per_frame:  # a joint is hidden in every frame or in none
            assert (hidden.all(axis=0) | ~hidden.any(axis=0)).all()
        else:
            assert not (hidden.all(axis=0) | ~hidden.any(axis=0)).all()
        x = f(out)
        assert x.shape == (30, f.dim) and np.isfinite(x).all()


def test_every_option_on_a_workout_gives_finite_features():
    f = PoseFeatures()
    aug = PoseAugment(**ALL_ON)
    for i in range(5):
        x = f(aug(_workout(i), np.random.default_rng(i)))
        assert x.shape[1] == f.dim and x.shape[0] >= 8 and np.isfinite(x).all()


# --------------------------------------------------------------------------- raw data


def test_raw_layout_skips_geometry():
    values = np.random.default_rng(0).random((25, 5)).astype(np.float32)
    seq = PoseSequence.from_values(values, layout="raw", label="a")
    assert pose_layout("raw", 5) is None and pose_layout("no_such_layout", 33) is None
    geo = PoseAugment(mirror_p=1.0, rotate_deg=30.0, scale=(2.0, 2.0), shear=0.5,
                      joint_dropout=0.9)
    out = geo(seq, np.random.default_rng(0))
    np.testing.assert_array_equal(out.keypoints, seq.keypoints)  # nothing geometric applies
    aug = PoseAugment(**{**ALL_ON, "noise": 0.1, "value_scale": (0.5, 2.0)})
    f = PoseFeatures(layout="raw")
    for i in range(5):
        out = aug(seq, np.random.default_rng(i))
        assert out.keypoints.shape[1:] == (5, 1) and 8 <= out.num_frames <= 32
        x = f(out)
        assert x.shape == (out.num_frames, f.dim) and np.isfinite(x).all()
    scaled = PoseAugment(value_scale=(3.0, 3.0))(seq, np.random.default_rng(0))
    np.testing.assert_allclose(scaled.keypoints, 3.0 * seq.keypoints, rtol=1e-6)


def test_bad_options_are_config_errors():
    for bad in (dict(mirror_p=1.5), dict(crop_min=0.0), dict(speed=(0.0, 1.0)),
                dict(speed=(2.0, 1.0)), dict(scale="big"), dict(min_frames=0),
                dict(rotate_deg=-1.0), dict(seed=-1)):
        with pytest.raises(ConfigError, match="augment"):
            PoseAugment(**bad)
    assert PoseAugment(speed=[0.9, 1.1]).speed == (0.9, 1.1)  # lists from YAML


# --------------------------------------------------------------------------- data module


def _source() -> WorkoutsSource:
    return WorkoutsSource(train_per_class=4, test_per_class=2, max_frames=40,
                          classes=["squat", "jumping_jack"])


def _dm(augment: PoseAugment | None, **kw) -> ActionDataModule:
    dm = ActionDataModule(_source(), PoseFeatures(), batch_size=4, augment=augment, **kw)
    dm.setup()
    return dm


def _items(ds) -> list[np.ndarray]:
    return [ds[i]["x"].numpy().copy() for i in range(len(ds))]


def _equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_augmentation_is_train_only_and_reproducible():
    plain = _dm(None)
    assert isinstance(plain.datasets["train"], SequenceDataset)
    assert isinstance(_dm(PoseAugment()).datasets["train"], SequenceDataset)  # all off
    dm = _dm(PoseAugment(seed=5, **ALL_ON))
    train = dm.datasets["train"]
    assert isinstance(train, AugmentedSequenceDataset)
    for split in ("val", "test"):  # never augmented: the same items every epoch
        assert _equal(_items(dm.datasets[split]), _items(dm.datasets[split]))
        assert _equal(_items(dm.datasets[split]), _items(plain.datasets[split]))
    # statistics of the un-augmented training features, as without augmentation
    for k, v in dm.normalizer().items():
        np.testing.assert_array_equal(v, plain.normalizer()[k])
    assert dm.model_kwargs() == plain.model_kwargs()
    epoch1, epoch2 = _items(train), _items(train)
    assert not any(x.shape == y.shape and np.array_equal(x, y)
                   for x, y in zip(epoch1, epoch2, strict=True))
    again = _dm(PoseAugment(seed=5, **ALL_ON)).datasets["train"]
    assert _equal(_items(again), epoch1) and _equal(_items(again), epoch2)
    other = _dm(PoseAugment(seed=6, **ALL_ON)).datasets["train"]
    assert not _equal(_items(other), epoch1)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "lengths", "y"} and batch["x"].shape[-1] == PoseFeatures().dim
    assert int(batch["lengths"].max()) == batch["x"].shape[1]


class _Repeat(torch.utils.data.Sampler):
    """Item 0, ``n`` times: with one item per batch, each worker draws the same item."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter([0] * self.n)

    def __len__(self) -> int:
        return self.n


def test_workers_draw_different_streams():
    seqs = [_workout(0)]
    ds = AugmentedSequenceDataset(seqs, [0], PoseFeatures(), PoseAugment(**ALL_ON))

    def run() -> list[torch.Tensor]:
        torch.manual_seed(0)  # the DataLoader draws the workers' base seed from here
        loader = DataLoader(ds, batch_size=1, sampler=_Repeat(4), num_workers=2,
                            collate_fn=pad_collate)
        return [b["x"][0] for b in loader]

    xs = run()
    # batches 0 and 1 go to workers 0 and 1, both drawing item 0 for the first time
    assert not (xs[0].shape == xs[1].shape and torch.equal(xs[0], xs[1]))
    again = run()
    assert all(torch.equal(a, b) for a, b in zip(xs, again, strict=True))


def test_classifier_trains_with_augmentation(tmp_path):
    cfg = compose_cfg("train", ["experiment=classify_workouts", *TINY["workouts"],
                                "debug=fast_dev_run"], tmp_path, tmp_path / "data")
    with open_dict(cfg):
        cfg.data.augment = OmegaConf.create(
            {"_target_": "motionseq.data.pose_augment.PoseAugment", **ALL_ON,
             "speed": [0.8, 1.25], "scale": [0.9, 1.1]})
    metrics = train(cfg)
    assert metrics["test/acc"] == metrics["test/acc"]  # present and not NaN
