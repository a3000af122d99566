"""Estimator noise: MediaPipe Pose's errors added to clean projected keypoints.

Fitted to MediaPipe's output on 46 real home-workout clips (22k frames; "real clips"),
each figure measured the same way on real and generated tracks (penn13 joints, lengths
in torso lengths = hip midpoint to shoulder midpoint in pixels):

- jitter: residual after a 5-frame quadratic (Savitzky-Golay) fit. MediaPipe smooths
  over time, so it is tiny on a still joint and grows with the joint's speed (blur);
  occluded joints (guessed) wobble 2-5x more;
- wobble: residual after a 0.5 s moving average on still joints (slower, smooth error);
- left/right swaps: a left/right chain labelled the wrong way round for some frames,
  counted as paired jumps where the crossed assignment fits the previous frame far better;
- visibility: near-side, far-side and out-of-frame joints (see ``camera._visibility``);
- occluded joints: MediaPipe's guess for a hidden far-side limb drifts onto the near one.

Every random draw of a clip is made in :func:`draw_noise` from that clip's generator;
:func:`observe` only applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionseq.data.workouts.body import FACE_IDX, mid, pair
from motionseq.data.workouts.timing import draw_knots, interp_knots

_HAND_JOINTS = pair("wrist") + pair("pinky") + pair("index") + pair("thumb")
_FOOT_JOINTS = pair("heel") + pair("foot_index")
# Relative jitter per joint (real clips, still joints: elbows, wrists and knees ~1.3x the
# shoulders and hips; hands and feet points are smaller, harder targets).
_JITTER = np.ones(33)
_JITTER[pair("elbow") + pair("knee")] = 1.3
_JITTER[_HAND_JOINTS] = 1.5
_JITTER[_FOOT_JOINTS] = 1.3

# Jitter per axis as a share of the torso length, at joint speed v torso lengths per
# second: _STILL + _BLUR * sqrt(v). Real clips, 5-frame residual median by speed (torso/s):
# 0.0003 below 0.1, 0.0015 at 0.1-0.3, 0.0033 at 0.3-1, 0.0055 at 1-2, 0.0082 at 2-4,
# 0.017 at 4-8 (MediaPipe's own smoothing: a still joint barely moves).
_STILL, _BLUR = 0.0001, 0.0031
# Smooth wobble (~2 Hz) and slow drift (~0.5 Hz) as shares of the torso length. Real
# clips: still joints wobble 0.0045 (median) about a 0.5 s moving average.
_WOBBLE, _DRIFT = 0.004, 0.01
# Hidden (guessed) joints: jitter and wobble grow by 1 + _GUESSED * (1 - visibility)
# (real clips: joints under visibility 0.3 have 2.4x the residual of joints over 0.95
# when still, 5x when moving fast).
_GUESSED = 3.0

# Left/right chains that MediaPipe swaps together, and how often each is the one swapped
# (real clips, flips per pair: ankles 34, knees 10, elbows 9, shoulders 4, wrists 4, hips 1;
# ankles alone in most episodes, knees with ankles, elbows with wrists or shoulders).
_CHAINS = (
    ("ankle", "heel", "foot_index"),
    ("knee", "ankle", "heel", "foot_index"),
    ("elbow", "wrist", "pinky", "index", "thumb"),
    ("shoulder", "elbow", "wrist", "pinky", "index", "thumb"),
    None,  # the whole body: front and back confused
)
_CHAIN_P = np.cumsum([0.45, 0.25, 0.1, 0.1, 0.1])
_ALL_PAIRS = [pair(j) for j in ("eye_inner", "eye", "eye_outer", "ear", "shoulder",
                                "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee",
                                "ankle", "heel", "foot_index")] + [[9, 10]]  # mouth
# Swap episodes start at _SWAP_RATE per second at noise 1 (times a per-clip proneness),
# and happen when the pair is ambiguous (see observe). Real clips: 28 episodes detected in
# 22k frames, in 10 of 46 clips; median 4.5 frames, p90 21.
_SWAP_RATE = 0.045


def _swap_perm(chain: int) -> np.ndarray:
    """The joint permutation ``[33]`` that swaps chain ``chain``'s left and right."""
    perm = np.arange(33)
    pairs = (_ALL_PAIRS if _CHAINS[chain] is None
             else [pair(j) for j in _CHAINS[chain]])
    for left, right in pairs:
        perm[left], perm[right] = right, left
    return perm


_SWAP_PERMS = np.stack([_swap_perm(k) for k in range(len(_CHAINS))])  # [chains, 33]
# The pair that decides whether a chain's swap is plausible (see observe), nose for
# the whole body (a back view hides it).
_SWAP_KEY = np.array([pair("ankle")[0], pair("knee")[0], pair("elbow")[0],
                      pair("elbow")[0], FACE_IDX[0]])
_PARTNER = _SWAP_PERMS[-1]  # each joint's other-side partner (the nose its own)

# Snaps: a joint jumps onto another limb's joint for a few frames (a wrist onto the other
# wrist or a knee, an ankle onto the other ankle ...), when the two are near in the image.
# Real clips: the 5-frame residual of joints moving over 8 torso lengths/s has p90 0.41
# torso lengths (the smooth noise alone: 0.1).
_SNAPS = np.array([(a, b) for side in (0, 1) for a, b in (
    (pair("wrist")[side], pair("wrist")[1 - side]), (pair("wrist")[side], pair("knee")[side]),
    (pair("wrist")[side], pair("hip")[side]), (pair("elbow")[side], pair("elbow")[1 - side]),
    (pair("knee")[side], pair("knee")[1 - side]), (pair("ankle")[side], pair("ankle")[1 - side]),
    (pair("ankle")[side], pair("knee")[1 - side]))])
_SNAP_RATE = 0.1  # snap episodes per second at noise 1
# The share of clips whose source leaves low-visibility joints unknown, and the range of the
# visibility below which it does (see draw_noise).
_HIDE_BELOW = (0.7, 0.3, 0.8)


@dataclass
class _Noise:
    """One clip's random draws for :func:`observe`, at unit scale (None = not used)."""

    fps: float
    jitter: np.ndarray | None  # [T, 33, 3] about unit scale, heavy-tailed
    wobble: tuple[np.ndarray, np.ndarray] | None  # ~2 Hz knots, see draw_knots
    drift: tuple[np.ndarray, np.ndarray] | None  # ~0.5 Hz knots
    vis: np.ndarray | None  # [T, 33] logit noise, smooth per joint plus frame to frame
    vis_gain: np.ndarray | None  # [33] log-gain of each joint's occlusion loss
    vis_offset: np.ndarray | None  # [33] logit offset per joint (clip part included)
    pull: float  # how far hidden joints slide onto their partner, in [0, 1]
    swaps: np.ndarray | None  # [E, 4] episodes: start, stop, chain, gate in [0, 1)
    snaps: np.ndarray | None  # [E, 3] episodes: start, stop, row of _SNAPS
    lost: np.ndarray | None  # [T, 33] joints the detector loses
    hide_below: float = 0.0  # joints below this visibility are unknown (0: none)


def draw_noise(rng: np.random.Generator, n: int, fps: float, noise: float,
               drop_prob: float) -> _Noise:
    """One clip's noise draws: nothing for ``noise == 0`` or ``drop_prob == 0``."""
    jitter = wobble = drift = vis = gain = offset = swaps = snaps = lost = None
    pull = 0.0
    if noise > 0:
        t = np.arange(n) / fps
        # Heavy-tailed: real residuals' p90 is 3-5x their median (a normal's is 2x).
        jitter = (rng.standard_normal((n, 33, 3), dtype=np.float32)
                  * np.exp(0.6 * rng.standard_normal((n, 33, 1), dtype=np.float32)))
        wobble = draw_knots(rng, t, 33 * 3, 2.0)
        # Drift: 99 per-joint coordinates plus 3 shared ones (camera shake, tracker bias).
        drift = draw_knots(rng, t, 33 * 3 + 3, 0.5)
        # Visibility logits: per clip, per joint, slowly over time and frame to frame.
        # Real clips, visibility p5/10/25/50/75 = 0.14/0.31/0.87/0.99/0.999.
        vis = (0.5 * interp_knots(*draw_knots(rng, t, 33, 1.0))
               + 0.3 * rng.standard_normal((n, 33)))
        gain = rng.normal(0.0, 0.4, 33)
        offset = rng.normal(0.0, 1.2) + rng.normal(0.0, 1.0, 33)
        pull = float(rng.uniform(0.1, 0.8))
        # Swap episodes: most clips have none, a few many (a per-clip proneness).
        rate = _SWAP_RATE * noise * np.exp(rng.normal(0.0, 1.2))
        e = rng.poisson(rate * n / fps)
        start = rng.integers(0, n, e)
        length = np.ceil(np.exp(rng.normal(np.log(4.0), 1.3, e)))  # frames
        chain = np.searchsorted(_CHAIN_P, rng.random(e) * _CHAIN_P[-1])
        swaps = np.stack([start, np.minimum(start + length, n), chain, rng.random(e)],
                         axis=1)
        e = rng.poisson(_SNAP_RATE * noise * n / fps)
        start = rng.integers(0, n, e)
        length = np.ceil(np.exp(rng.normal(np.log(3.0), 0.6, e)))
        snaps = np.stack([start, np.minimum(start + length, n),
                          rng.integers(0, len(_SNAPS), e)], axis=1)
    if drop_prob > 0:
        lost = rng.random((n, 33)) < drop_prob
        # A few person-less frames (detector misses), in short runs.
        for _ in range(rng.poisson(0.1 * drop_prob * n)):
            start = rng.integers(n)
            lost[start:start + rng.integers(1, 7)] = True
    # Some sources leave hidden and out-of-frame joints unknown instead of guessing them:
    # Penn Action's annotators left 38 % of the occluded joints unannotated, other pose
    # estimators drop joints below a confidence. Per clip: all or nothing. Fitted to the
    # Penn Action train clips of the shared classes: 13.2 % of their joints are unknown
    # (13 joints; shoulders 22 %, wrists and hips 18 %, knees 9 %); with these draws the
    # generated clips of those classes have 13.0 % (7-17 % per joint; 5.8 % before, when
    # 30 % of clips hid joints under 0.2-0.6).
    hide_below = float(rng.uniform(_HIDE_BELOW[1], _HIDE_BELOW[2])) \
        if drop_prob > 0 and rng.random() < _HIDE_BELOW[0] else 0.0
    return _Noise(fps, jitter, wobble, drift, vis, gain, offset, pull, swaps, snaps, lost,
                  hide_below)


def _knots(draws: list[_Noise], key: str, lengths: np.ndarray) -> np.ndarray:
    """The smooth signal ``key`` of clips joined along time ``[F, rows]``: all clips'
    knots stacked, each clip's grid positions shifted to its own knots."""
    knots = np.concatenate([getattr(d, key)[1] for d in draws])
    first = np.cumsum([0] + [len(getattr(d, key)[1]) for d in draws[:-1]])
    pos = np.concatenate([getattr(d, key)[0] + k for d, k in zip(draws, first, strict=True)])
    return interp_knots(pos, knots)


def _speed(kp: np.ndarray, aspect: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each joint's image speed ``[F, 33]`` in image widths per frame (mean of the steps
    before and after; 0 across clip boundaries)."""
    d = np.diff(kp[..., :2], axis=0)
    step = np.hypot(d[..., 0], d[..., 1] / aspect[1:, None])  # [F-1, 33]
    step[np.cumsum(lengths)[:-1] - 1] = 0.0  # no step from one clip into the next
    out = np.zeros(kp.shape[:2])
    out[1:] += 0.5 * step
    out[:-1] += 0.5 * step
    return out


def _swap(kp: np.ndarray, vis: np.ndarray, draws: list[_Noise], lengths: np.ndarray
          ) -> None:
    """Apply the swap episodes in place. A chain's swap happens when its pair is
    ambiguous: its two sides differ in visibility (a side view: one is hidden) or, for
    the whole body, the face is hidden (a back view). Front views still swap now and
    then (gate 0.15)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for d, a in zip(draws, starts, strict=True):
        for s, e, chain, gate in d.swaps:
            s, e, chain = int(s) + a, int(e) + a, int(chain)
            key = _SWAP_KEY[chain]
            if _CHAINS[chain] is None:
                ambiguous = 1.0 - vis[s:e, key].mean()
            else:
                ambiguous = np.abs(vis[s:e, key] - vis[s:e, _PARTNER[key]]).mean()
            if gate < 0.15 + 0.85 * ambiguous:
                perm = _SWAP_PERMS[chain]
                kp[s:e] = kp[s:e, perm]
                vis[s:e] = vis[s:e, perm]


def _snap(kp: np.ndarray, aspect: np.ndarray, draws: list[_Noise], lengths: np.ndarray,
          torso: np.ndarray) -> None:
    """Apply the snap episodes in place: the joint takes the other joint's place while
    the two are within one torso length in the image (farther apart, no confusion)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for d, a in zip(draws, starts, strict=True):
        for s, e, k in d.snaps.astype(np.int64):
            src, dst = _SNAPS[k]
            s, e = s + a, e + a
            dx, dy = (kp[s:e, src, :2] - kp[s:e, dst, :2]).T
            near = np.hypot(dx, dy / aspect[s:e]) < torso[s:e, 0]
            kp[s:e, src] = np.where(near[:, None], kp[s:e, dst], kp[s:e, src])


def observe(kp: np.ndarray, vis: np.ndarray, aspect: np.ndarray, lengths: np.ndarray,
            draws: list[_Noise], noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Add detector noise to clean keypoints ``[F, 33, 3]`` and visibility ``[F, 33]`` of
    clips joined along time (``aspect`` ``[F]`` = image width / height).

    Position errors are shares of each clip's torso length in the image, so they do not
    depend on how large the person appears, and are the same in pixels along x and y.
    """
    n = kp.shape[0]
    if noise > 0:
        kp, vis = kp.copy(), vis.copy()
        dx, dy = (mid(kp, "shoulder") - mid(kp, "hip"))[:, :2].T
        torso = np.hypot(dx, dy / aspect)  # in image widths
        ends = np.cumsum(lengths)
        torso = np.repeat([np.median(torso[e - ln:e]) for e, ln in
                           zip(ends, lengths, strict=True)], lengths)[:, None]  # [F, 1]
        fps = np.repeat([d.fps for d in draws], lengths)[:, None]
        speed = _speed(kp, aspect, lengths) * fps / torso  # torso lengths per second
        _swap(kp, vis, draws, lengths)
        _snap(kp, aspect, draws, lengths, torso)
        hidden = 1.0 - vis
        # A hidden joint's guess slides toward its (seen) partner: real side views show
        # the far knee or wrist drawn on top of the near one.
        pull = np.repeat([d.pull for d in draws], lengths)[:, None]
        w = np.clip(3.0 * noise * pull * (hidden - hidden[:, _PARTNER]), 0.0, 1.0)[..., None]
        kp[..., :2] += w * (kp[:, _PARTNER, :2] - kp[..., :2])
        # Per axis: y is in image heights; the detector's depth is much noisier than x, y.
        axis_sd = np.stack([np.ones(n), aspect, np.full(n, 3.0)], axis=-1)[:, None]
        scale = noise * torso * (1.0 + _GUESSED * hidden)  # [F, 33]
        sd = scale * _JITTER * (_STILL + _BLUR * np.sqrt(speed))
        kp += np.concatenate([d.jitter for d in draws]) * sd[..., None] * axis_sd
        wobble = _knots(draws, "wobble", lengths).reshape(n, 33, 3)
        kp += wobble * (_WOBBLE * scale)[..., None] * axis_sd
        drift = _knots(draws, "drift", lengths)
        drift = (drift[:, :99] + 1.3 * np.tile(drift[:, 99:], 33)).reshape(n, 33, 3)
        kp += drift * (_DRIFT * noise * torso)[..., None] * axis_sd
        # MediaPipe's z is relative to the hip midpoint by construction: keep it at 0.
        kp[..., 2] -= mid(kp[..., 2], "hip")[:, None]
        # Visibility in logits: 4.5 for a joint in plain view (see camera._visibility);
        # each joint's loss when hidden varies between clips, and all of it over time.
        logit = np.log(np.clip(vis, 1e-4, 1 - 1e-4) / np.clip(1.0 - vis, 1e-4, 1.0))
        gain = np.exp(noise * np.repeat([d.vis_gain for d in draws], lengths, axis=0))
        offset = np.repeat([d.vis_offset for d in draws], lengths, axis=0)
        logit = 4.5 + np.minimum(logit - 4.5, 0.0) * gain + noise * (
            offset + np.concatenate([d.vis for d in draws]))
        vis = 1.0 / (1.0 + np.exp(-logit))
    vis = np.clip(vis, 0.0, 1.0)
    if draws[0].lost is not None:
        lost = np.concatenate([d.lost for d in draws])
        lost |= vis < np.repeat([d.hide_below for d in draws], lengths)[:, None]
        kp[lost] = np.nan
        vis[lost] = 0.0
    return kp.astype(np.float32), vis.astype(np.float32)
