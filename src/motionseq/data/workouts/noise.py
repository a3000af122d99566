"""Estimator noise: per-joint jitter, slow drift, visibility noise and lost joints or
person-less frames, added to clean projected keypoints."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionseq.data.workouts.body import FACE_IDX, mid, pair
from motionseq.data.workouts.timing import draw_knots, interp_knots

_HAND_JOINTS = pair("wrist") + pair("pinky") + pair("index") + pair("thumb")
_FOOT_JOINTS = pair("heel") + pair("foot_index")
_JITTER = np.full(33, 0.02)  # per-joint jitter, as a share of the torso length
_JITTER[list(FACE_IDX)] = 0.03
_JITTER[_HAND_JOINTS] = 0.05
_JITTER[_FOOT_JOINTS] = 0.035


@dataclass
class _Noise:
    """One clip's random draws for :func:`observe`, at unit scale (None = not used)."""

    jitter: np.ndarray | None  # [T, 33, 3] standard normal
    drift: tuple[np.ndarray, np.ndarray] | None  # slow drift knots, see draw_knots
    vis: np.ndarray | None  # [T, 33] standard normal
    lost: np.ndarray | None  # [T, 33] joints the detector loses


def draw_noise(rng: np.random.Generator, n: int, fps: float, noise: float,
               drop_prob: float) -> _Noise:
    """One clip's noise draws: nothing for ``noise == 0`` or ``drop_prob == 0``."""
    jitter = drift = vis = lost = None
    if noise > 0:
        jitter = rng.standard_normal((n, 33, 3), dtype=np.float32)
        # Slow drift, ~1 s knots: 99 per-joint coordinates plus 3 shared ones (camera
        # shake, tracker bias).
        drift = draw_knots(rng, np.arange(n) / fps, 33 * 3 + 3, 0.5)
        vis = rng.standard_normal((n, 33), dtype=np.float32)
    if drop_prob > 0:
        lost = rng.random((n, 33)) < drop_prob
        # A few person-less frames (detector misses), in short runs.
        for _ in range(rng.poisson(0.1 * drop_prob * n)):
            start = rng.integers(n)
            lost[start:start + rng.integers(1, 7)] = True
    return _Noise(jitter, drift, vis, lost)


def observe(kp: np.ndarray, vis: np.ndarray, aspect: np.ndarray, lengths: np.ndarray,
            draws: list[_Noise], noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Add detector noise to clean keypoints ``[F, 33, 3]`` and visibility ``[F, 33]`` of
    clips joined along time (``aspect`` ``[F]`` = image width / height).

    Jitter and drift are shares of each clip's torso length in the image, so they do not
    depend on how large the person appears, and are the same in pixels along x and y.
    """
    n = kp.shape[0]
    if noise > 0:
        dx, dy = (mid(kp, "shoulder") - mid(kp, "hip"))[:, :2].T
        torso = np.hypot(dx, dy / aspect)  # in image widths
        ends = np.cumsum(lengths)
        scale = noise * np.array([np.median(torso[e - ln:e]) for e, ln in
                                  zip(ends, lengths, strict=True)])
        scale = np.repeat(scale, lengths)[:, None]
        # Per axis: y is in image heights; the detector's depth is much noisier than x, y.
        axis_sd = np.stack([np.ones(n), aspect, np.full(n, 3.0)], axis=-1)[:, None]
        # Occluded joints are guessed by the detector, so they wobble more.
        sd = scale * _JITTER * (1.0 + 1.5 * (1.0 - vis))
        kp = kp + np.concatenate([d.jitter for d in draws]) * sd[..., None] * axis_sd
        # Slow drift, ~1 s knots, per joint plus a shared part: all clips' knots stacked,
        # each clip's grid positions shifted to its own knots.
        knots = np.concatenate([d.drift[1] for d in draws])
        first = np.cumsum([0] + [len(d.drift[1]) for d in draws[:-1]])
        pos = np.concatenate([d.drift[0] + k for d, k in zip(draws, first, strict=True)])
        knots = knots[:, :99] + 1.3 * np.tile(knots[:, 99:], 33)
        drift = interp_knots(pos, knots) * (0.015 * scale)
        kp += drift.reshape(n, 33, 3) * axis_sd
        # MediaPipe's z is relative to the hip midpoint by construction: keep it at 0.
        kp[..., 2] -= mid(kp[..., 2], "hip")[:, None]
        vis = vis + np.concatenate([d.vis for d in draws]) * (0.04 * noise)
    vis = np.clip(vis, 0.0, 1.0)
    if draws[0].lost is not None:
        lost = np.concatenate([d.lost for d in draws])
        kp[lost] = np.nan
        vis[lost] = 0.0
    return kp.astype(np.float32), vis.astype(np.float32)
