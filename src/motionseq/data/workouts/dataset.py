"""The public API: :data:`WORKOUT_CLASSES`, :class:`WorkoutSample`, one clip
(:func:`make_workout`), many (:func:`generate_workouts`) and the 3D motion alone
(:func:`simulate_workout_3d`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionseq.data.workouts.camera import draw_shot, project
from motionseq.data.workouts.motions import draw_motion, motions_3d
from motionseq.data.workouts.noise import draw_noise, observe
from motionseq.errors import ConfigError
from motionseq.sequence import PoseSequence

WORKOUT_CLASSES: tuple[str, ...] = (
    "squat", "push_up", "jumping_jack", "lunge", "arm_circles", "sit_up", "pull_up",
    "jump_rope", "plank", "standing", "other",
)
# Exercises done lying or propped on the floor: filmed from the side (their pose turns
# the body side-on).
_FLOOR = ("push_up", "sit_up", "plank")

_BATCH = 64  # clips made together by generate_workouts (bounds the memory used)


@dataclass
class WorkoutSample:
    """One synthetic clip.

    Attributes:
        sequence: keypoints ``[T, 33, 3]`` (mediapipe33), label = class name.
        reps: completed repetitions in the clip (whole cycles; 0 for the classes
            without repetitions: ``plank``, ``standing``, ``other``).
        phase: ``[T]`` motion phase in cycles (integer = rest position, +0.5 = the
            turning point, e.g. the bottom of a squat); zeros for ``plank``,
            ``standing`` and ``other``.
    """

    sequence: PoseSequence
    reps: int
    phase: np.ndarray


def _check_name(name: str) -> None:
    if name not in WORKOUT_CLASSES:
        raise ConfigError(
            f"unknown workout class {name!r}; known classes: {', '.join(WORKOUT_CLASSES)}"
        )


def _check_args(min_frames: int, max_frames: int, fps: float, noise: float,
                drop_prob: float) -> None:
    if min_frames < 2:
        raise ConfigError(f"min_frames must be at least 2, got {min_frames}")
    if min_frames > max_frames:
        raise ConfigError(f"min_frames ({min_frames}) must not exceed max_frames ({max_frames})")
    if not (np.isfinite(fps) and fps > 0):
        raise ConfigError(f"fps must be a positive number, got {fps}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ConfigError(f"noise must be >= 0, got {noise}")
    if not (0 <= drop_prob < 1):
        raise ConfigError(f"drop_prob must be within [0, 1), got {drop_prob}")


def make_workout(
    name: str,
    rng: np.random.Generator,
    *,
    min_frames: int = 30,
    max_frames: int = 150,
    fps: float = 30.0,
    noise: float = 1.0,
    drop_prob: float = 0.02,
) -> WorkoutSample:
    """One random clip of workout ``name`` with ``T ~ U[min_frames, max_frames]`` frames.

    ``noise`` scales the observation noise (keypoint jitter, drift, visibility noise;
    0 = clean projections). ``drop_prob`` is the chance that a joint is lost in a frame
    (NaN, visibility 0); besides, about ``0.1 * drop_prob * T`` runs of 1-6 person-less
    frames (all NaN) occur. Frames are never removed: ``len(sequence) == T``.
    """
    _check_name(name)
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    return _make_batch(name, [rng], min_frames, max_frames, fps, noise, drop_prob)[0]


def _make_batch(name: str, rngs: list[np.random.Generator], min_frames: int, max_frames: int,
                fps: float, noise: float, drop_prob: float) -> list[WorkoutSample]:
    """One clip of ``name`` per generator.

    Each generator makes all of its clip's random draws, in a fixed order, so a clip is
    the same whatever batch it is made in; the clips are then posed, filmed and noised
    together, joined along time: a few large array operations instead of many small ones.
    """
    motions, shots, noises = [], [], []
    for rng in rngs:
        n = int(rng.integers(min_frames, max_frames + 1))
        motions.append(draw_motion(name, rng, n, fps))
        shots.append(draw_shot(rng, side_view=name in _FLOOR, name=name))
        noises.append(draw_noise(rng, n, fps, noise, drop_prob))
    lengths = np.array([m.n for m in motions])
    j, axes = motions_3d(motions)
    kp, vis, aspect = project(j, axes, shots, lengths)
    kp, vis = observe(kp, vis, aspect, lengths, noises, noise)
    out, start = [], 0
    for m in motions:
        part = slice(start, start + m.n)
        start += m.n
        seq = PoseSequence(keypoints=kp[part].copy(), visibility=vis[part].copy(), fps=fps,
                           layout="mediapipe33", label=name, source=f"workouts/{name}")
        out.append(WorkoutSample(sequence=seq, reps=m.reps, phase=m.phase.astype(np.float64)))
    return out


def generate_workouts(
    n_per_class: int,
    seed: int,
    *,
    classes: Sequence[str] = WORKOUT_CLASSES,
    min_frames: int = 30,
    max_frames: int = 150,
    fps: float = 30.0,
    noise: float = 1.0,
    drop_prob: float = 0.02,
) -> list[WorkoutSample]:
    """``n_per_class`` clips of each class, in a shuffled order fixed by ``seed``.

    Each clip draws from its own generator seeded by ``(seed, class, i)``, so a clip does
    not change when other classes are added or removed. ``sequence.source`` is
    ``workouts/seed{seed}/{i}`` with ``i`` the position in the returned list.
    """
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(classes)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    for name in classes:
        _check_name(name)
    if len(set(classes)) != len(classes):
        raise ConfigError(f"classes must not repeat a name, got {list(classes)}")
    if not classes:
        raise ConfigError(f"classes must not be empty; known classes: {', '.join(WORKOUT_CLASSES)}")
    if n_per_class < 1:
        raise ConfigError(f"n_per_class must be at least 1, got {n_per_class}")
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    out = []
    for name in classes:
        c = WORKOUT_CLASSES.index(name)
        for first in range(0, n_per_class, _BATCH):
            rngs = [np.random.default_rng([seed, c, i])
                    for i in range(first, min(first + _BATCH, n_per_class))]
            out += _make_batch(name, rngs, min_frames, max_frames, fps, noise, drop_prob)
    order = np.random.default_rng([seed, 1_000_003]).permutation(len(out))
    out = [out[k] for k in order]
    for i, s in enumerate(out):
        s.sequence.source = f"workouts/seed{seed}/{i}"
    return out


def simulate_workout_3d(
    name: str, rng: np.random.Generator, n_frames: int, fps: float = 30.0
) -> tuple[np.ndarray, np.ndarray, int]:
    """One person performing ``name`` in 3D world coordinates (no camera, no noise).

    Returns ``(joints [T, 33, 3], phase [T], reps)``: joints in metres in mediapipe33
    order, x = the person's left, y = up, z = forward, floor at y = 0; phase in cycles.
    """
    _check_name(name)
    m = draw_motion(name, rng, n_frames, fps)
    j, _ = motions_3d([m])
    return j, m.phase, m.reps
