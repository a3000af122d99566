"""Where chosen joints are going: a short-horizon path per joint, one frame at a time.

Two predictors, same output:

- **learned** (a ``experiment=forecast_joints`` checkpoint, a
  :class:`~motionseq.modules.forecaster.TrajectoryForecaster`): each joint's recent image
  positions are resampled onto the model's time grid (``obs_len`` steps of ``dt``), turned
  into body units (:mod:`motionseq.data.joint_paths`, the training conversion: true aspect
  ratio, divided by the torso length) and forecast ``pred_len`` steps ahead; the points up
  to ``horizon_s`` are mapped back to the picture. All joints go through the model as one
  batch.
- **linear** (no checkpoint): the last ``fit_s`` seconds are fitted with a least-squares
  line (:func:`~motionseq.models.baselines.linear_from_last`, the trajectory baseline) and
  extended ``horizon_s`` seconds ahead from the joint's current position. A fit over
  several frames rather than the last step keeps pose jitter from swinging the line.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch

from motionseq.data.joint_paths import from_body_units, to_body_units, torso_length
from motionseq.errors import ConfigError
from motionseq.models.baselines import linear_from_last
from motionseq.skeleton import get_layout

__all__ = ["JointPaths", "load_joint_forecaster", "resample"]

log = logging.getLogger(__name__)


def load_joint_forecaster(path: str):
    """The trajectory forecaster in checkpoint ``path``, in eval mode.

    Raises:
        ConfigError: the checkpoint holds another kind of model.
    """
    from motionseq.modules.checkpoint import module_from_checkpoint
    from motionseq.modules.forecaster import TrajectoryForecaster

    model = module_from_checkpoint(path)
    if not isinstance(model, TrajectoryForecaster):
        raise ConfigError(f"joints.ckpt={path} holds a {type(model).__name__}; joint paths "
                          f"need a trajectory forecaster (train one with "
                          f"`make train ARGS=\"experiment=forecast_joints\"`)")
    if not model.hparams.get("dt"):
        raise ConfigError(f"joints.ckpt={path} does not record its time step (dt); re-train it")
    return model


def resample(paths: np.ndarray, t: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``paths [N, n, C]`` recorded at increasing times ``t [n]``, linearly interpolated at
    ``grid [m]`` → ``[N, m, C]``; outside ``t`` the end values (as :func:`numpy.interp`).
    One set of weights for every path and coordinate."""
    hi = np.clip(np.searchsorted(t, grid, side="right"), 1, len(t) - 1)
    lo = hi - 1
    span = t[hi] - t[lo]
    w = np.clip((grid - t[lo]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None]
    return paths[:, lo] * (1.0 - w) + paths[:, hi] * w


class JointPaths:
    """Predicted paths of some joints, updated one frame at a time.

    Args:
        joints: joint names of ``layout`` (e.g. ``left_wrist``).
        layout: layout of the pushed keypoints.
        fps: frame rate of the stream.
        horizon_s: seconds ahead to predict (the learned model's horizon at most).
        fit_s: seconds of recent positions the line is fitted to (linear; at least 2 frames).
        points: points per predicted path (the horizon is sampled evenly).
        min_visibility: a frame whose joint is less visible than this breaks the path.
        model: a trajectory forecaster trained on joint paths (see
            :func:`load_joint_forecaster`); None draws the linear extrapolation.
    """

    def __init__(self, joints: Sequence[str], layout: str = "mediapipe33", fps: float = 30.0,
                 horizon_s: float = 0.7, fit_s: float = 0.2, points: int = 8,
                 min_visibility: float = 0.5, model=None) -> None:
        lay = get_layout(layout)
        self.layout = layout
        self.names = list(joints)
        self.index = [lay.index(j) for j in self.names]  # ConfigError for unknown names
        if horizon_s <= 0 or fit_s <= 0 or points < 1:
            raise ConfigError(f"joint paths need horizon_s > 0, fit_s > 0 and points >= 1; "
                              f"got {horizon_s}, {fit_s}, {points}")
        if not fps > 0:
            raise ConfigError(f"joint paths need fps > 0, got {fps}")
        self.fps = float(fps)
        self.model = model
        self.min_visibility = float(min_visibility)
        if model is None:
            self.fit = max(2, int(round(fit_s * fps)))
            self.ahead = max(2, int(round(horizon_s * fps)))
            self.take = np.unique(np.linspace(0, self.ahead - 1, min(points, self.ahead))
                                  .round().astype(int))
            keep = self.fit
        else:
            hp = model.hparams
            self.obs_len, self.dt = int(hp["obs_len"]), float(hp["dt"])
            pred_len = int(hp["pred_len"])
            steps = int(np.floor(horizon_s / self.dt + 1e-9))
            if steps > pred_len:
                log.warning("joint paths: horizon %.2f s is beyond the model's %.2f s; "
                            "drawing %.2f s", horizon_s, pred_len * self.dt, pred_len * self.dt)
            steps = min(max(steps, 1), pred_len)
            self.take = np.unique(np.linspace(0, steps - 1, min(points, steps))
                                  .round().astype(int))
            self.span = (self.obs_len - 1) * self.dt  # seconds of history the model reads
            keep = int(np.ceil(self.span * fps)) + 2
        self._recent: deque[np.ndarray] = deque(maxlen=keep)  # [joints, 2] per frame
        self._torso: deque[float] = deque(maxlen=keep)
        self._times: deque[float] = deque(maxlen=keep)
        self._frames = 0

    @property
    def kind(self) -> str:
        return "linear" if self.model is None else "learned"

    def reset(self) -> None:
        self._recent.clear()
        self._torso.clear()
        self._times.clear()
        self._frames = 0

    def push(self, keypoints: np.ndarray | None, visibility: np.ndarray | None,
             aspect: float = 1.0, timestamp: float | None = None) -> dict[str, np.ndarray]:
        """Add one frame and return ``{joint: [1 + points, 2]}``: the current position then
        the predicted ones, for every joint seen throughout the history the predictor needs.

        Args:
            keypoints: ``[J, C]`` image-normalised (None when nobody is there).
            visibility: ``[J]`` (None: all visible).
            aspect: picture width / height (the learned model works in true proportions).
            timestamp: seconds; None counts frames at ``fps``.
        """
        xy = np.full((len(self.index), 2), np.nan, np.float32)
        torso = float("nan")
        if keypoints is not None:
            kp = np.asarray(keypoints, np.float32)
            xy = kp[self.index, :2].copy()
            if visibility is not None:
                xy[np.asarray(visibility)[self.index] < self.min_visibility] = np.nan
            if self.model is not None:
                torso = torso_length(kp[None], self.layout, aspect)
        t = self._frames / self.fps if timestamp is None else float(timestamp)
        self._frames += 1
        self._recent.append(xy)
        self._torso.append(torso)
        self._times.append(t)
        if self.model is None:
            return self._linear()
        return self._learned(aspect)

    def _linear(self) -> dict[str, np.ndarray]:
        if len(self._recent) < self.fit:
            return {}
        obs = np.stack(self._recent, axis=1)  # [joints, fit, 2]
        ok = np.isfinite(obs).all(axis=(1, 2))
        if not ok.any():
            return {}
        with torch.inference_mode():  # [n, ahead, 2], from where the joint is now
            fut = linear_from_last(torch.from_numpy(obs[ok]), self.ahead).numpy()
        out = {}
        for k, j in enumerate(np.flatnonzero(ok)):
            out[self.names[j]] = np.vstack([obs[j, -1], fut[k, self.take]])
        return out

    def _learned(self, aspect: float) -> dict[str, np.ndarray]:
        times = np.asarray(self._times)
        now = times[-1]
        # the frames covering the model's observation span
        use = times >= now - self.span - 1.5 / self.fps
        if times[0] > now - self.span + 1e-6 or use.sum() < 2:
            return {}
        torso = np.asarray(self._torso)[use]
        torso = torso[np.isfinite(torso) & (torso > 0)]
        if torso.size == 0:
            return {}
        scale = float(np.median(torso))
        obs = np.stack(self._recent, axis=1)[:, use]  # [joints, n, 2]
        ok = np.isfinite(obs).all(axis=(1, 2))
        if not ok.any():
            return {}
        grid = now - self.dt * np.arange(self.obs_len - 1, -1, -1)
        resampled = resample(obs[ok], times[use], grid)
        body = torch.from_numpy(to_body_units(resampled, scale, aspect).astype(np.float32))
        with torch.inference_mode():
            fut = self.model(body).numpy()  # [n, pred_len, 2] body units
        fut = from_body_units(fut[:, self.take], scale, aspect).astype(np.float32)
        out = {}
        for k, j in enumerate(np.flatnonzero(ok)):
            out[self.names[j]] = np.vstack([obs[j, -1], fut[k]])
        return out
