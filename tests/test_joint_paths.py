"""Joint paths: poses to body-unit tracks, the forecast_joints experiment, and the live
view's learned joint paths against the dataset path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionseq.data.joint_paths import (
    JointPathsSource,
    from_body_units,
    joint_tracks,
    to_body_units,
    torso_length,
)
from motionseq.data.penn_action import PennActionSource
from motionseq.data.trajectories import make_windows
from motionseq.errors import ConfigError, DataError
from motionseq.live.joints import JointPaths, load_joint_forecaster, resample
from motionseq.modules.forecaster import TrajectoryForecaster
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout
from tests.test_errors import _Source

LAY = get_layout("penn13")
J = LAY.index


def _walker(frames: int = 60, fps: float = 30.0, torso: float = 40.0) -> PoseSequence:
    """penn13 poses in pixels: hips at (100, 200), shoulders ``torso`` above, a left
    wrist circling and a right ankle moving right; the other joints still."""
    kp = np.zeros((frames, LAY.num_joints, 2), np.float32)
    kp[:] = (100.0, 150.0)
    kp[:, [J("left_hip"), J("right_hip")]] = [(90.0, 200.0), (110.0, 200.0)]
    kp[:, [J("left_shoulder"), J("right_shoulder")]] = [(90.0, 200.0 - torso),
                                                        (110.0, 200.0 - torso)]
    t = np.arange(frames) / fps
    kp[:, J("left_wrist")] = np.c_[120 + 20 * np.cos(2 * t), 160 + 20 * np.sin(2 * t)]
    kp[:, J("right_ankle")] = np.c_[100 + 30 * t, np.full(frames, 260.0)]
    return PoseSequence(kp, np.ones(kp.shape[:2], np.float32), fps, "penn13")


def test_body_units_divide_by_the_torso_in_true_proportions():
    seq = _walker(torso=40.0)
    assert torso_length(seq.keypoints, "penn13") == pytest.approx(40.0)
    # image-normalised x (640 wide, 480 high): the same torso once x is scaled back
    norm = seq.keypoints / np.array([640.0, 480.0], np.float32)
    assert torso_length(norm, "penn13", aspect=640 / 480) == pytest.approx(40.0 / 480)
    p = to_body_units(norm[5, J("left_wrist")], 40.0 / 480, 640 / 480)
    np.testing.assert_allclose(p, seq.keypoints[5, J("left_wrist")] / 40.0, rtol=1e-5)
    np.testing.assert_allclose(from_body_units(p, 40.0 / 480, 640 / 480),
                               norm[5, J("left_wrist")], rtol=1e-5)
    nobody = np.full((3, LAY.num_joints, 2), np.nan)
    assert np.isnan(torso_length(nobody, "penn13"))


def test_joint_tracks_break_at_gaps_and_skip_unseen_joints():
    seq = _walker(frames=30)
    seq.keypoints[10:12, J("left_wrist")] = np.nan  # lost for two frames
    seq.visibility[:, J("right_ankle")] = 0.2  # never visible enough
    tr = joint_tracks(seq, ["left_wrist", "right_ankle"], min_visibility=0.5)
    assert tr.dt == pytest.approx(1 / 30)
    assert sorted(set(tr.agent.tolist())) == [0, 1]  # two runs of the wrist, no ankle
    assert np.array_equal(tr.frame[tr.agent == 0], np.arange(10))
    assert np.array_equal(tr.frame[tr.agent == 1], np.arange(12, 30))
    np.testing.assert_allclose(tr.xy[tr.agent == 0], seq.keypoints[:10, J("left_wrist")] / 40.0,
                               rtol=1e-5)
    w = make_windows(tr, obs_len=5, pred_len=5)
    assert len(w) == (10 - 9) + (18 - 9)  # no window bridges the gap
    # no torso ever seen: nothing to measure the paths in
    blind = PoseSequence(np.where(np.isin(np.arange(LAY.num_joints), LAY.center_joints)[None, :, None],
                                  np.nan, seq.keypoints), seq.visibility, 30.0, "penn13")
    assert joint_tracks(blind, ["left_wrist"]) is None
    with pytest.raises(ConfigError, match="nose_tip"):
        joint_tracks(seq, ["nose_tip"])


def test_source_holds_out_whole_train_clips_for_validation():
    seqs = [_walker() for _ in range(20)]
    for i, s in enumerate(seqs):
        s.source = f"clip{i}"
    out = JointPathsSource(_Source({"train": seqs, "test": seqs[:2]}), ["left_wrist"],
                           val_fraction=0.3, seed=1).load()
    assert len(out["train"]) + len(out["val"]) == 20 and out["val"] and out["train"]
    with pytest.raises(ConfigError, match="val_fraction"):
        JointPathsSource(_Source({}), val_fraction=1.0)
    blind = PoseSequence(np.full((30, 13, 2), np.nan, np.float32), np.zeros((30, 13)), 30.0,
                         "penn13")
    with pytest.raises(DataError, match="nothing to forecast"):
        JointPathsSource(_Source({"train": [blind], "test": [blind]}), ["left_wrist"]).load()


def test_penn_action_joint_paths(shared_data):
    poses = PennActionSource(shared_data / "penn_action", limit_per_class=4,
                             image_normalized=False)
    out = JointPathsSource(poses).load()
    # Penn Action leaves some joints unannotated for whole clips: a clip without the hips
    # (upper-body guitar clips) or without any of the four joints has no paths
    lay = get_layout("penn13")
    idx = [lay.index(j) for j in ("left_wrist", "right_wrist", "left_ankle", "right_ankle")]
    seen = {k: sum(bool(np.isfinite(s.keypoints[:, idx]).any())
                   and np.isfinite(torso_length(s.keypoints, "penn13")) for s in v)
            for k, v in poses.load().items()}
    assert 55 <= seen["test"] <= 60 and 55 <= seen["train"] <= 60
    assert len(out["test"]) == seen["test"]
    assert len(out["train"]) + len(out["val"]) == seen["train"]
    w = make_windows(out["test"], obs_len=15, pred_len=20)
    step = np.linalg.norm(np.diff(w.obs, axis=1), axis=-1)
    # body units: a wrist or ankle moves a few hundredths of a torso per frame, not pixels
    # (the median step is 0: annotated joints often hold still from one frame to the next)
    assert 0.01 < float(step.mean()) < 0.2, step.mean()


def test_forecast_joints_learns_to_beat_constant_velocity(joints_run):
    """A short training on 20 clips per action: the test paths (other clips) are closer
    than constant velocity's, at every horizon on average and at the end."""
    assert joints_run["test/ade"] < 0.8 * joints_run["test/cv_ade"]
    assert joints_run["test/fde"] < 0.8 * joints_run["test/cv_fde"]


def _forecaster(obs_len: int = 15, pred_len: int = 20, dt: float = 1 / 30
                ) -> TrajectoryForecaster:
    torch.manual_seed(0)
    m = TrajectoryForecaster(obs_len, pred_len, dt, hidden=16)
    m.set_normalizer(0.05)
    return m.eval()


def test_live_joint_paths_equal_the_dataset_path():
    """Frames pushed one by one (image-normalised, 4:3 picture) give the forecaster the
    windows the data module cuts from the same poses in pixels, and the paths drawn are its
    predictions mapped back to the picture."""
    model = _forecaster()
    seq = _walker(frames=40)
    size = np.array([640.0, 480.0], np.float32)
    jp = JointPaths(["left_wrist", "right_ankle"], "penn13", fps=30.0, horizon_s=0.5,
                    points=4, min_visibility=0.5, model=model)
    outs = [jp.push(kp / size, vis, aspect=640 / 480) for kp, vis in
            zip(seq.keypoints, seq.visibility, strict=True)]
    assert all(o == {} for o in outs[:14]) and all(outs[14:])  # 15 frames before the first
    w = make_windows(joint_tracks(seq, ["left_wrist", "right_ankle"]), obs_len=15, pred_len=20)
    with torch.inference_mode():
        pred = model(torch.from_numpy(w.obs)).numpy()  # body units
    take = jp.take
    assert list(take) == [0, 5, 9, 14]  # 15 steps (0.5 s) sampled at 4 points
    for agent, name in ((0, "left_wrist"), (10000, "right_ankle")):
        rows = np.flatnonzero(w.agent == agent)
        last = rows[-1]  # the window ending at frame 33 ... (frames 19..33 observed)
        t_end = int(w.start_frame[last]) + 14
        got = outs[t_end][name]
        np.testing.assert_allclose(got[0], seq.keypoints[t_end, J(name)] / size, atol=1e-6)
        want = pred[last, take] * 40.0 / size
        np.testing.assert_allclose(got[1:], want, atol=2e-5)


def test_resample_equals_numpy_interp_per_path():
    """One set of weights for every path: the same as ``np.interp`` of each coordinate,
    with irregular frame times, grid points before and after the recording, and two frames
    at the same time."""
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 1.0, 12))
    t[5] = t[4]
    paths = rng.normal(size=(3, 12, 2)).astype(np.float32)
    grid = np.linspace(-0.2, 1.2, 23)
    got = resample(paths, t, grid)
    for j in range(3):
        for c in range(2):
            want = np.interp(grid, t, paths[j, :, c])
            ok = ~np.isclose(grid, t[4])  # numpy's pick at a repeated time is its own
            np.testing.assert_allclose(got[j, ok, c], want[ok], rtol=1e-6, atol=1e-6)
    assert got.shape == (3, 23, 2)


def test_live_joint_paths_resample_other_frame_rates():
    """A 60 fps stream is read at the model's 30 fps steps: a joint moving steadily gets
    the same prediction as at 30 fps."""
    model = _forecaster()
    seq30 = _walker(frames=40, fps=30.0)
    seq60 = _walker(frames=80, fps=60.0)
    a = JointPaths(["right_ankle"], "penn13", fps=30.0, model=model)
    b = JointPaths(["right_ankle"], "penn13", fps=60.0, model=model)
    for kp, vis in zip(seq30.keypoints, seq30.visibility, strict=True):
        pa = a.push(kp, vis)
    for kp, vis in zip(seq60.keypoints[:79], seq60.visibility[:79], strict=True):
        pb = b.push(kp, vis)
    np.testing.assert_allclose(pa["right_ankle"], pb["right_ankle"], atol=1e-3)


def test_live_joint_paths_need_the_torso_and_the_history():
    model = _forecaster()
    seq = _walker(frames=20)
    jp = JointPaths(["left_wrist"], "penn13", fps=30.0, model=model)
    kp = seq.keypoints.copy()
    kp[:, list(LAY.center_joints)] = np.nan  # hips never seen: no body units
    assert all(jp.push(k, v) == {} for k, v in zip(kp, seq.visibility, strict=True))
    jp.reset()
    out = [jp.push(k, v) for k, v in zip(seq.keypoints, seq.visibility, strict=True)]
    assert out[13] == {} and "left_wrist" in out[14]
    assert jp.push(None, None) == {}  # the joint lost in the newest frame


def test_joint_forecaster_checkpoint_kinds(joints_run, tmp_path):
    model = load_joint_forecaster(joints_run["checkpoint"])
    assert model.hparams["obs_len"] == 15 and model.hparams["dt"] == pytest.approx(1 / 30)
    bad = tmp_path / "cls.ckpt"
    from motionseq.modules.classifier import ActionClassifier

    cls = ActionClassifier(4, ["a", "b"])
    ckpt = {"state_dict": cls.state_dict()}
    cls.on_save_checkpoint(ckpt)
    torch.save(ckpt, bad)
    with pytest.raises(ConfigError, match="trajectory forecaster"):
        load_joint_forecaster(str(bad))
