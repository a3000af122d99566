"""The one feature path from a :class:`PoseSequence` to model input, shared by training,
evaluation and live inference.

Every step is causal (frame ``t`` depends only on frames ``<= t``), so the last row
computed on a stream's recent frames equals the row the dataset computes on the whole
sequence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import can_map, get_layout


def forward_fill(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Carry the last valid row forward in time.

    Args:
        values: ``[T, ...]``.
        valid: ``[T]`` bool.
    Returns:
        ``(filled [T, ...], ever_valid [T] bool)``: rows before the first valid one stay as
        they were and are flagged False.
    """
    idx = np.where(valid, np.arange(len(valid)), -1)
    idx = np.maximum.accumulate(idx) if len(idx) else idx
    ever = idx >= 0
    out = values.copy()
    out[ever] = values[idx[ever]]
    return out, ever


def centre_and_scale(keypoints: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body centre and scale as the frame shows them, NaN where unknown.

    The centre is the mean of the layout's known centre joints (hips); the scale the
    distance from it to the mean of its known scale joints (shoulders) over x, y, or where
    those are unknown, the first of the layout's ``scale_fallbacks`` the frame shows (the
    head's distance / 1.39, the knees' / 0.76).

    Args:
        keypoints: ``[T, J, C]`` with NaN for unknown joints.
    Returns:
        ``(centre [T, C], scale [T])``.
    """
    lay = get_layout(layout)
    hips, shoulders = keypoints[:, list(lay.center_joints)], keypoints[:, list(lay.scale_joints)]
    if np.isfinite(hips).all() and np.isfinite(shoulders).all():
        # every frame shows them all: plain means, and none of the NaN handling below,
        # which costs more than the arithmetic here
        centre, scale = torso_centre_and_scale(hips, shoulders)
        if (scale > 1e-6).all():
            return centre, scale
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        # one known hip (shoulder) stands in for the pair when the other is unknown, as in
        # side views where the far one is occluded; NaN only when both are
        centre = np.nanmean(keypoints[:, list(lay.center_joints)], axis=1)
        upper = np.nanmean(keypoints[:, list(lay.scale_joints)], axis=1)
        scale = np.linalg.norm((upper - centre)[..., :2], axis=-1)
        for joints, ratio in lay.scale_fallbacks:
            missing = ~(np.isfinite(scale) & (scale > 1e-6))
            if not missing.any():
                break
            other = np.nanmean(keypoints[:, list(joints)], axis=1)
            alt = np.linalg.norm((other - centre)[..., :2], axis=-1) / ratio
            scale = np.where(missing, alt, scale)
    return centre, scale


def torso_centre_and_scale(hips: np.ndarray, shoulders: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``[..., C]`` and scale ``[...]`` from known hips ``[..., H, C]`` and shoulders
    ``[..., S, C]`` (no NaN): the hips' mean and its x, y distance to the shoulders' mean."""
    centre = np.add.reduce(hips, axis=-2) / hips.shape[-2]
    d = (np.add.reduce(shoulders, axis=-2) / shoulders.shape[-2] - centre)[..., :2]
    return centre, np.sqrt(np.add.reduce(d * d, axis=-1))


def body_frame(keypoints: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body centre and scale (:func:`centre_and_scale`), causal: frames where
    either is unknown reuse the last known value; before the first known value the centre
    falls back to the mean of the visible joints and the scale to 1.

    Args:
        keypoints: ``[T, J, C]`` with NaN for unknown joints.
    Returns:
        ``(centre [T, C], scale [T])``.
    """
    centre, scale, _ = _body_frame(keypoints, layout)
    return centre, scale


def _body_frame(keypoints: np.ndarray, layout: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`body_frame` and which frames show the centre themselves ``[T]`` bool."""
    centre, scale = centre_and_scale(keypoints, layout)
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        fallback = np.nanmean(keypoints, axis=1)
    ok_c = np.isfinite(centre).all(axis=1)
    centre, ever_c = forward_fill(centre, ok_c)
    centre[~ever_c] = fallback[~ever_c]
    centre = np.nan_to_num(centre)
    ok_s = np.isfinite(scale) & (scale > 1e-6)
    scale, ever_s = forward_fill(scale, ok_s)
    scale[~ever_s] = 1.0
    return centre, scale, ok_c


class quiet_nan_warnings:
    """Silence numpy's RuntimeWarnings of all-NaN slices (mean of empty slice, degrees of
    freedom), expected where a joint or channel has no known value."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def resample_frames(keypoints: np.ndarray, visibility: np.ndarray, fps: float, frames: int
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Linear interpolation in time to ``frames`` frames over the same duration.

    A value between two frames is NaN (and its joint invisible) when either neighbour is
    unknown; frames that land exactly on an original frame copy it.

    Args:
        keypoints: ``[T, J, C]``; visibility: ``[T, J]``; fps: frames per second.
    Returns:
        ``(keypoints [frames, J, C], visibility [frames, J], fps)``, fps scaled so that the
        duration is unchanged (velocities stay per second).
    """
    if frames < 1:
        raise ConfigError(f"resample must be a positive number of frames, got {frames}")
    t = keypoints.shape[0]
    if t == 0:
        return keypoints, visibility, fps
    if t == 1:
        return (np.repeat(keypoints, frames, axis=0), np.repeat(visibility, frames, axis=0), fps)
    pos = np.linspace(0.0, t - 1, frames)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, t - 2)
    w = pos - i0

    def lerp(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float64)
        lo, hi = a[i0], a[i0 + 1]
        ww = w.reshape((-1,) + (1,) * (a.ndim - 1))
        mixed = lo + ww * (hi - lo)
        return np.where(ww <= 0.0, lo, np.where(ww >= 1.0, hi, mixed))

    kp = lerp(keypoints).astype(keypoints.dtype)
    vis = lerp(visibility)
    vis = np.where(np.isnan(kp).any(axis=2), 0.0, vis).astype(visibility.dtype)
    new_fps = fps * (frames - 1) / (t - 1) if frames > 1 else fps
    return kp, vis, float(new_fps)


@dataclass(frozen=True)
class PoseFeatures:
    """Turns a :class:`PoseSequence` into a ``[T, F]`` float32 feature matrix.

    Channels, in order: joint positions relative to the body centre in body-scale units
    (``J * D``), their velocities in body-scale units per second (``J * D``, if
    ``velocities``), and joint visibility (``J``, if ``visibility``; ``visibility="known"``
    gives 1 for every known joint instead of its score, for data whose scores differ between
    sources, e.g. MediaPipe's against Penn Action's 0/1 flags). ``D`` is 2 (x, y) or 3
    with ``use_z``. Unknown joints are 0 in position and velocity and 0 in visibility, so
    the model sees missing data explicitly rather than as NaN. With ``centre_velocity``
    (pose layouts, ``normalize_body``), ``D`` more channels at the end: the body centre's
    own velocity in body-scale units per second (0 where the centre is unknown in this
    frame or the last), the motion that centring takes out of the positions: the bounce
    of a hop, the drop of a squat against the rise of a pull-up.

    With ``layout="raw"`` (layout-free data) the channels are the ``N = J * C`` values
    themselves (no named body frame; ``use_z`` does not apply; with ``normalize_body``,
    points of an unnamed skeleton, ``[T, J >= 3, 2|3]``, are centred and scaled from the
    data itself, see :func:`point_cloud_frame`), their
    velocities per second (``N``) and a mask per value (``N``: the joint's visibility where
    the value is known, else 0); unknown values are 0.

    Attributes:
        layout: the layout the model expects; sequences in another layout are mapped
            into it when every joint exists (e.g. mediapipe33 -> penn13). ``raw`` takes any
            sequence's values as they are.
        channels: values per frame of raw data (``J * C``). None: taken from the first
            sequence seen, after which every sequence must match.
        resample: a fixed number of frames to interpolate every sequence to (linear, same
            duration); None keeps the variable length. A resampled row depends on the whole
            window, so features are then no longer causal.
    """

    layout: str = "mediapipe33"
    use_z: bool = False
    velocities: bool = True
    visibility: bool | str = True  # True | False | "known"
    normalize_body: bool = True
    channels: int | None = None
    resample: int | None = None
    centre_velocity: bool = False

    def __post_init__(self) -> None:
        get_layout(self.layout)  # ConfigError listing the layouts when unknown
        if self.centre_velocity and (self.generic or not self.normalize_body):
            raise ConfigError("features.centre_velocity needs a pose layout with "
                              "normalize_body=true (the body centre and scale)")
        if self.visibility not in (True, False, "known"):
            raise ConfigError(f"features.visibility must be true, false or known, got "
                              f"{self.visibility!r}")
        if self.channels is not None and self.channels < 1:
            raise ConfigError(f"features.channels must be a positive number, got {self.channels}")
        if self.resample is not None and self.resample < 1:
            raise ConfigError(f"features.resample must be a positive number of frames or null, "
                              f"got {self.resample}")

    @property
    def generic(self) -> bool:
        """True for layout-free (``raw``) data."""
        return get_layout(self.layout).generic

    @property
    def dim(self) -> int:
        if self.generic:
            if self.channels is None:
                raise ConfigError(
                    f"the {self.layout!r} layout's channel count is not known yet: set "
                    f"data.features.channels or compute the features of one sequence first"
                )
            n = self.channels
            return n * (2 if self.velocities else 1) + (n if self.visibility else 0)
        j = get_layout(self.layout).num_joints
        d = 3 if self.use_z else 2
        return (j * d * (2 if self.velocities else 1) + (j if self.visibility else 0)
                + (d if self.centre_velocity else 0))

    def to_dict(self) -> dict:
        return asdict(self)

    def prepare(self, seq: PoseSequence) -> PoseSequence:
        """Map ``seq`` into this layout; DataError when it cannot be mapped."""
        if seq.layout == self.layout or self.generic:
            return seq
        if not can_map(seq.layout, self.layout):
            raise DataError(
                f"sequence layout {seq.layout!r} cannot be mapped to the model's layout "
                f"{self.layout!r} (joints missing); re-extract with {self.layout!r}"
                + (" or use the raw layout's features (data.features.layout=raw)"
                   if get_layout(seq.layout).generic else "")
            )
        return seq.to_layout(self.layout)

    def __call__(self, seq: PoseSequence) -> np.ndarray:
        """Features ``[T, F]`` for one sequence."""
        seq = self.prepare(seq)
        if not self.generic and self.use_z and seq.keypoints.shape[2] < 3:
            raise DataError(f"use_z=true needs 3D keypoints but {seq.source or 'a sequence'} has 2D")
        return self.from_arrays(seq.keypoints, seq.visibility, seq.fps, seq.source)

    def from_arrays(self, keypoints: np.ndarray, visibility: np.ndarray, fps: float,
                    source: str | None = None) -> np.ndarray:
        """Features ``[T, F]`` from ``keypoints [T, J, C]`` and ``visibility [T, J]``
        (raw layout: also ``[T, N]`` values with ``[T, N]`` visibility)."""
        if self.generic:
            keypoints = np.asarray(keypoints)
            if keypoints.ndim == 2:
                keypoints = keypoints[:, :, None]
            self._check_channels(keypoints, source)
        if self.resample is not None:
            keypoints, visibility, fps = resample_frames(keypoints, visibility, fps,
                                                         self.resample)
        if self.generic:
            return self._raw_features(keypoints, visibility, fps)
        d = 3 if self.use_z else 2
        kp = keypoints[..., :d].astype(np.float64)
        known = np.isfinite(kp).all(axis=2)  # [T, J]
        if self.normalize_body:
            centre, scale, centre_known = _body_frame(keypoints, self.layout)
            pos = (kp - centre[:, None, :d]) / scale[:, None, None]
        else:
            pos = kp
        vel = np.zeros_like(pos)
        if len(pos) > 1:
            both = known[1:] & known[:-1]
            step = (pos[1:] - pos[:-1]) * fps
            vel[1:] = np.where(both[..., None], step, 0.0)
        pos = np.where(known[..., None], pos, 0.0)
        t = kp.shape[0]
        parts = [pos.reshape(t, -1)]
        if self.velocities:
            parts.append(vel.reshape(t, -1))
        if self.visibility:
            parts.append(known.astype(np.float64) if self.visibility == "known"
                         else np.where(known, visibility, 0.0))
        if self.centre_velocity:
            move = np.zeros((t, d))
            if t > 1:
                both = centre_known[1:] & centre_known[:-1]
                step = (centre[1:, :d] - centre[:-1, :d]) * fps / scale[1:, None]
                move[1:] = np.where(both[:, None], step, 0.0)
            parts.append(move)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _check_channels(self, keypoints: np.ndarray, source: str | None) -> None:
        """Fix ``channels`` from the first raw sequence; DataError on a later mismatch."""
        n = int(np.prod(keypoints.shape[1:]))
        if self.channels is None:
            # The channel count is a fact of the data: recording it makes ``dim`` and the
            # settings a checkpoint carries (``to_dict``) describe what the model was fed.
            object.__setattr__(self, "channels", n)
        elif n != self.channels:
            raise DataError(
                f"{source or 'a sequence'} has {n} values per frame but the features expect "
                f"{self.channels} (data.features.channels, or the first sequence seen)"
            )

    def _raw_features(self, keypoints: np.ndarray, visibility: np.ndarray, fps: float
                      ) -> np.ndarray:
        """Raw-layout features ``[T, N (+N velocities) (+N mask)]`` from ``[T, J, C]``."""
        t, j, c = keypoints.shape
        if self.normalize_body and c in (2, 3) and j >= 3:
            keypoints = point_cloud_frame(keypoints)
        values = keypoints.reshape(t, -1).astype(np.float64)  # [T, N], joint-major
        known = np.isfinite(values)
        vel = np.zeros_like(values)
        if t > 1:
            both = known[1:] & known[:-1]
            with np.errstate(invalid="ignore"):
                step = (values[1:] - values[:-1]) * fps
            vel[1:] = np.where(both, step, 0.0)
        parts = [np.where(known, values, 0.0)]
        if self.velocities:
            parts.append(vel)
        if self.visibility:
            vis = np.repeat(np.asarray(visibility, dtype=np.float64).reshape(t, -1), c, axis=1)
            parts.append(known.astype(np.float64) if self.visibility == "known"
                         else np.where(known, vis, 0.0))
        return np.concatenate(parts, axis=1).astype(np.float32)


def point_cloud_frame(points: np.ndarray) -> np.ndarray:
    """Points of an unnamed skeleton (``[T, J, 2|3]``, e.g. Kinect joints in metres) in a
    body frame measured from the data itself: each frame centred on the mean of its known
    joints, the clip scaled by the median over frames of the joints' RMS distance from that
    centre (unit spread). NaN stays NaN; a clip with no spread is only centred."""
    pts = points.astype(np.float64)
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        centre = np.nanmean(pts, axis=1, keepdims=True)  # [T, 1, C]
        rel = pts - centre
        spread = np.sqrt(np.nanmean((rel**2).sum(axis=2), axis=1))  # [T]
        scale = np.nanmedian(spread) if np.isfinite(spread).any() else np.nan
    if not (np.isfinite(scale) and scale > 1e-9):
        scale = 1.0
    return (rel / scale).astype(np.float32)


class FeatureStream:
    """:meth:`PoseFeatures.from_arrays` one frame at a time, for a pose layout without
    ``resample``: :meth:`push` returns the row the whole stream's features would have at
    this frame (the body frame carried forward causally as :func:`body_frame` does it, the
    velocity from the previous frame's position in its own body frame, the centre's
    velocity from the previous frame's own centre), at the cost of one frame's arithmetic.
    """

    def __init__(self, features: PoseFeatures) -> None:
        if features.generic or features.resample is not None:
            raise ConfigError("FeatureStream needs a pose layout without resample")
        self.features = features
        lay = get_layout(features.layout)
        self._torso = np.array(lay.center_joints + lay.scale_joints)  # hips, shoulders
        self._n_shoulders = len(lay.scale_joints)
        self.reset()

    def reset(self) -> None:
        self._centre: np.ndarray | None = None  # last known centre [C]
        self._scale: float | None = None        # last known scale
        # the last frame: (pos [J, d], known [J], every joint known)
        self._prev: tuple[np.ndarray, np.ndarray, bool] | None = None
        self._prev_centre: np.ndarray | None = None  # the last frame's own centre, if known

    def push(self, keypoints: np.ndarray, visibility: np.ndarray, fps: float) -> np.ndarray:
        """This frame's feature row ``[F]`` from ``keypoints [J, C]``, ``visibility [J]``
        (the features' layout)."""
        f = self.features
        d = 3 if f.use_z else 2
        kp = keypoints[:, :d].astype(np.float64)
        known = np.isfinite(kp).all(axis=1)  # [J]
        every = bool(known.all())
        own_centre = None
        if f.normalize_body:
            c, sc = self._centre_and_scale(keypoints)
            if np.isfinite(c).all():
                self._centre = own_centre = c
            if np.isfinite(sc) and sc > 1e-6:
                self._scale = sc
            if self._centre is not None:
                c = self._centre
            else:  # before any known centre: the mean of the visible joints
                with np.errstate(invalid="ignore"), quiet_nan_warnings():
                    c = np.nan_to_num(np.nanmean(keypoints, axis=0))
            scale = self._scale if self._scale is not None else 1.0
            pos = (kp - c[:d]) / scale
        else:
            pos = kp
        prev = self._prev
        self._prev = (pos, known, every)
        # every joint known (the usual frame) needs none of the masking
        parts = [(pos if every else np.where(known[:, None], pos, 0.0)).reshape(-1)]
        if f.velocities:
            if prev is None:
                vel = np.zeros_like(pos)
            elif every and prev[2]:
                vel = (pos - prev[0]) * fps
            else:
                vel = np.where((known & prev[1])[:, None], (pos - prev[0]) * fps, 0.0)
            parts.append(vel.reshape(-1))
        if f.visibility:
            parts.append(known.astype(np.float64) if f.visibility == "known"
                         else np.where(known, visibility, 0.0))
        if f.centre_velocity:
            last, self._prev_centre = self._prev_centre, own_centre
            parts.append(np.zeros(d) if last is None or own_centre is None else
                         (own_centre[:d] - last[:d]) * fps / scale)
        return np.concatenate(parts).astype(np.float32)

    def _centre_and_scale(self, keypoints: np.ndarray) -> tuple[np.ndarray, float]:
        """:func:`centre_and_scale` of one frame ``[J, C]``, the same numbers; when the hips
        and shoulders are all known, without its NaN handling, which costs more than the
        arithmetic."""
        torso = keypoints.take(self._torso, axis=0)
        if np.isfinite(torso).all():
            nh = len(self._torso) - self._n_shoulders
            c, sc = torso_centre_and_scale(torso[:nh], torso[nh:])
            if sc > 1e-6:
                return c, float(sc)
        centre, scale = centre_and_scale(keypoints[None], self.features.layout)
        return centre[0], float(scale[0])


def feature_stats(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over every frame of a list of ``[T, F]`` arrays.

    Returns ``(mean [F], std [F])``; std is floored at 1e-3 so constant channels stay finite.
    """
    if not features:
        raise DataError("cannot compute feature statistics of an empty dataset")
    n, total, total_sq = 0, 0.0, 0.0
    for f in features:
        f64 = f.astype(np.float64)
        n += f64.shape[0]
        total = total + f64.sum(axis=0)
        total_sq = total_sq + (f64**2).sum(axis=0)
    mean = total / max(n, 1)
    var = np.maximum(total_sq / max(n, 1) - mean**2, 0.0)
    return mean.astype(np.float32), np.maximum(np.sqrt(var), 1e-3).astype(np.float32)
