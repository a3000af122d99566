"""Repetition counting: joint angles, the trigger, and counts on synthetic workouts whose
repetitions are known (error <= 1 per set)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from motionseq.data.workouts import WORKOUT_CLASSES, make_workout
from motionseq.errors import ConfigError
from motionseq.live.reps import DEFAULT_EXERCISES, RepCounter, RepCounters, RepSpec, joint_angle
from motionseq.skeleton import get_layout
from tests.test_train import CONF

LAY = get_layout("mediapipe33")
HIP, KNEE, ANKLE = (LAY.index(f"left_{j}") for j in ("hip", "knee", "ankle"))
COUNTED = [c for c in WORKOUT_CLASSES if c in DEFAULT_EXERCISES]


def _leg(angle_deg: float, aspect: float = 1.0) -> np.ndarray:
    """Keypoints [33, 3] with the left knee bent to ``angle_deg`` (thigh straight up from
    the knee, shin at the angle), everything else unknown."""
    kp = np.full((33, 3), np.nan, np.float32)
    kp[KNEE] = (0.5, 0.6, 0.0)
    kp[HIP] = (0.5, 0.4, 0.0)
    a = math.radians(angle_deg)
    kp[ANKLE] = (0.5 + 0.2 * math.sin(a) / aspect, 0.6 - 0.2 * math.cos(a), 0.0)
    return kp


def test_joint_angle_by_hand():
    vis = np.ones(33)
    tri = [(HIP, KNEE, ANKLE)]
    assert joint_angle(_leg(90.0), vis, tri) == pytest.approx(90.0, abs=1e-3)
    assert joint_angle(_leg(170.0), vis, tri) == pytest.approx(170.0, abs=1e-3)
    # x is in image widths: a wide frame (aspect 2) stretches it back
    assert joint_angle(_leg(60.0, aspect=2.0), vis, tri, aspect=2.0) == pytest.approx(60.0,
                                                                                      abs=1e-3)
    assert math.isnan(joint_angle(np.full((33, 3), np.nan), vis, tri))
    # both sides, weighted by visibility: a hidden side hardly counts
    kp = _leg(90.0)
    r = [LAY.index(f"right_{j}") for j in ("hip", "knee", "ankle")]
    kp[r] = _leg(150.0)[[HIP, KNEE, ANKLE]]
    v = np.ones(33)
    v[r] = 0.0
    both = [(HIP, KNEE, ANKLE), tuple(r)]
    assert joint_angle(kp, v, both) == pytest.approx(90.0, abs=0.1)
    assert joint_angle(kp, np.ones(33), both) == pytest.approx(120.0, abs=1e-3)


def test_counts_a_clean_signal_and_respects_the_minimum_period():
    fps, f, n = 30.0, 0.5, 7  # 7 squats at 0.5 Hz from rest
    spec = RepSpec(("left_hip", "left_knee", "left_ankle"), "high", min_period_s=1.0)
    rc = RepCounter(spec, fps=fps)
    t = np.arange(int(n / f * fps) + 1) / fps
    rng = np.random.default_rng(0)
    for ti in t:
        ang = 175 - 40 * (1 - math.cos(2 * math.pi * f * ti)) + rng.normal(0, 1.5)
        rc.push(_leg(ang), np.ones(33), ti)
    assert rc.count == n
    # a wobble faster than the minimum period is one repetition, not three
    rc = RepCounter(spec, fps=fps)
    for ti in np.arange(0, 4, 1 / fps):
        wob = 175 - 40 * (1 - math.cos(2 * math.pi * 3.0 * ti)) if 1.0 < ti < 1.5 else 175
        rc.push(_leg(wob), np.ones(33), ti)
    assert rc.count == 1
    # standing still (small jitter) counts nothing
    rc = RepCounter(spec, fps=fps)
    for ti in np.arange(0, 5, 1 / fps):
        rc.push(_leg(172 + rng.normal(0, 2)), np.ones(33), ti)
    assert rc.count == 0


def _sets(name: str, want: int, whole: bool) -> list:
    """``want`` synthetic sets of ``name`` (8-20 s): whole sets start and end at rest,
    the others are cut from the middle of the movement."""
    out, i = [], 0
    while len(out) < want:
        s = make_workout(name, np.random.default_rng([2024, WORKOUT_CLASSES.index(name), i]),
                         min_frames=240, max_frames=600)
        i += 1
        is_whole = s.phase[0] == 0 and abs(s.phase[-1] - round(s.phase[-1])) < 1e-6
        if is_whole == whole:
            out.append(s)
    return out


def _count(name: str, sample) -> int:
    seq = sample.sequence
    rc = RepCounter(DEFAULT_EXERCISES[name], fps=seq.fps)
    for t in range(seq.num_frames):
        rc.push(seq.keypoints[t], seq.visibility[t], seq.timestamps[t])
    return rc.count


@pytest.mark.parametrize("name", COUNTED)
def test_synthetic_sets_within_one_rep(name):
    """A set starts and ends at rest: the count is within 1 of the known repetitions."""
    for s in _sets(name, 6, whole=True):
        assert s.reps >= 3
        assert abs(_count(name, s) - s.reps) <= 1, (name, s.reps, _count(name, s))


@pytest.mark.parametrize("name", COUNTED)
def test_windows_cut_mid_movement_within_two_reps(name):
    """Joining mid-movement can add or miss one repetition at each end (the known count
    holds whole cycles only)."""
    for s in _sets(name, 4, whole=False):
        assert abs(_count(name, s) - s.reps) <= 2, (name, s.reps, _count(name, s))


def test_leg_counters_stay_still_while_standing():
    for i in range(4):
        seq = make_workout("standing", np.random.default_rng([5, i]), min_frames=240,
                           max_frames=400).sequence
        rc = RepCounters({k: DEFAULT_EXERCISES[k] for k in ("squat", "lunge")}, fps=seq.fps)
        for t in range(seq.num_frames):
            counts = rc.push(seq.keypoints[t], seq.visibility[t])
        assert max(counts.values()) <= 1


def test_counters_from_config_and_errors():
    cfg = OmegaConf.load(CONF / "webcam.yaml")
    exercises = OmegaConf.to_container(cfg.reps.exercises)
    rc = RepCounters(exercises)
    # the config holds the same exercises as the library defaults
    assert {k: c.spec for k, c in rc.counters.items()} == DEFAULT_EXERCISES
    assert rc.count("squat") == 0 and rc.count("standing") is None
    with pytest.raises(ConfigError, match="needs joints"):
        RepCounters({"squat": {"rest": "high"}})
    with pytest.raises(ConfigError, match="has no joint 'left_kneee'"):
        RepCounters({"squat": {"joints": ["hip", "kneee", "ankle"]}})
    with pytest.raises(ConfigError, match="rest must be"):
        RepCounters({"squat": {"joints": ["hip", "knee", "ankle"], "rest": "up"}})
    with pytest.raises(ConfigError, match="three joints"):
        RepSpec(("hip", "knee"))
