"""Train-only augmentation of trajectory windows, applied to collated batches (never to
val/test). Pose sequences have their own stage, :mod:`motionseq.data.pose_augment`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def rotate_windows(batch: dict[str, Tensor], generator: torch.Generator | None = None,
                   max_angle: float = math.pi) -> dict[str, Tensor]:
    """Rotate each window (``obs [B, T_obs, 2]``, ``fut [B, T_pred, 2]``) by its own random
    angle in ``[-max_angle, max_angle]`` about its last observed point.

    Motion does not depend on which way the scene's axes point, so this multiplies the
    data for free. Returns a new dict; the input is not modified.
    """
    obs, fut = batch["obs"], batch["fut"]
    b = obs.shape[0]
    theta = (torch.rand(b, generator=generator) * 2 - 1) * max_angle
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2).to(obs)  # [B,2,2]
    origin = obs[:, -1:, :]
    return {**batch,
            "obs": (obs - origin) @ rot.transpose(1, 2) + origin,
            "fut": (fut - origin) @ rot.transpose(1, 2) + origin}


class RotateCollate:
    """Collate function for training loaders: default collation, then :func:`rotate_windows`.

    In the main process the angles come from one generator seeded by ``seed``. A DataLoader
    worker holds a copy of that generator, so each worker reseeds it from ``seed`` and its
    own worker seed on its first batch: workers never repeat each other's angles.
    """

    def __init__(self, max_angle: float = math.pi, seed: int = 0) -> None:
        self.max_angle = max_angle
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self._stream: int | None = None  # the worker seed the generator was reseeded for

    def _generator(self) -> torch.Generator:
        from torch.utils.data import get_worker_info

        worker = get_worker_info()
        if worker is not None and worker.seed != self._stream:
            self._stream = worker.seed
            mixed = np.random.SeedSequence([self.seed, worker.seed % 2**63]).generate_state(1)
            self.generator = torch.Generator().manual_seed(int(mixed[0]))
        return self.generator

    def __call__(self, items: list[dict[str, Tensor]]) -> dict[str, Tensor]:
        from torch.utils.data import default_collate

        return rotate_windows(default_collate(items), self._generator(), self.max_angle)
