import numpy as np
import pytest

from motionseq.data.features import PoseFeatures, body_frame, feature_stats, forward_fill
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout


def _seq(t=6, layout="mediapipe33", seed=0):
    j = get_layout(layout).num_joints
    kp = np.random.default_rng(seed).random((t, j, 3)).astype(np.float32)
    return PoseSequence(kp, np.full((t, j), 0.9), 30.0, layout)


def test_forward_fill():
    v = np.array([[np.nan], [1.0], [np.nan], [3.0]])
    out, ever = forward_fill(v, np.isfinite(v[:, 0]))
    assert ever.tolist() == [False, True, True, True]
    assert out[2, 0] == 1.0 and out[3, 0] == 3.0 and np.isnan(out[0, 0])


def test_feature_dim_and_values():
    f = PoseFeatures()
    seq = _seq()
    x = f(seq)
    assert x.shape == (6, f.dim) == (6, 33 * 2 * 2 + 33)
    lay = get_layout("mediapipe33")
    centre, scale = body_frame(seq.keypoints, "mediapipe33")
    # position channels are (joint - hip centre) / torso length
    j = lay.index("left_wrist")
    expect = (seq.keypoints[3, j, :2] - centre[3, :2]) / scale[3]
    np.testing.assert_allclose(x[3, 2 * j:2 * j + 2], expect, rtol=1e-5)
    # hip centre sits at the origin
    hips = [lay.index("left_hip"), lay.index("right_hip")]
    np.testing.assert_allclose(x[:, [2 * h for h in hips]].sum(axis=1), 0, atol=1e-5)
    # velocity channel is the position change per second
    vel0 = 33 * 2
    np.testing.assert_allclose(x[2, vel0 + 2 * j], (x[2, 2 * j] - x[1, 2 * j]) * 30, rtol=1e-4)
    assert (x[0, vel0:2 * vel0] == 0).all()
    np.testing.assert_allclose(x[:, -33:], 0.9, rtol=1e-6)


def test_missing_joints_and_frames_are_zero_not_nan():
    seq = _seq(t=5)
    kp = seq.keypoints.copy()
    kp[2] = np.nan  # nobody in frame 2
    kp[3, 15] = np.nan  # one joint lost
    x = PoseFeatures()(PoseSequence(kp, seq.visibility, 30.0, "mediapipe33"))
    assert np.isfinite(x).all()
    assert (x[2] == 0).all()
    assert x[3, 2 * 15] == 0 and x[3, -33 + 15] == 0
    assert (x[3, 66:132][2 * 15:2 * 15 + 2] == 0).all()  # velocity into a lost joint is 0
    assert (x[4, 66:132][2 * 15:2 * 15 + 2] == 0).all()  # and out of it


def test_features_are_causal():
    """Frame t depends only on frames <= t: the streaming path can reuse the function."""
    seq = _seq(t=12, seed=3)
    kp = seq.keypoints.copy()
    kp[0:2, 23:25] = np.nan  # hips unknown at the start
    full = PoseFeatures().from_arrays(kp, seq.visibility, 30.0)
    for t in (1, 5, 11):
        part = PoseFeatures().from_arrays(kp[: t + 1], seq.visibility[: t + 1], 30.0)
        np.testing.assert_allclose(part[-1], full[t], rtol=1e-6)


def test_layout_mapping_and_errors():
    f = PoseFeatures(layout="penn13")
    assert f(_seq()).shape == (6, f.dim) == (6, 13 * 5)
    with pytest.raises(DataError, match="cannot be mapped"):
        PoseFeatures(layout="coco17")(_seq(layout="penn13"))
    two_d = PoseSequence(np.zeros((3, 33, 2)), np.ones((3, 33)), 30, "mediapipe33")
    with pytest.raises(DataError, match="use_z"):
        PoseFeatures(use_z=True)(two_d)


def test_feature_stats():
    a, b = np.array([[0.0, 1], [2, 1]]), np.array([[4.0, 1]])
    mean, std = feature_stats([a, b])
    np.testing.assert_allclose(mean, [2, 1])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 1e-3], rtol=1e-5)
    with pytest.raises(DataError, match="empty"):
        feature_stats([])


def _penn_body(head_ratio: float = 1.39, knee_ratio: float = 0.76) -> np.ndarray:
    """One upright penn13 frame ``[13, 2]``: hips at y = 1, torso length 0.2."""
    lay = get_layout("penn13")
    kp = np.zeros((13, 2))
    place = {"left_hip": (0.55, 1.0), "right_hip": (0.45, 1.0),
             "left_shoulder": (0.58, 0.8), "right_shoulder": (0.42, 0.8),
             "head": (0.5, 1.0 - 0.2 * head_ratio),
             "left_knee": (0.55, 1.0 + 0.2 * knee_ratio),
             "right_knee": (0.45, 1.0 + 0.2 * knee_ratio)}
    for name, xy in place.items():
        kp[lay.index(name)] = xy
    for name in ("left_elbow", "right_elbow", "left_wrist", "right_wrist",
                 "left_ankle", "right_ankle"):
        kp[lay.index(name)] = (0.5, 0.9)
    return kp


def test_scale_from_the_head_or_knees_when_the_shoulders_are_unknown():
    lay = get_layout("penn13")
    shoulders = [lay.index("left_shoulder"), lay.index("right_shoulder")]
    frames = np.stack([_penn_body()] * 3)
    frames[1, shoulders] = np.nan  # scale from the head
    frames[2, shoulders] = np.nan
    frames[2, lay.index("head")] = np.nan  # ... and from the knees
    _, scale = body_frame(frames, "penn13")
    np.testing.assert_allclose(scale, 0.2, rtol=1e-9)
    # one known hip is the centre when the other is unknown
    one_hip = frames[:1].copy()
    one_hip[0, lay.index("right_hip")] = np.nan
    centre, _ = body_frame(one_hip, "penn13")
    np.testing.assert_allclose(centre[0], frames[0, lay.index("left_hip")])


def test_visibility_known_is_a_mask():
    kp = np.stack([_penn_body()] * 2).astype(np.float32)
    kp[1, 3] = np.nan
    vis = np.full((2, 13), 0.3, np.float32)
    feats = PoseFeatures(layout="penn13", velocities=False, visibility="known")
    x = feats(PoseSequence(kp, vis, 30.0, "penn13"))
    np.testing.assert_array_equal(x[:, -13:], np.isfinite(kp[..., 0]).astype(np.float32))
    with pytest.raises(Exception, match="visibility"):
        PoseFeatures(layout="penn13", visibility="maybe")


def test_centre_velocity_is_the_body_centres_own_motion():
    """A body gliding at a steady speed has the same centred positions in every frame;
    centre_velocity gives the glide in torso lengths per second, 0 into and out of a frame
    without hips, and appends its channels after the others."""
    lay = get_layout("penn13")
    base = _seq(t=1, layout="penn13").keypoints[0]
    t = np.arange(8, dtype=np.float32)[:, None, None]
    kp = base[None] + t * np.array([0.01, -0.02, 0.0], np.float32)  # per frame
    kp[5, list(lay.center_joints)] = np.nan
    seq = PoseSequence(kp, np.ones(kp.shape[:2]), 25.0, "penn13")
    plain = PoseFeatures(layout="penn13")
    f = PoseFeatures(layout="penn13", centre_velocity=True)
    x = f(seq)
    assert x.shape == (8, f.dim) == (8, plain.dim + 2)
    np.testing.assert_array_equal(x[:, :-2], plain(seq))
    _, scale = body_frame(kp, "penn13")
    np.testing.assert_allclose(x[3, -2:], np.array([0.01, -0.02]) * 25.0 / scale[3], rtol=1e-4)
    assert (x[[0, 5, 6], -2:] == 0).all()
    with pytest.raises(ConfigError, match="centre_velocity"):
        PoseFeatures(layout="raw", centre_velocity=True)
    with pytest.raises(ConfigError, match="centre_velocity"):
        PoseFeatures(layout="penn13", normalize_body=False, centre_velocity=True)
