"""Lightning data modules: one for labelled pose sequences, one for trajectory windows.

Both take a *source* (see :mod:`motionseq.data.sources`) and expose what the model must
be built with (:meth:`model_kwargs`) and the normalisation it must carry
(:meth:`normalizer`), so the checkpoint is self-contained.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pytorch_lightning as pl
from torch.utils.data import DataLoader

from motionseq.data.augment import RotateCollate
from motionseq.data.datasets import (
    AugmentedSequenceDataset,
    SequenceDataset,
    WindowDataset,
    pad_collate,
    stratified_split,
)
from motionseq.data.features import PoseFeatures, feature_stats
from motionseq.data.pose_augment import PoseAugment
from motionseq.errors import DataError


class Source(Protocol):
    def load(self) -> dict[str, list]: ...


class _Loaders(pl.LightningDataModule):
    """Shared loader settings. Workers default to 0: the data lives in memory and worker
    processes cost more than they save at these sizes."""

    def __init__(self, batch_size: int, num_workers: int, seed: int) -> None:
        super().__init__()
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.datasets: dict[str, Any] = {}

    def _loader(self, split: str, shuffle: bool, collate=None) -> DataLoader:
        if split not in self.datasets:
            self.setup()
        return DataLoader(self.datasets[split], batch_size=self.batch_size, shuffle=shuffle,
                          num_workers=self.num_workers, collate_fn=collate,
                          persistent_workers=self.num_workers > 0)

    def _check_splits(self, splits: dict[str, list], name: str) -> None:
        for split in ("train", "test"):
            if not splits.get(split):
                raise DataError(
                    f"the {name} data has an empty {split!r} split: check the data source "
                    f"settings (data.source...) or the data folder"
                )


class ActionDataModule(_Loaders):
    """Labelled pose sequences → padded feature batches ``{"x", "lengths", "y"}``.

    The validation split is carved from *train* (stratified) unless the source has one;
    the test split is never used for selection.

    Without ``augment`` (or with one that changes nothing) every split's features are
    computed once here. With it, the train split keeps its sequences (mapped into the
    model's layout once) and each drawn item is augmented, then featurised, afresh;
    validation and test are never augmented, and the normaliser statistics come from the
    un-augmented training features.
    """

    def __init__(self, source: Source, features: PoseFeatures | None = None,
                 val_fraction: float = 0.15, batch_size: int = 64, num_workers: int = 0,
                 seed: int = 0, augment: PoseAugment | None = None,
                 name: str | None = None) -> None:
        super().__init__(batch_size, num_workers, seed)
        self.name = name  # a name for summaries (e.g. the UEA problem)
        self.source = source
        self.features = features or PoseFeatures()
        self.augment = augment if augment is not None and augment.active else None
        self.val_fraction = val_fraction
        self.class_names: list[str] = []
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        splits = self.source.load()
        self._check_splits(splits, type(self.source).__name__)
        unlabeled = [s.source for seqs in splits.values() for s in seqs if not s.label]
        if unlabeled:
            raise DataError(f"{len(unlabeled)} sequences have no label, e.g. {unlabeled[0]}")
        if "val" not in splits or not splits["val"]:
            labels = [s.label for s in splits["train"]]
            keep, held = stratified_split(labels, self.val_fraction, self.seed)
            train = splits["train"]
            splits = {**splits, "train": [train[i] for i in keep], "val": [train[i] for i in held]}
        self.class_names = sorted({s.label for s in splits["train"]})
        index = {c: i for i, c in enumerate(self.class_names)}
        train_feats: list[np.ndarray] = []
        for split, seqs in splits.items():
            unknown = sorted({s.label for s in seqs} - set(index))
            if unknown:
                raise DataError(f"{split!r} has classes that are not in train: {unknown}")
            labels = [index[s.label] for s in seqs]
            if split == "train" and self.augment is not None:
                seqs = [self.features.prepare(s) for s in seqs]
                train_feats = [self.features(s) for s in seqs]
                self.datasets[split] = AugmentedSequenceDataset(seqs, labels, self.features,
                                                                self.augment)
            else:
                feats = [self.features(s) for s in seqs]
                self.datasets[split] = SequenceDataset(feats, labels)
                if split == "train":
                    train_feats = self.datasets[split].features_np()
        self._stats = feature_stats(train_feats)

    def model_kwargs(self) -> dict[str, Any]:
        """What the classifier must be built with for this data."""
        self.setup()
        return {"input_size": self.features.dim, "class_names": list(self.class_names),
                "features": self.features.to_dict()}

    def normalizer(self) -> dict[str, np.ndarray]:
        """``{"mean": [F], "std": [F]}`` of the training features, for ``set_normalizer``."""
        self.setup()
        assert self._stats is not None
        return {"mean": self._stats[0], "std": self._stats[1]}

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, pad_collate)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False, pad_collate)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, pad_collate)


class TrajectoryDataModule(_Loaders):
    """Tracks → windows of ``obs_len`` observed and ``pred_len`` future positions.

    Batches are ``{"obs": [B, obs_len, 2], "fut": [B, pred_len, 2]}`` in metres.
    """

    def __init__(self, source: Source, obs_len: int = 8, pred_len: int = 12,
                 batch_size: int = 128, num_workers: int = 0, seed: int = 0,
                 val_fraction: float = 0.15, rotate: bool = False,
                 scene: str | None = None) -> None:
        super().__init__(batch_size, num_workers, seed)
        self.scene = scene  # a name for summaries (e.g. the ETH/UCY test scene)
        self.source, self.obs_len, self.pred_len = source, obs_len, pred_len
        self.val_fraction = val_fraction
        self.rotate = rotate
        self.dt: float | None = None
        self._scale: float | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        from motionseq.data.trajectories import make_windows

        splits = self.source.load()
        self._check_splits(splits, type(self.source).__name__)
        windows = {k: make_windows(v, self.obs_len, self.pred_len) for k, v in splits.items() if v}
        if "val" not in windows:
            w = windows["train"]
            rng = np.random.default_rng(self.seed)
            held = rng.random(len(w)) < self.val_fraction
            windows["val"] = _take(w, held)
            windows["train"] = _take(w, ~held)
        for split, w in windows.items():
            if len(w) == 0:
                raise DataError(
                    f"no {self.obs_len + self.pred_len}-step windows in the {split!r} split: "
                    f"tracks are shorter than obs_len + pred_len"
                )
            self.datasets[split] = WindowDataset(w.obs, w.fut)
        self.dt = float(windows["train"].dt)
        steps = np.diff(windows["train"].obs, axis=1).reshape(-1, 2)
        self._scale = float(max(np.sqrt((steps**2).sum(axis=1).mean()), 1e-3))

    def model_kwargs(self) -> dict[str, Any]:
        self.setup()
        return {"obs_len": self.obs_len, "pred_len": self.pred_len, "dt": self.dt}

    def normalizer(self) -> dict[str, float]:
        """``{"scale": metres}``: the RMS length of one observed training step."""
        self.setup()
        assert self._scale is not None
        return {"scale": self._scale}

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, RotateCollate(seed=self.seed) if self.rotate else None)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)


def _take(w, mask: np.ndarray):
    """A subset of TrajectoryWindows by boolean mask."""
    from dataclasses import replace

    return replace(w, obs=w.obs[mask], fut=w.fut[mask], agent=w.agent[mask],
                   start_frame=w.start_frame[mask], scene=w.scene[mask])
