"""Torch datasets over feature arrays (or pose sequences augmented on every draw), the
padding collate that carries lengths, and the samplers and loader every data module
uses: one epoch order for any number of processes, unpadded evaluation shards, and a
training loader that resumes mid-epoch."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info
from torch.utils.data.distributed import DistributedSampler

from motionseq.errors import ConfigError, DataError

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
    speed). Keyed by ``(i, epoch)`` (what :class:`EpochSampler` hands out for datasets
    with ``epoch_keys``), the draw comes from a generator seeded by ``(augment.seed, i,
    epoch)``: the same in any worker and in a run resumed mid-epoch. Keyed by a plain
    ``i``, it comes from ``(augment.seed, stream, i, n)``, with ``n`` the number of times
    this process has drawn ``i`` and ``stream`` 0 in the main process or the DataLoader
    worker's seed. Either way runs are reproducible, epochs differ, and workers never
    share a random stream.
    """

    epoch_keys = True

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

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        if isinstance(key, tuple):
            i, epoch = int(key[0]), int(key[1])
            gen = np.random.default_rng([int(self.augment.seed), i, epoch])
        else:
            i, gen = int(key), self.generator(int(key))
        seq = self.augment(self.sequences[i], gen)
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


class SceneWindowDataset(Dataset):
    """Scene windows: every agent present throughout one observe/predict window, together.

    Items are ``{"obs": [n, T_obs, 2], "fut": [n, T_pred, 2]}`` (metres), one per window of
    a recording, ``n >= 1`` agents in their window order; :func:`scene_collate` stacks them
    flat with a ``group`` id, as the social models read them.
    """

    def __init__(self, obs: np.ndarray, fut: np.ndarray, group: np.ndarray) -> None:
        if not len(obs) == len(fut) == len(group):
            raise DataError(f"{len(obs)} observed windows, {len(fut)} futures and "
                            f"{len(group)} group ids")
        group = np.asarray(group, dtype=np.int64)
        if len(group) and np.any(np.diff(group) < 0):
            raise DataError("scene windows need their agents' rows contiguous (sorted by group)")
        self.obs = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        self.fut = torch.from_numpy(np.ascontiguousarray(fut, dtype=np.float32))
        _, first, counts = np.unique(group, return_index=True, return_counts=True)
        self.bounds = np.stack([first, first + counts], axis=1)

    def __len__(self) -> int:
        return len(self.bounds)

    @property
    def agents(self) -> int:
        return len(self.obs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        a, b = self.bounds[int(i)]
        return {"obs": self.obs[a:b], "fut": self.fut[a:b]}


def scene_collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Scene windows ``[n_k, T, 2]`` → ``{"obs": [sum n, T_obs, 2], "fut": [sum n, T_pred, 2],
    "group": [sum n]}``: the agents of all windows stacked, ``group`` the window of each."""
    sizes = torch.tensor([len(it["obs"]) for it in items])
    return {"obs": torch.cat([it["obs"] for it in items]),
            "fut": torch.cat([it["fut"] for it in items]),
            "group": torch.repeat_interleave(torch.arange(len(items)), sizes)}


class EpochSampler(DistributedSampler):
    """Training order of one epoch for process ``rank`` of ``world``.

    The epoch's order is a permutation of the ``n`` items drawn from ``(seed, epoch)``
    (``range(n)`` without ``shuffle``), wrapped round to a multiple of ``world``; it is cut
    into global batches of ``batch_size * world`` items and this process takes the
    ``rank``-th equal share of each. So ``world`` processes with ``batch_size`` b train on
    the same global batches as one process with ``b * world`` (DDP's averaged gradient is
    that process's gradient), and the order depends on ``(seed, epoch)`` alone: a run
    resumed mid-epoch continues with the batches it had not seen (``skip`` items are left
    out at the start). With ``keys`` it hands out ``(index, epoch)`` pairs, for datasets
    whose draws depend on the epoch (``epoch_keys``).

    A ``DistributedSampler`` subclass, so Lightning never replaces it.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world: int = 1, keys: bool = False) -> None:
        if n < 1 or batch_size < 1:
            raise DataError(f"need at least one item and batch size, got {n} and {batch_size}")
        super().__init__(range(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
        self.n, self.batch_size, self.keys = n, batch_size, keys
        self.skip = 0
        self.num_samples = math.ceil(n / world)
        self.total_size = self.num_samples * world

    def order(self) -> list[int]:
        """This process's item indices for the current epoch, ``skip`` included."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            perm = torch.randperm(self.n, generator=g).tolist()
        else:
            perm = list(range(self.n))
        while len(perm) < self.total_size:  # pad by wrapping round: equal shares
            perm += perm[: self.total_size - len(perm)]
        mine: list[int] = []
        step = self.batch_size * self.num_replicas
        for start in range(0, self.total_size, step):
            share = min(step, self.total_size - start) // self.num_replicas
            first = start + self.rank * share
            mine += perm[first:first + share]
        return mine

    def __iter__(self) -> Iterator[Any]:
        mine = self.order()[self.skip:]
        self.skip = 0  # once: the next epoch starts at its beginning
        if self.keys:
            return iter([(i, self.epoch) for i in mine])
        return iter(mine)

    def __len__(self) -> int:
        return self.num_samples


class ShardSampler(DistributedSampler):
    """Evaluation order for process ``rank`` of ``world``: a contiguous share of
    ``range(n)``, no item repeated. Shares differ by at most one item, so metrics
    synchronised over processes count every item exactly once (``DistributedSampler``
    pads with repeats, which counts some twice)."""

    def __init__(self, n: int, rank: int = 0, world: int = 1) -> None:
        super().__init__(range(max(n, 1)), num_replicas=world, rank=rank, shuffle=False)
        bounds = np.linspace(0, n, world + 1).round().astype(int)
        self.indices = list(range(int(bounds[rank]), int(bounds[rank + 1])))
        self.num_samples = len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return self.num_samples


def process_group() -> tuple[int, int]:
    """``(rank, world size)`` of the running process group; ``(0, 1)`` without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ResumableLoader(DataLoader):
    """A training DataLoader over an :class:`EpochSampler` that knows its place.

    ``position()`` says where training stands: ``(epoch, batches of it trained)``.
    ``state_dict()`` records it (Lightning keeps it in checkpoints) and
    ``load_state_dict()`` makes the next iterator start there: the sampler's epoch is set
    and the trained batches are skipped, without reading them.
    """

    def __init__(self, dataset: Dataset, *, sampler: EpochSampler,
                 position: Callable[[], tuple[int, int]] | None = None, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self.position = position
        self._resume: tuple[int, int] | None = None

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self.position() if self.position else (self.sampler.epoch, 0)
        return {"epoch": int(epoch), "batches": int(batches)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume = (int(state["epoch"]), int(state["batches"]))

    def __iter__(self):
        sampler = self.sampler
        assert isinstance(sampler, EpochSampler)
        if self._resume is not None:
            epoch, batches = self._resume
            self._resume = None
            sampler.set_epoch(epoch)
            sampler.skip = min(batches * sampler.batch_size, len(sampler))
        return super().__iter__()


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


def carve_validation(splits: dict[str, list], fraction: float, seed: int,
                     fold: tuple[int, int] | None = None) -> dict[str, list]:
    """``splits`` with a validation split carved from train (stratified by label: a
    ``fraction`` of each class, or fold ``fold = (i, n)``) when it has none of its own."""
    if splits.get("val"):
        return splits
    train = splits["train"]
    labels = [s.label for s in train]
    keep, held = (stratified_fold(labels, *fold, seed) if fold is not None
                  else stratified_split(labels, fraction, seed))
    return {**splits, "train": [train[i] for i in keep], "val": [train[i] for i in held]}


def stratified_fold(labels: Sequence[int], fold: int, folds: int, seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into ``(keep, held_out)``: fold ``fold`` of ``folds`` stratified folds
    (each class dealt round-robin over the folds after a seeded shuffle), for
    cross-validation on a training set."""
    if not (isinstance(folds, int) and folds >= 2 and isinstance(fold, int)
            and 0 <= fold < folds):
        raise ConfigError(f"a validation fold needs 0 <= fold < folds and folds >= 2; got "
                          f"fold {fold!r} of {folds!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    assign = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        assign[idx] = (np.arange(len(idx)) + offset) % folds
        offset += len(idx)  # the next class starts where this one stopped: even fold sizes
    held = np.flatnonzero(assign == fold)
    return np.flatnonzero(assign != fold), held
