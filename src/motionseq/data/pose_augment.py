"""Train-only augmentation of a :class:`PoseSequence`, applied before the feature path.

Each transform is a pure function of arrays (``keypoints [T, J, C]``, ``visibility
[T, J]``) and explicit random draws; :class:`PoseAugment` chains them from config and
draws the randomness from a generator it is handed. Training items are augmented afresh
each time they are drawn (see :class:`~motionseq.data.datasets.AugmentedSequenceDataset`),
then go through the same :class:`~motionseq.data.features.PoseFeatures` as validation,
test and live inference, which never see augmentation.

Geometric transforms (mirror, rotation, scale, shear, joint dropout) need a skeleton: a
layout with mirror pairs and centre joints. On the layout-free ``raw`` layout (or any
layout name that is not registered) only the temporal transforms (crop, speed) and the
value transforms (noise, value scale) apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from motionseq.data.features import quiet_nan_warnings
from motionseq.errors import ConfigError, MotionseqError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import Layout, get_layout

Array = np.ndarray


# --------------------------------------------------------------------------- transforms


def pose_layout(name: str, num_joints: int) -> Layout | None:
    """The layout ``name`` when it describes a skeleton the geometric transforms can use
    (named joints matching ``num_joints``, centre joints); None otherwise (``raw``, an
    unregistered name)."""
    try:
        lay = get_layout(name)
    except (MotionseqError, KeyError):
        return None
    if getattr(lay, "generic", False) or not lay.center_joints or lay.num_joints != num_joints:
        return None
    return lay


def clip_centre(keypoints: Array, layout: Layout) -> Array | None:
    """Mean ``(x, y)`` of the layout's centre joints over the whole clip, ``[2]``; the mean of
    all known joints when the centre joints are never known; None when nothing is known.

    One point per clip (not per frame), so whole-body motion across the image is
    transformed along with the pose."""
    xy = keypoints[..., :2]
    with np.errstate(invalid="ignore"):
        hips = xy[:, list(layout.center_joints)].mean(axis=1)  # [T, 2], NaN if a hip is unknown
    for pts in (hips, xy.reshape(-1, 2)):
        ok = np.isfinite(pts).all(axis=1)
        if ok.any():
            return pts[ok].mean(axis=0)
    return None


def mirror(keypoints: Array, visibility: Array, layout: Layout) -> tuple[Array, Array]:
    """Horizontal mirror about the clip's body centre: left and right joints swap (the
    layout's flip pairs) and x is negated about the centre; y and z are unchanged.

    Args:
        keypoints: ``[T, J, C]``; visibility: ``[T, J]``.
    Returns:
        ``(keypoints [T, J, C], visibility [T, J])``, new arrays.
    """
    perm = layout.flip_permutation()
    kp = keypoints[:, perm].copy()
    vis = visibility[:, perm].copy()
    centre = clip_centre(keypoints, layout)
    if centre is not None:
        kp[..., 0] = 2.0 * centre[0] - kp[..., 0]
    return kp, vis


def affine_matrix(rotate_deg: float, scale: float, shear: tuple[float, float]) -> Array:
    """``[2, 2]`` matrix: shear ``x += sx * y, y += sy * x``, then isotropic scale, then
    rotation by ``rotate_deg`` degrees in the image plane."""
    t = math.radians(rotate_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    sh = np.array([[1.0, shear[0]], [shear[1], 1.0]])
    return rot @ (scale * sh)


def affine(keypoints: Array, matrix: Array, layout: Layout) -> Array:
    """Apply a ``[2, 2]`` matrix to ``(x, y)`` about the clip's body centre; z unchanged.

    Coordinates are used as they are stored (image-normalised keypoints are not made
    square first): a small rotation stays a small, near-rigid change.

    Args:
        keypoints: ``[T, J, C]`` with NaN for unknown joints.
    Returns:
        ``[T, J, C]``, a new array (NaN stays NaN).
    """
    centre = clip_centre(keypoints, layout)
    kp = keypoints.copy()
    if centre is None:
        return kp
    xy = keypoints[..., :2].astype(np.float64) - centre
    kp[..., :2] = xy @ matrix.T + centre
    return kp


def crop_frames(keypoints: Array, visibility: Array, start: int, length: int
                ) -> tuple[Array, Array]:
    """Frames ``start .. start + length - 1``: ``([length, J, C], [length, J])``."""
    return keypoints[start:start + length], visibility[start:start + length]


def change_speed(keypoints: Array, visibility: Array, frames: int) -> tuple[Array, Array]:
    """Replay the clip in ``frames`` frames at the same frame rate: fewer frames is faster
    motion (factor ``(T - 1) / (frames - 1)``).

    Keypoints are interpolated linearly (NaN when either neighbour is unknown; a frame
    that lands on an original frame copies it); visibility takes the nearest frame.

    Args:
        keypoints: ``[T, J, C]``; visibility: ``[T, J]``.
    Returns:
        ``([frames, J, C], [frames, J])``.
    """
    t = keypoints.shape[0]
    if frames == t or t == 0:
        return keypoints, visibility
    if t == 1:
        return np.repeat(keypoints, frames, axis=0), np.repeat(visibility, frames, axis=0)
    return sample_frames(keypoints, visibility, np.linspace(0.0, t - 1, frames))


def sample_frames(keypoints: Array, visibility: Array, pos: Array) -> tuple[Array, Array]:
    """The clip read at fractional frame positions ``pos`` (``[N]``, within ``[0, T-1]``):
    keypoints interpolated linearly between the two neighbouring frames (NaN when either
    is unknown, unless the position lands on one), visibility from the nearest frame."""
    t = keypoints.shape[0]
    pos = np.clip(pos, 0.0, t - 1)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(t - 2, 0))
    i1 = np.minimum(i0 + 1, t - 1)
    w = (pos - i0)[:, None, None]
    lo, hi = keypoints[i0], keypoints[i1]
    with np.errstate(invalid="ignore"):
        mixed = lo + w * (hi - lo)
    kp = np.where(w <= 0.0, lo, np.where(w >= 1.0, hi, mixed)).astype(keypoints.dtype)
    vis = visibility[np.rint(pos).astype(np.int64)]
    return kp, vis


def time_warp(keypoints: Array, visibility: Array, strength: float, rng: np.random.Generator,
              knots: int = 4) -> tuple[Array, Array]:
    """A smooth, monotone re-timing of the clip that keeps its length, first and last frame:
    the local speed at ``knots`` evenly spaced points is drawn from ``1 + N(0, strength)``
    (kept above 0.2) and interpolated between them, so some stretches play faster and
    others slower (the time warping of time-series augmentation)."""
    t = keypoints.shape[0]
    if t < 3 or strength <= 0:
        return keypoints, visibility
    speed = np.maximum(1.0 + strength * rng.standard_normal(knots + 2), 0.2)
    rate = np.interp(np.linspace(0, 1, t - 1), np.linspace(0, 1, knots + 2), speed)
    pos = np.concatenate([[0.0], np.cumsum(rate)])
    return sample_frames(keypoints, visibility, pos * (t - 1) / pos[-1])


def drop_joints(keypoints: Array, visibility: Array, hidden: Array) -> tuple[Array, Array]:
    """Hide joints: keypoints NaN and visibility 0 where ``hidden`` (``[J]`` for the whole
    clip or ``[T, J]`` per frame, bool) is True. Returns new arrays."""
    hidden = np.broadcast_to(hidden, visibility.shape)
    kp = keypoints.copy()
    kp[hidden] = np.nan
    vis = np.where(hidden, 0.0, visibility).astype(visibility.dtype)
    return kp, vis


# --------------------------------------------------------------------------- the stage


def _pair(value, name: str) -> tuple[float, float]:
    """A ``[low, high]`` range from config (a number means ``[v, v]``)."""
    if isinstance(value, (int, float)):
        value = (value, value)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"augment.{name} must be a [low, high] pair, got {value!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ConfigError(f"augment.{name} must be finite with low <= high, got [{lo}, {hi}]")
    return lo, hi


@dataclass
class PoseAugment:
    """Random train-time transforms of a :class:`PoseSequence`; every option off by
    default (the identity). Applied in this order, each with its probability:

    1. temporal crop: keep a contiguous ``U[crop_min, 1]`` fraction of the frames;
    2. speed: replay at a factor drawn log-uniformly from ``speed`` (> 1 is faster,
       fewer frames; keypoints interpolated linearly, visibility nearest frame), then
       ``time_warp``: a smooth re-timing at the same length (:func:`time_warp`);
    3. mirror (pose layouts): swap left/right joints and negate x about the body centre;
    4. affine (pose layouts): rotation ``U[-rotate_deg, rotate_deg]`` degrees, isotropic
       scale ``U[scale]`` and shear ``U[-shear, shear]`` (x by y and y by x) about the
       clip's body centre, in the image plane (z unchanged);
    5. joint dropout (pose layouts): each joint hidden (NaN, visibility 0) with
       probability ``joint_dropout``, for the whole clip or, with ``dropout_per_frame``,
       per frame;
    6. values (raw layout): all values times ``U[value_scale]``, plus Gaussian noise of
       ``noise`` times each value channel's standard deviation over the clip.

    Crop and speed never leave fewer than ``min_frames`` frames (nor shorten a clip that
    is already shorter). Labels, fps and layout are unchanged; timestamps restart at 0.

    Attributes:
        enabled: False turns the whole stage off (the data module then precomputes
            features as without augmentation).
        seed: base seed of the per-item random draws (see the dataset).
    """

    enabled: bool = True
    seed: int = 0
    min_frames: int = 8
    crop_min: float = 1.0
    crop_p: float = 1.0
    speed: tuple[float, float] = (1.0, 1.0)
    speed_p: float = 1.0
    time_warp: float = 0.0
    mirror_p: float = 0.0
    rotate_deg: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    shear: float = 0.0
    affine_p: float = 1.0
    joint_dropout: float = 0.0
    dropout_per_frame: bool = False
    noise: float = 0.0
    value_scale: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        self.speed = _pair(self.speed, "speed")
        self.scale = _pair(self.scale, "scale")
        self.value_scale = _pair(self.value_scale, "value_scale")
        for name in ("crop_p", "speed_p", "mirror_p", "affine_p", "joint_dropout"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"augment.{name} is a probability in [0, 1], got {v}")
            setattr(self, name, v)
        self.crop_min = float(self.crop_min)
        if not 0.0 < self.crop_min <= 1.0:
            raise ConfigError(f"augment.crop_min must be within (0, 1], got {self.crop_min}")
        if self.speed[0] <= 0:
            raise ConfigError(f"augment.speed factors must be > 0, got {list(self.speed)}")
        if self.scale[0] <= 0:
            raise ConfigError(f"augment.scale factors must be > 0, got {list(self.scale)}")
        if int(self.min_frames) < 1:
            raise ConfigError(f"augment.min_frames must be at least 1, got {self.min_frames}")
        self.min_frames = int(self.min_frames)
        for name in ("rotate_deg", "shear", "noise", "time_warp"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v >= 0):
                raise ConfigError(f"augment.{name} must be a number >= 0, got {v}")
            setattr(self, name, v)
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"augment.seed must be a non-negative integer, got {self.seed!r}")

    @property
    def active(self) -> bool:
        """True when some option can change a sequence."""
        return self.enabled and bool(
            (self.crop_min < 1.0 and self.crop_p > 0)
            or (self.speed != (1.0, 1.0) and self.speed_p > 0)
            or self.time_warp > 0
            or self.mirror_p > 0
            or ((self.rotate_deg > 0 or self.scale != (1.0, 1.0) or self.shear > 0)
                and self.affine_p > 0)
            or self.joint_dropout > 0
            or self.noise > 0 or self.value_scale != (1.0, 1.0)
        )

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __call__(self, seq: PoseSequence, rng: np.random.Generator) -> PoseSequence:
        """A new, augmented sequence (``seq`` is not modified); ``seq`` itself when the
        stage is off."""
        if not self.active:
            return seq
        kp, vis = seq.keypoints, seq.visibility
        kp, vis = self._temporal(kp, vis, rng)
        lay = pose_layout(seq.layout, kp.shape[1]) if kp.shape[2] >= 2 else None
        if lay is not None:
            kp, vis = self._geometric(kp, vis, lay, rng)
        else:
            kp = self._values(kp, rng)
        if kp is seq.keypoints and vis is seq.visibility:
            return seq
        return PoseSequence(kp, vis, seq.fps, seq.layout, seq.label, seq.source)

    def _temporal(self, kp: Array, vis: Array, rng: np.random.Generator) -> tuple[Array, Array]:
        floor = min(kp.shape[0], self.min_frames)
        if self.crop_min < 1.0 and rng.random() < self.crop_p:
            t = kp.shape[0]
            n = max(int(round(rng.uniform(self.crop_min, 1.0) * t)), floor)
            start = int(rng.integers(0, t - n + 1))
            kp, vis = crop_frames(kp, vis, start, n)
        if self.speed != (1.0, 1.0) and rng.random() < self.speed_p:
            lo, hi = np.log(self.speed)
            factor = float(np.exp(rng.uniform(lo, hi)))
            t = kp.shape[0]
            n = max(int(round((t - 1) / factor)) + 1, floor)
            kp, vis = change_speed(kp, vis, n)
        if self.time_warp > 0:
            kp, vis = time_warp(kp, vis, self.time_warp, rng)
        return kp, vis

    def _geometric(self, kp: Array, vis: Array, lay: Layout, rng: np.random.Generator
                   ) -> tuple[Array, Array]:
        if self.mirror_p > 0 and lay.flip_pairs and rng.random() < self.mirror_p:
            kp, vis = mirror(kp, vis, lay)
        if ((self.rotate_deg > 0 or self.scale != (1.0, 1.0) or self.shear > 0)
                and rng.random() < self.affine_p):
            m = affine_matrix(rng.uniform(-self.rotate_deg, self.rotate_deg),
                              rng.uniform(*self.scale),
                              tuple(rng.uniform(-self.shear, self.shear, 2)))
            kp = affine(kp, m, lay)
        if self.joint_dropout > 0:
            shape = vis.shape if self.dropout_per_frame else vis.shape[1:]
            hidden = rng.random(shape) < self.joint_dropout
            if hidden.any():
                kp, vis = drop_joints(kp, vis, hidden)
        return kp, vis

    def _values(self, kp: Array, rng: np.random.Generator) -> Array:
        if self.value_scale != (1.0, 1.0):
            kp = kp * np.float32(rng.uniform(*self.value_scale))
        if self.noise > 0 and kp.shape[0] > 0:
            with np.errstate(invalid="ignore"), quiet_nan_warnings():
                sd = np.nanstd(kp, axis=0)  # [J, C]
            sd = np.nan_to_num(sd)
            kp = (kp + rng.standard_normal(kp.shape) * (self.noise * sd)).astype(np.float32)
        return kp
