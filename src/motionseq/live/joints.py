"""Where chosen joints are going: a short-horizon path per joint from its recent motion.

Each joint's last ``fit_s`` seconds of image positions are fitted with a least-squares
line (:func:`~motionseq.models.baselines.linear_fit`, the trajectory baseline) and
extended ``horizon_s`` seconds ahead, starting from the joint's current position. A fit
over several frames rather than the last step keeps pose jitter from swinging the line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import torch

from motionseq.errors import ConfigError
from motionseq.models.baselines import linear_fit
from motionseq.skeleton import get_layout

__all__ = ["JointPaths"]


class JointPaths:
    """Predicted paths of some joints, updated one frame at a time.

    Args:
        joints: joint names of ``layout`` (e.g. ``left_wrist``).
        layout: layout of the pushed keypoints.
        fps: frame rate of the stream.
        horizon_s: seconds ahead to predict.
        fit_s: seconds of recent positions the line is fitted to (at least 2 frames).
        points: points per predicted path (the horizon is sampled evenly).
        min_visibility: a frame whose joint is less visible than this breaks the path.
    """

    def __init__(self, joints: Sequence[str], layout: str = "mediapipe33", fps: float = 30.0,
                 horizon_s: float = 0.7, fit_s: float = 0.2, points: int = 8,
                 min_visibility: float = 0.5) -> None:
        lay = get_layout(layout)
        self.names = list(joints)
        self.index = [lay.index(j) for j in self.names]  # ConfigError for unknown names
        if horizon_s <= 0 or fit_s <= 0 or points < 1:
            raise ConfigError(f"joint paths need horizon_s > 0, fit_s > 0 and points >= 1; "
                              f"got {horizon_s}, {fit_s}, {points}")
        self.fit = max(2, int(round(fit_s * fps)))
        self.ahead = max(2, int(round(horizon_s * fps)))
        self.take = np.unique(np.linspace(0, self.ahead - 1, min(points, self.ahead))
                              .round().astype(int))
        self.min_visibility = float(min_visibility)
        self._recent: deque[np.ndarray] = deque(maxlen=self.fit)

    def reset(self) -> None:
        self._recent.clear()

    def push(self, keypoints: np.ndarray | None, visibility: np.ndarray | None
             ) -> dict[str, np.ndarray]:
        """Add one frame (``[J, C]`` image-normalised, ``[J]``; None when nobody) and return
        ``{joint: [1 + points, 2]}``: the current position then the predicted ones, for
        every joint seen in each of the last ``fit`` frames."""
        xy = np.full((len(self.index), 2), np.nan, np.float32)
        if keypoints is not None:
            xy = np.asarray(keypoints, np.float32)[self.index, :2].copy()
            if visibility is not None:
                xy[np.asarray(visibility)[self.index] < self.min_visibility] = np.nan
        self._recent.append(xy)
        if len(self._recent) < self.fit:
            return {}
        obs = np.stack(self._recent, axis=1)  # [joints, fit, 2]
        ok = np.isfinite(obs).all(axis=(1, 2))
        if not ok.any():
            return {}
        with torch.inference_mode():
            fut = linear_fit(torch.from_numpy(obs[ok]), self.ahead).numpy()  # [n, ahead, 2]
        # The line starts where the joint is now, not where the fit puts it.
        line_now = 2.0 * fut[:, 0] - fut[:, 1]
        fut = fut - line_now[:, None] + obs[ok][:, -1][:, None]
        out = {}
        for k, j in enumerate(np.flatnonzero(ok)):
            out[self.names[j]] = np.vstack([obs[j, -1], fut[k, self.take]])
        return out
