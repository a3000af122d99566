"""Torch datasets over feature arrays (or pose sequences augmented on every draw), and
the padding collate that carries lengths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from motionseq.errors import DataError

if TYPE_CHECKING:
    from motionseq.data.pose_augment import PoseAugment
    from motionseq.sequence import PoseSequence


class SequenceDataset(Dataset):
    """Variable-length feature sequences with integer labels.

    Items are ``{"x": [T, F] float32, "y": int64 scalar}``.
    """

    def __init__(self, features: Sequence[np.ndarray], labels: Sequence[int]) -> None:
        if len(features) != len(labels):
            raise DataError(f"{len(features)} sequences but {len(labels)} labels")
        self.features = [torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)) for f in features]
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        for i, f in enumerate(self.features):
            if f.ndim != 2 or f.shape[0] == 0:
                raise DataError(f"sequence {i} must be a non-empty [T, F] array, got {tuple(f.shape)}")

    def __len__(self) -> int:
        return len(self.features)

    def features_np(self) -> list[np.ndarray]:
        return [f.numpy() for f in self.features]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.features[i], "y": self.labels[i]}


class AugmentedSequenceDataset(Dataset):
    """Pose sequences augmented afresh each time an item is drawn, then turned into
    features by the same feature function validation, test and live inference use.

    Items are ``{"x": [T', F] float32, "y": int64 scalar}`` (``T'`` varies with crop and
    speed). The draws of item ``i`` come from a generator seeded by ``(augment.seed,
    stream, i, n)``, with ``n`` the number of times this process has drawn ``i`` (the epoch,
    in effect) and ``stream`` 0 in the main process or the DataLoader worker's seed, which
    differs between workers (and between epochs when workers are not persistent). So runs
    are reproducible, epochs differ, and workers never share a random stream.
    """

    def __init__(self, sequences: Sequence[PoseSequence], labels: Sequence[int],
                 features: Callable[[PoseSequence], np.ndarray], augment: PoseAugment) -> None:
        if len(sequences) != len(labels):
            raise DataError(f"{len(sequences)} sequences but {len(labels)} labels")
        for i, s in enumerate(sequences):
            if s.num_frames == 0:
                raise DataError(f"sequence {i} ({s.source or 'no source'}) has no frames")
        self.sequences = list(sequences)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.features, self.augment = features, augment
        self._draws = np.zeros(len(self.sequences), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sequences)

    def generator(self, i: int) -> np.random.Generator:
        """The generator of item ``i``'s next draw (advances the draw count)."""
        worker = get_worker_info()
        stream = 0 if worker is None else int(worker.seed) % 2**63 + 1
        n = int(self._draws[i])
        self._draws[i] += 1
        return np.random.default_rng([int(self.augment.seed), stream, int(i), n])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        seq = self.augment(self.sequences[i], self.generator(i))
        x = np.ascontiguousarray(self.features(seq), dtype=np.float32)
        return {"x": torch.from_numpy(x), "y": self.labels[i]}


def pad_collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items of different lengths: ``x [B, T_max, F]`` zero-padded, ``lengths [B]``,
    ``y [B]``."""
    lengths = torch.tensor([it["x"].shape[0] for it in items], dtype=torch.int64)
    x = torch.nn.utils.rnn.pad_sequence([it["x"] for it in items], batch_first=True)
    return {"x": x, "lengths": lengths, "y": torch.stack([it["y"] for it in items])}


class WindowDataset(Dataset):
    """Observed/future trajectory windows: items ``{"obs": [T_obs, 2], "fut": [T_pred, 2]}``
    in metres."""

    def __init__(self, obs: np.ndarray, fut: np.ndarray) -> None:
        if len(obs) != len(fut):
            raise DataError(f"{len(obs)} observed windows but {len(fut)} futures")
        self.obs = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        self.fut = torch.from_numpy(np.ascontiguousarray(fut, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.obs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"obs": self.obs[i], "fut": self.fut[i]}


def stratified_split(
    labels: Sequence[int], fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into ``(keep, held_out)`` with ``fraction`` of every class held out
    (at least one item of each class with two or more items)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx)))
        if fraction > 0 and len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        held.extend(idx[:k].tolist())
    held_arr = np.sort(np.asarray(held, dtype=np.int64))
    keep = np.setdiff1d(np.arange(len(labels)), held_arr)
    return keep, held_arr
