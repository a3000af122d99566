"""The one feature path from a :class:`PoseSequence` to model input, shared by training,
evaluation and live inference.

Every step is causal (frame ``t`` depends only on frames ``<= t``), so the last row
computed on a stream's recent frames equals the row the dataset computes on the whole
sequence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motionseq.errors import DataError
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


def body_frame(keypoints: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body centre and scale, causal.

    The centre is the mean of the layout's centre joints (hips), the scale the distance
    from it to the mean of its scale joints (shoulders). Frames where either is unknown
    reuse the last known value; before the first known value the centre falls back to the
    mean of the visible joints and the scale to 1.

    Args:
        keypoints: ``[T, J, C]`` with NaN for unknown joints.
    Returns:
        ``(centre [T, C], scale [T])``.
    """
    lay = get_layout(layout)
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        centre = keypoints[:, list(lay.center_joints)].mean(axis=1)  # NaN if any hip missing
        upper = keypoints[:, list(lay.scale_joints)].mean(axis=1)
        scale = np.linalg.norm((upper - centre)[..., :2], axis=-1)
        fallback = np.nanmean(keypoints, axis=1)
    ok_c = np.isfinite(centre).all(axis=1)
    centre, ever_c = forward_fill(centre, ok_c)
    centre[~ever_c] = fallback[~ever_c]
    centre = np.nan_to_num(centre)
    ok_s = np.isfinite(scale) & (scale > 1e-6)
    scale, ever_s = forward_fill(scale, ok_s)
    scale[~ever_s] = 1.0
    return centre, scale


class _quiet_nanmean:
    """Silence numpy's 'mean of empty slice' warning for all-NaN frames (expected here)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@dataclass(frozen=True)
class PoseFeatures:
    """Turns a :class:`PoseSequence` into a ``[T, F]`` float32 feature matrix.

    Channels, in order: joint positions relative to the body centre in body-scale units
    (``J * D``), their velocities in body-scale units per second (``J * D``, if
    ``velocities``), and joint visibility (``J``, if ``visibility``). ``D`` is 2 (x, y) or 3
    with ``use_z``. Unknown joints are 0 in position and velocity and 0 in visibility, so
    the model sees missing data explicitly rather than as NaN.

    Attributes:
        layout: the layout the model expects; sequences in another layout are mapped
            into it when every joint exists (e.g. mediapipe33 -> penn13).
    """

    layout: str = "mediapipe33"
    use_z: bool = False
    velocities: bool = True
    visibility: bool = True
    normalize_body: bool = True

    @property
    def dim(self) -> int:
        j = get_layout(self.layout).num_joints
        d = 3 if self.use_z else 2
        return j * d * (2 if self.velocities else 1) + (j if self.visibility else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    def prepare(self, seq: PoseSequence) -> PoseSequence:
        """Map ``seq`` into this layout; DataError when it cannot be mapped."""
        if seq.layout == self.layout:
            return seq
        if not can_map(seq.layout, self.layout):
            raise DataError(
                f"sequence layout {seq.layout!r} cannot be mapped to the model's layout "
                f"{self.layout!r} (joints missing); re-extract with {self.layout!r}"
            )
        return seq.to_layout(self.layout)

    def __call__(self, seq: PoseSequence) -> np.ndarray:
        """Features ``[T, F]`` for one sequence."""
        seq = self.prepare(seq)
        if self.use_z and seq.keypoints.shape[2] < 3:
            raise DataError(f"use_z=true needs 3D keypoints but {seq.source or 'a sequence'} has 2D")
        return self.from_arrays(seq.keypoints, seq.visibility, seq.fps)

    def from_arrays(self, keypoints: np.ndarray, visibility: np.ndarray, fps: float) -> np.ndarray:
        """Features ``[T, F]`` from ``keypoints [T, J, C]`` and ``visibility [T, J]``."""
        d = 3 if self.use_z else 2
        kp = keypoints[..., :d].astype(np.float64)
        known = np.isfinite(kp).all(axis=2)  # [T, J]
        if self.normalize_body:
            centre, scale = body_frame(keypoints, self.layout)
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
            parts.append(np.where(known, visibility, 0.0))
        return np.concatenate(parts, axis=1).astype(np.float32)


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
