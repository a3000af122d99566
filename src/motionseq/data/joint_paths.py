"""Keypoint paths as trajectories: where a wrist or an ankle goes, for the forecaster.

Any pose source (Penn Action, own extracted videos, ...) becomes :class:`Tracks` that the
trajectory data module windows like pedestrian paths: each chosen joint of each sequence
is one agent, one frame one step. Positions are in **body units**: image coordinates with
the correct aspect ratio (pixels, or image-normalised x times width / height) divided by
the sequence's torso length (hip centre to shoulder centre, :func:`torso_length`), so a
model trained on one picture size or distance to the camera serves any other. The live
view converts its stream the same way (:func:`to_body_units`, :func:`from_body_units`).

A joint missing in a frame (NaN, or less visible than ``min_visibility``) ends its path
there; the next run of frames it is seen in is a new agent, so no window bridges a gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from motionseq.data.datasets import stratified_split
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence, Tracks
from motionseq.skeleton import get_layout

__all__ = ["DEFAULT_JOINTS", "torso_length", "to_body_units", "from_body_units",
           "joint_tracks", "JointPathsSource"]

DEFAULT_JOINTS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")


def torso_length(keypoints: np.ndarray, layout: str, aspect: float = 1.0) -> float:
    """Median torso length (hip centre to shoulder centre, or the head's or knees' stand-in
    where the shoulders are unknown: the body scale of
    :func:`~motionseq.data.features.centre_and_scale`) of ``[T, J, C]`` keypoints in
    ``x * aspect, y`` units, over the frames that show it; NaN when none does."""
    from motionseq.data.features import centre_and_scale

    kp = np.asarray(keypoints, np.float64)[..., :2] * np.array([aspect, 1.0])
    _, length = centre_and_scale(kp, layout)
    length = length[np.isfinite(length) & (length > 1e-6)]
    if length.size == 1:  # one frame (the live view, every frame)
        return float(length[0])
    return float(np.median(length)) if length.size else float("nan")


def to_body_units(xy: np.ndarray, torso: float, aspect: float = 1.0) -> np.ndarray:
    """``[..., 2]`` image positions (x scaled by ``aspect``) → body units."""
    return np.asarray(xy, np.float64)[..., :2] * np.array([aspect, 1.0]) / torso


def from_body_units(p: np.ndarray, torso: float, aspect: float = 1.0) -> np.ndarray:
    """Inverse of :func:`to_body_units`."""
    return np.asarray(p, np.float64) * torso / np.array([aspect, 1.0])


def joint_tracks(seq: PoseSequence, joints: Sequence[str] = DEFAULT_JOINTS,
                 min_visibility: float = 0.0, aspect: float = 1.0) -> Tracks | None:
    """The chosen joints of one sequence as :class:`Tracks` in body units (None when the
    torso is never seen or no joint is). Agent ``k * 10000 + run`` is run ``run`` of
    joint ``joints[k]``; frame ids are frame indices; ``dt = 1 / fps``."""
    lay = get_layout(seq.layout)
    index = [lay.index(j) for j in joints]  # ConfigError for unknown names
    torso = torso_length(seq.keypoints, seq.layout, aspect)
    if not np.isfinite(torso) or torso <= 0:
        return None
    frames, agents, xys = [], [], []
    for k, j in enumerate(index):
        xy = seq.keypoints[:, j, :2]
        seen = np.isfinite(xy).all(axis=1) & (seq.visibility[:, j] >= min_visibility)
        if not seen.any():
            continue
        t = np.flatnonzero(seen)
        run = np.concatenate([[0], np.cumsum(np.diff(t) > 1)])  # a new run after each gap
        frames.append(t)
        agents.append(k * 10000 + run)
        xys.append(to_body_units(xy[t], torso, aspect))
    if not frames:
        return None
    return Tracks(np.concatenate(frames), np.concatenate(agents), np.concatenate(xys),
                  dt=1.0 / seq.fps, frame_step=1)


class JointPathsSource:
    """Joint paths of a pose source's sequences: ``{"train", "val", "test": [Tracks]}``.

    Args:
        poses: an action source (``load() -> {"train": [PoseSequence], "test": ...}``)
            whose keypoints have the true aspect ratio (e.g. Penn Action in pixels).
        joints: joint names of the source's layout.
        min_visibility: joints less visible than this count as missing.
        val_fraction: share of the *train* sequences of each label held out whole for
            validation (windows of one clip never sit on both sides).
        seed: the validation draw.
        aspect: x is multiplied by this first (width / height for image-normalised x).
    """

    def __init__(self, poses, joints: Sequence[str] = DEFAULT_JOINTS,
                 min_visibility: float = 0.0, val_fraction: float = 0.15, seed: int = 0,
                 aspect: float = 1.0) -> None:
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
        if not list(joints):
            raise ConfigError("joint paths need at least one joint name")
        self.poses, self.joints = poses, list(joints)
        self.min_visibility, self.val_fraction = float(min_visibility), float(val_fraction)
        self.seed, self.aspect = seed, float(aspect)

    def load(self) -> dict[str, list[Tracks]]:
        splits = self.poses.load()
        if "val" not in splits or not splits["val"]:
            train = list(splits.get("train") or [])
            keep, held = stratified_split([s.label or "" for s in train], self.val_fraction,
                                          self.seed)
            splits = {**splits, "train": [train[i] for i in keep],
                      "val": [train[i] for i in held]}
        out: dict[str, list[Tracks]] = {}
        for split, seqs in splits.items():
            tracks = [joint_tracks(s, self.joints, self.min_visibility, self.aspect)
                      for s in seqs]
            out[split] = [t for t in tracks if t is not None]
            if seqs and not out[split]:
                raise DataError(f"no {split!r} sequence shows the torso and any of "
                                f"{', '.join(self.joints)}: nothing to forecast")
        return out
