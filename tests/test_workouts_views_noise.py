"""The synthetic workouts' camera views (camera.py) and MediaPipe-like estimator noise
(noise.py): ranges, rates and the clean limit."""

from __future__ import annotations

import numpy as np
import pytest

from motionseq.data.workouts import make_workout, simulate_workout_3d
from motionseq.data.workouts.body import DEG, mid, pair
from motionseq.data.workouts.camera import _Shot, draw_shot, project
from motionseq.data.workouts.noise import _CHAINS, _SWAP_RATE, draw_noise, observe
from motionseq.skeleton import get_layout

IDX = get_layout("mediapipe33").index


# --------------------------------------------------------------------------- camera


def test_camera_heights_views_and_frames_span_real_footage() -> None:
    shots = [draw_shot(np.random.default_rng(i), side_view=False) for i in range(600)]
    height = np.array([s.height for s in shots])
    # From floor level (phone leant on the wall) to above a standing head (~1.7 m).
    assert height.min() < 0.15 and height.max() > 2.1
    assert 0.1 < np.mean(height < 0.4) < 0.25 and 0.08 < np.mean(height > 1.7) < 0.25
    yaw = np.abs(np.degrees([s.yaw for s in shots]))
    for lo, hi in ((0, 25), (25, 70), (70, 110), (110, 180)):  # front, oblique, side, back
        assert np.mean((yaw >= lo) & (yaw < hi)) > 0.08
    aspect = np.array([s.aspect for s in shots])
    assert np.mean(aspect < 1) > 0.1 and np.mean(aspect > 1.7) > 0.5  # portrait, 16:9
    # Lens: horizontal field of view from a narrow webcam to an ultra-wide phone lens.
    fov = 2 * np.degrees(np.arctan(0.5 / np.array([s.focal for s in shots])))
    assert fov.min() < 35 and fov.max() > 90
    assert np.mean(np.abs(np.degrees([s.roll for s in shots])) > 4) > 0.1  # tilted
    assert np.mean([s.fill > 1 for s in shots]) > 0.15  # cut by the frame edge

    floor = [draw_shot(np.random.default_rng(i), side_view=True) for i in range(300)]
    height = np.array([s.height for s in floor])
    assert np.mean(height < 0.4) > 0.25 and np.mean(height > 1.1) > 0.15  # low and high
    assert np.abs(np.degrees([s.yaw for s in floor])).max() <= 25  # side-on stays side-on


def _film(height: float, dist_fill: float = 0.9) -> np.ndarray:
    """A person standing still, facing a camera ``height`` m above the floor: image
    keypoints ``[T, 33, 2]`` (x and y in the same pixel units)."""
    j, _, _ = simulate_workout_3d("standing", np.random.default_rng(0), 10)
    axes = np.tile(np.array([[1.0, 0, 0], [0, 0, 1.0]] * 3)[None], (10, 1, 1))
    shot = _Shot(yaw=0.0, height=height, aim=0.0, pitch_err=0.0, roll=0.0, pan=0.0,
                 aspect=9 / 16, focal=0.5 / np.tan(40 * DEG), fill=dist_fill,
                 place=np.array([0.5, 0.5]))
    kp, vis, aspect = project(j, axes, [shot], np.array([10]))
    assert (vis > 0.9).all() and np.all(aspect == 9 / 16)
    return kp[..., :2] * np.array([1.0, 1.0 / aspect[0]])


def test_camera_height_sets_the_perspective() -> None:
    """Seen from the floor the legs look long and the head small; from above the head
    high, the other way round; the person stays upright in the frame either way."""
    def shins_over_arms(kp: np.ndarray) -> float:
        shin = np.linalg.norm(kp[:, pair("knee")] - kp[:, pair("ankle")], axis=-1)
        arm = np.linalg.norm(kp[:, pair("shoulder")] - kp[:, pair("elbow")], axis=-1)
        return float(np.median(shin / arm))

    low, high = _film(0.1), _film(2.3)
    assert shins_over_arms(low) > 1.15 * shins_over_arms(high)
    for kp in (low, high):
        assert (kp[:, IDX("nose"), 1] < mid(kp, "ankle")[:, 1]).all()  # head above feet


def test_out_of_frame_joints_have_low_visibility() -> None:
    outside, inside = [], []
    for i in range(60):
        s = make_workout("jumping_jack", np.random.default_rng(i), noise=0.0, drop_prob=0.0)
        kp, vis = s.sequence.keypoints, s.sequence.visibility
        off = np.maximum(np.maximum(-kp[..., 0], kp[..., 0] - 1),
                         np.maximum(-kp[..., 1], kp[..., 1] - 1))
        outside.append(vis[off > 0.05])
        inside.append(vis[off < -0.05])
    outside, inside = np.concatenate(outside), np.concatenate(inside)
    assert len(outside) > 100  # some shots cut the body
    assert np.median(outside) < 0.05 and np.mean(outside < 0.5) > 0.95
    assert np.median(inside) > 0.95


def test_far_side_joints_are_less_visible_in_side_views() -> None:
    near, far = [], []
    for i in range(20):
        s = make_workout("push_up", np.random.default_rng(i), noise=0.0, drop_prob=0.0)
        kp, vis = s.sequence.keypoints, s.sequence.visibility
        for joint in ("elbow", "hip", "knee"):
            left, right = pair(joint)
            left_far = kp[:, left, 2] > kp[:, right, 2]  # larger z = farther away
            far.append(np.where(left_far, vis[:, left], vis[:, right]))
            near.append(np.where(left_far, vis[:, right], vis[:, left]))
    assert np.median(np.concatenate(near)) > 0.95
    assert np.median(np.concatenate(far)) < np.median(np.concatenate(near)) - 0.1


# --------------------------------------------------------------------------- noise


def test_zero_noise_and_drop_give_clean_projections() -> None:
    """Every error scales with ``noise`` down to none: a tiny noise differs from the clean
    projection by a tiny amount (no swaps, snaps or visibility changes left over)."""
    for name in ("squat", "push_up", "jumping_jack"):
        clean = make_workout(name, np.random.default_rng(3), noise=0.0, drop_prob=0.0)
        tiny = make_workout(name, np.random.default_rng(3), noise=1e-6, drop_prob=0.0)
        a, b = clean.sequence, tiny.sequence
        assert np.isfinite(a.keypoints).all()
        np.testing.assert_allclose(a.keypoints[..., :2], b.keypoints[..., :2], atol=1e-4)
        np.testing.assert_allclose(a.visibility, b.visibility, atol=1e-4)
    # observe itself adds nothing without noise and drops.
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 1, (20, 33, 3))
    vis = rng.uniform(0, 1, (20, 33))
    draws = [draw_noise(np.random.default_rng(1), 20, 30.0, 0.0, 0.0)]
    out_kp, out_vis = observe(kp, vis, np.full(20, 16 / 9), np.array([20]), draws, 0.0)
    np.testing.assert_allclose(out_kp, kp, atol=1e-6)
    np.testing.assert_allclose(out_vis, vis, atol=1e-6)


def _still_body(n: int, moving: bool) -> tuple[np.ndarray, np.ndarray]:
    """A body ``[n, 33, 3]`` standing still in a frame, all joints fully visible; with
    ``moving`` the left wrist swings at ~4 torso lengths per second."""
    rng = np.random.default_rng(5)
    base = rng.uniform(0.3, 0.7, (33, 3))
    base[:, 2] = 0.0
    base[pair("shoulder"), 1], base[pair("hip"), 1] = 0.3, 0.5  # torso 0.2 tall
    kp = np.repeat(base[None], n, axis=0)
    if moving:
        t = np.arange(n) / 30.0
        kp[:, IDX("left_wrist"), 0] += 0.2 * np.sin(2 * np.pi * 1.5 * t)
    return kp, np.full((n, 33), 0.99)


def _errors(moving: bool, seeds: range) -> np.ndarray:
    """Per-seed RMS frame-to-frame change of the observed error at the left wrist."""
    out = []
    for seed in seeds:
        kp, vis = _still_body(120, moving)
        d = draw_noise(np.random.default_rng(seed), 120, 30.0, 1.0, 0.0)
        d.swaps, d.snaps = d.swaps[:0], d.snaps[:0]  # jitter alone
        obs, _ = observe(kp, vis, np.ones(120), np.array([120]), [d], 1.0)
        err = (obs - kp)[:, IDX("left_wrist"), :2]
        out.append(np.sqrt(np.mean(np.diff(err, axis=0) ** 2)))
    return np.array(out)


def test_jitter_grows_with_speed() -> None:
    still, moving = _errors(False, range(10)), _errors(True, range(10))
    assert np.median(moving) > 4 * np.median(still)
    # Still joints barely move, as in MediaPipe's smoothed output: well under 1 % of the
    # torso length (0.2) per frame.
    assert np.median(still) < 0.002 * 0.2 * 3


def test_swaps_exchange_a_left_right_chain_at_the_configured_rate() -> None:
    n, fps = 300, 30.0
    counts = [len(draw_noise(np.random.default_rng(i), n, fps, 1.0, 0.0).swaps)
              for i in range(400)]
    # Episodes per clip: rate x duration x the mean per-clip proneness exp(1.2^2 / 2).
    expected = _SWAP_RATE * n / fps * np.exp(1.2**2 / 2)
    assert 0.75 * expected < np.mean(counts) < 1.3 * expected
    assert np.mean(np.array(counts) == 0) > 0.3  # many clips have none

    # Apply one long episode of each chain to a body whose right side is hidden (a side
    # view: swaps always pass the gate) and check exactly that chain changed sides.
    kp, vis = _still_body(40, moving=False)
    right = [j for j in range(33) if get_layout("mediapipe33").joints[j].startswith("right")]
    vis[:, right] = 0.05
    for chain in range(len(_CHAINS)):
        d = draw_noise(np.random.default_rng(0), 40, fps, 1.0, 0.0)
        d.swaps = np.array([[10.0, 30.0, chain, 0.0]])
        d.snaps = d.snaps[:0]
        d.pull = 0.0
        obs, _ = observe(kp, vis, np.ones(40), np.array([40]), [d], 1e-3)
        names = _CHAINS[chain] or ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
        for joint in names:
            left, right_j = pair(joint)
            np.testing.assert_allclose(obs[10:30, left], kp[10:30, right_j], atol=1e-3)
            np.testing.assert_allclose(obs[:10, left], kp[:10, left], atol=1e-3)
        if _CHAINS[chain] is not None and "hip" not in names:
            np.testing.assert_allclose(obs[:, pair("hip")], kp[:, pair("hip")], atol=1e-3)


def test_generated_side_views_show_swaps_and_collapsed_far_limbs() -> None:
    """Push-ups (side-on): left/right jumps happen in some clips, and hidden far knees
    are often drawn on top of the near ones, as MediaPipe does."""
    jumps, close = 0, []
    for i in range(30):
        s = make_workout("push_up", np.random.default_rng(i), min_frames=150,
                         max_frames=150, drop_prob=0.0)
        kp = s.sequence.keypoints[..., :2]
        torso = np.nanmedian(np.linalg.norm(mid(kp, "shoulder") - mid(kp, "hip"), axis=1))
        left, right = kp[:, IDX("left_ankle")], kp[:, IDX("right_ankle")]
        same = np.linalg.norm(np.diff(left, axis=0), axis=1)
        cross = np.linalg.norm(left[1:] - right[:-1], axis=1)
        jumps += int(np.sum((cross < 0.4 * same) & (same > 0.25 * torso)))
        knees = np.linalg.norm(kp[:, IDX("left_knee")] - kp[:, IDX("right_knee")], axis=1)
        close.append(np.mean(knees < 0.08 * torso))
    assert jumps > 0
    assert np.mean(close) > 0.05


def test_visibility_noise_spreads_like_mediapipe() -> None:
    vis = np.concatenate([make_workout(name, np.random.default_rng(i), drop_prob=0.0)
                          .sequence.visibility.ravel()
                          for name in ("squat", "push_up", "standing") for i in range(8)])
    # Real clips: visibility p10/25/50 = 0.31/0.87/0.99, 14 % below 0.5.
    assert 0.9 < np.median(vis) < 0.999
    assert 0.04 < np.mean(vis < 0.5) < 0.35


@pytest.mark.parametrize("noise", [1.0, 2.0])
def test_observe_draws_nothing(noise: float) -> None:
    """All randomness is in draw_noise: observing the same draws twice gives the same."""
    kp, vis = _still_body(50, moving=True)
    d = draw_noise(np.random.default_rng(2), 50, 30.0, noise, 0.05)
    a = observe(kp, vis, np.ones(50), np.array([50]), [d], noise)
    b = observe(kp, vis, np.ones(50), np.array([50]), [d], noise)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_unknown_joints_are_as_common_as_in_penn_action() -> None:
    """Penn Action train clips of the shared classes leave 13 % of their 13 joints unknown
    (hidden joints not annotated); the generated clips of those classes, on the same 13
    joints, come close, and no joint is unknown far more often than the others (a class
    must not be told apart by which joints it lacks)."""
    from motionseq.data.workouts import generate_workouts

    classes = ("squat", "push_up", "jumping_jack", "sit_up", "pull_up", "jump_rope")
    clips = generate_workouts(25, 3, classes=classes)
    unknown = np.array([np.isnan(c.sequence.to_layout("penn13").keypoints[..., :2]).any(-1)
                        .mean(0) for c in clips])  # [clips, 13]
    assert 0.09 < unknown.mean() < 0.17
    assert unknown.mean(0).max() < 2.5 * unknown.mean(0).min()
