"""Train-only augmentation of trajectory windows (never of val/test). Pose sequences have
their own stage, :mod:`motionseq.data.pose_augment`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from motionseq.errors import ConfigError


def rotate_window(obs: Tensor, fut: Tensor, theta: float, flip: bool = False
                  ) -> tuple[Tensor, Tensor]:
    """Rotate one window (``obs [T_obs, 2]``, ``fut [T_pred, 2]``) or one scene window
    (``[n, T, 2]``, all agents together) by ``theta`` radians about its last observed point
    (the mean of the agents' last points), after mirroring it across the x axis through that
    point when ``flip``. Motion does not depend on which way the scene's axes point, nor on
    whether people keep left or right, so this multiplies the data for free; the agents of a
    scene keep their places relative to each other. Returns new tensors."""
    c, s = math.cos(theta), math.sin(theta)
    rot = torch.tensor([[c, -s], [s, c]], dtype=obs.dtype)
    if flip:
        rot = rot @ torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=obs.dtype)
    origin = obs[..., -1, :].reshape(-1, 2).mean(dim=0)
    return (obs - origin) @ rot.T + origin, (fut - origin) @ rot.T + origin


def reverse_window(obs: Tensor, fut: Tensor) -> dict[str, Tensor]:
    """One window (``[T, 2]``) or scene window (``[n, T, 2]``) played backwards in time:
    ``{"obs", "fut"}`` with the same lengths as before."""
    path = torch.cat([obs, fut], dim=-2).flip(-2)
    return {"obs": path[..., :obs.shape[-2], :], "fut": path[..., obs.shape[-2]:, :]}


class RotatedWindows(Dataset):
    """Training windows, each rotated about its last observed point by an angle that depends
    on ``(seed, epoch, item)`` only: keyed by ``(index, epoch)`` pairs (``epoch_keys``, see
    :class:`~motionseq.data.datasets.EpochSampler`), the same window gets the same angle in
    any worker, in any number of processes and in a run resumed mid-epoch, so a killed and
    resumed run trains on exactly the batches the uninterrupted one did.

    Keyed by a plain index (no epoch), the angle depends on ``(seed, index)`` alone. With
    ``flip`` half the items (drawn the same way) are also mirrored; with ``jitter`` (metres)
    every observed point gets Gaussian noise of that deviation, as a tracker's or an
    annotator's wobble (the future stays as recorded). With ``reverse`` half the items
    (drawn apart from the mirroring) are played backwards: the whole path (observed then
    future, every agent of a scene window together) runs the other way in time, and its
    first ``obs_len`` points become the observed part. Items may be single windows or scene
    windows (:class:`~motionseq.data.datasets.SceneWindowDataset`).
    """

    epoch_keys = True

    def __init__(self, windows: Dataset, seed: int = 0, max_angle: float = math.pi,
                 flip: bool = False, jitter: float = 0.0, reverse: bool = False) -> None:
        if not jitter >= 0:
            raise ConfigError(f"jitter must be >= 0 metres, got {jitter}")
        self.windows, self.seed, self.max_angle = windows, int(seed), float(max_angle)
        self.flip, self.jitter, self.reverse = flip, float(jitter), bool(reverse)
        self._angles: tuple[int, np.ndarray] | None = None  # (epoch, one angle per item)
        self._halves: dict[int, tuple[int, np.ndarray]] = {}  # tag -> (epoch, items)

    def __len__(self) -> int:
        return len(self.windows)

    def angles(self, epoch: int) -> np.ndarray:
        """Every item's angle in ``epoch`` (drawn once per epoch from ``(seed, epoch)``)."""
        if self._angles is None or self._angles[0] != epoch:
            rng = np.random.default_rng([self.seed, 0x524F54, int(epoch)])
            self._angles = (epoch, rng.uniform(-self.max_angle, self.max_angle, len(self)))
        return self._angles[1]

    def _half(self, on: bool, tag: int, epoch: int) -> np.ndarray:
        """Half the items, drawn once per epoch from ``(seed, tag, epoch)`` (none when not
        ``on``): which ones a two-way augmentation changes."""
        if not on:
            return np.zeros(len(self), dtype=bool)
        cached = self._halves.get(tag)
        if cached is None or cached[0] != epoch:
            rng = np.random.default_rng([self.seed, tag, int(epoch)])
            cached = self._halves[tag] = (epoch, rng.random(len(self)) < 0.5)
        return cached[1]

    def flips(self, epoch: int) -> np.ndarray:
        """Which items are mirrored in ``epoch`` (none without ``flip``)."""
        return self._half(self.flip, 0x464C50, epoch)

    def reversals(self, epoch: int) -> np.ndarray:
        """Which items are played backwards in ``epoch`` (none without ``reverse``)."""
        return self._half(self.reverse, 0x524556, epoch)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        i, epoch = (key if isinstance(key, tuple) else (key, -1))
        item = self.windows[int(i)]
        if self.reversals(int(epoch))[int(i)]:
            item = {**item, **reverse_window(item["obs"], item["fut"])}
        obs, fut = rotate_window(item["obs"], item["fut"], float(self.angles(int(epoch))[int(i)]),
                                 flip=bool(self.flips(int(epoch))[int(i)]))
        if self.jitter > 0:
            rng = np.random.default_rng([self.seed, 0x4A4954, int(epoch) + 1, int(i)])
            obs = obs + torch.from_numpy(rng.normal(0.0, self.jitter, tuple(obs.shape))
                                         ).to(obs.dtype)
        return {**item, "obs": obs, "fut": fut}
