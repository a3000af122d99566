"""Train-only augmentation of trajectory windows (never of val/test). Pose sequences have
their own stage, :mod:`motionseq.data.pose_augment`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset


def rotate_window(obs: Tensor, fut: Tensor, theta: float) -> tuple[Tensor, Tensor]:
    """Rotate one window (``obs [T_obs, 2]``, ``fut [T_pred, 2]``) by ``theta`` radians about
    its last observed point. Motion does not depend on which way the scene's axes point, so
    this multiplies the data for free. Returns new tensors."""
    c, s = math.cos(theta), math.sin(theta)
    rot = torch.tensor([[c, -s], [s, c]], dtype=obs.dtype)
    origin = obs[-1:]
    return (obs - origin) @ rot.T + origin, (fut - origin) @ rot.T + origin


class RotatedWindows(Dataset):
    """Training windows, each rotated about its last observed point by an angle that depends
    on ``(seed, epoch, item)`` only: keyed by ``(index, epoch)`` pairs (``epoch_keys``, see
    :class:`~motionseq.data.datasets.EpochSampler`), the same window gets the same angle in
    any worker, in any number of processes and in a run resumed mid-epoch, so a killed and
    resumed run trains on exactly the batches the uninterrupted one did.

    Keyed by a plain index (no epoch), the angle depends on ``(seed, index)`` alone.
    """

    epoch_keys = True

    def __init__(self, windows: Dataset, seed: int = 0, max_angle: float = math.pi) -> None:
        self.windows, self.seed, self.max_angle = windows, int(seed), float(max_angle)
        self._angles: tuple[int, np.ndarray] | None = None  # (epoch, one angle per item)

    def __len__(self) -> int:
        return len(self.windows)

    def angles(self, epoch: int) -> np.ndarray:
        """Every item's angle in ``epoch`` (drawn once per epoch from ``(seed, epoch)``)."""
        if self._angles is None or self._angles[0] != epoch:
            rng = np.random.default_rng([self.seed, 0x524F54, int(epoch)])
            self._angles = (epoch, rng.uniform(-self.max_angle, self.max_angle, len(self)))
        return self._angles[1]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        i, epoch = (key if isinstance(key, tuple) else (key, -1))
        item = self.windows[int(i)]
        obs, fut = rotate_window(item["obs"], item["fut"], float(self.angles(int(epoch))[int(i)]))
        return {**item, "obs": obs, "fut": fut}
