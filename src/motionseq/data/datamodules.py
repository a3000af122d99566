"""Lightning data modules: one for labelled pose sequences, one for trajectory windows.

Both take a *source* (see :mod:`motionseq.data.sources`) and expose what the model must
be built with (:meth:`model_kwargs`) and the normalisation it must carry
(:meth:`normalizer`), so the checkpoint is self-contained.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from motionseq.data.augment import RotatedWindows
from motionseq.data.datasets import (
    AugmentedSequenceDataset,
    EpochSampler,
    ResumableLoader,
    SceneWindowDataset,
    SequenceDataset,
    ShardSampler,
    WindowDataset,
    carve_validation,
    pad_collate,
    process_group,
    scene_collate,
)
from motionseq.data.features import PoseFeatures, feature_stats
from motionseq.data.pose_augment import PoseAugment
from motionseq.errors import ConfigError, DataError


class Source(Protocol):
    def load(self) -> dict[str, list]: ...


class _Loaders(pl.LightningDataModule):
    """Shared loader settings. Workers default to 0: the data lives in memory and worker
    processes cost more than they save at these sizes.

    ``batch_size`` is per process. Every split is sharded here, not by Lightning: training
    by :class:`EpochSampler` (``world`` processes see the global batches one process with
    ``world`` times the batch size sees; the order depends on the seed and the epoch, so a
    resumed run continues with the batches it had not trained on), validation and test by
    :class:`ShardSampler` (each item once, so synchronised metrics equal one process's).
    The training position travels in checkpoints (:meth:`state_dict`).
    """

    def __init__(self, batch_size: int, num_workers: int, seed: int) -> None:
        super().__init__()
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.datasets: dict[str, Any] = {}
        self._resume: dict[str, int] | None = None

    def shuffle_seed(self) -> int:
        """The training order's seed: the run's seed (``seed_everything`` records it in
        ``PL_GLOBAL_SEED``, as Lightning's own samplers read it), else ``seed``."""
        return int(os.environ.get("PL_GLOBAL_SEED", self.seed))

    def _loader(self, split: str, shuffle: bool, collate=None) -> DataLoader:
        if split not in self.datasets:
            self.setup()
        dataset = self.datasets[split]
        rank, world = process_group()
        # the loader's own generator seeds its workers: making an iterator never draws
        # from the global random state, which a resumed run restores
        common = dict(batch_size=self.batch_size, num_workers=self.num_workers,
                      collate_fn=collate, persistent_workers=self.num_workers > 0,
                      generator=torch.Generator().manual_seed(self.shuffle_seed()))
        if not shuffle:
            return DataLoader(dataset, sampler=ShardSampler(len(dataset), rank, world), **common)
        if self.trainer is not None and self.trainer.overfit_batches > 0:
            # the same few batches every epoch, in order, as Lightning's overfit mode wants
            return DataLoader(dataset, shuffle=False, **common)
        sampler = EpochSampler(len(dataset), self.batch_size, shuffle=True,
                               seed=self.shuffle_seed(), rank=rank, world=world,
                               keys=getattr(dataset, "epoch_keys", False))
        loader = ResumableLoader(dataset, sampler=sampler, position=self.train_position,
                                 **common)
        if self._resume is not None:
            loader.load_state_dict(self._resume)
            self._resume = None
        return loader

    def train_position(self) -> tuple[int, int]:
        """``(epoch, batches of it trained)``: where training would continue from now."""
        trainer = self.trainer
        if trainer is None:
            return 0, 0
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if done >= trainer.num_training_batches:
            return trainer.current_epoch + 1, 0
        return trainer.current_epoch, done

    def state_dict(self) -> dict[str, Any]:
        epoch, batches = self.train_position()
        return {"train_position": {"epoch": epoch, "batches": batches}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Lightning restores this before it asks for the training loader; the loader
        # starts there (also when Lightning itself does not treat the epoch as unfinished)
        self._resume = state_dict.get("train_position")

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

    With ``store`` (a folder; see :mod:`motionseq.data.store`) the features live on disk,
    not in memory: the first run computes them one sequence at a time into the store
    (the normaliser statistics accumulated on the way), and every run reads items lazily
    from its memory-mapped shards. A store records the source and feature settings it was
    written from and is refused for others; without a ``source`` it is read as it is
    (class names, feature settings and statistics come from it).
    """

    def __init__(self, source: Source | None = None, features: PoseFeatures | None = None,
                 val_fraction: float = 0.15, batch_size: int = 64, num_workers: int = 0,
                 seed: int = 0, augment: PoseAugment | None = None,
                 name: str | None = None, store: str | None = None,
                 val_fold: list[int] | None = None,
                 class_names: list[str] | None = None) -> None:
        super().__init__(batch_size, num_workers, seed)
        self.name = name  # a name for summaries (e.g. the UEA problem)
        # [k, n]: validate on fold k of n stratified folds of train instead of val_fraction
        self.val_fold = tuple(int(v) for v in val_fold) if val_fold is not None else None
        if self.val_fold is not None and len(self.val_fold) != 2:
            raise ConfigError(f"val_fold must be [fold, folds], got {val_fold!r}")
        self.source = source
        self.features = features or PoseFeatures()
        self.augment = augment if augment is not None and augment.active else None
        self.val_fraction = val_fraction
        self.store = store
        # a fixed class order (fine-tuning: the start checkpoint's), the data's other
        # classes after it; None: the train split's labels, sorted
        self._given_classes = list(class_names) if class_names else None
        self.class_names: list[str] = []
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        if self.store is not None:
            self._setup_store(Path(self.store))
            return
        splits, labels = self._labelled_splits()
        train_feats: list[np.ndarray] = []
        for split, seqs in splits.items():
            if split == "train" and self.augment is not None:
                seqs = [self.features.prepare(s) for s in seqs]
                train_feats = [self.features(s) for s in seqs]
                self.datasets[split] = AugmentedSequenceDataset(seqs, labels[split],
                                                                self.features, self.augment)
            else:
                feats = [self.features(s) for s in seqs]
                self.datasets[split] = SequenceDataset(feats, labels[split])
                if split == "train":
                    train_feats = self.datasets[split].features_np()
        self._stats = feature_stats(train_feats)

    def _labelled_splits(self) -> tuple[dict[str, list], dict[str, list[int]]]:
        """The source's splits (validation carved from train when it has none), the class
        names, and every split's label indices."""
        if self.source is None:
            raise ConfigError("the data module needs a source (data.source) or an existing "
                              "store (data.store)")
        splits = self.source.load()
        self._check_splits(splits, type(self.source).__name__)
        unlabeled = [s.source for seqs in splits.values() for s in seqs if not s.label]
        if unlabeled:
            raise DataError(f"{len(unlabeled)} sequences have no label, e.g. {unlabeled[0]}")
        splits = carve_validation(splits, self.val_fraction, self.seed, self.val_fold)
        found = sorted({s.label for s in splits["train"]})
        first = self._given_classes or []
        self.class_names = first + [c for c in found if c not in first]
        if len(self.class_names) < 2:
            raise DataError(
                f"the training data has one class ({', '.join(found) or 'none'}): a classifier "
                f"needs at least two; add training examples of another class (one folder "
                f"per class, e.g. train/<class>/)")
        index = {c: i for i, c in enumerate(self.class_names)}
        label_ids = {}
        for split, seqs in splits.items():
            unknown = sorted({s.label for s in seqs} - set(index))
            if unknown:
                raise DataError(f"{split!r} has classes that are not in train: {unknown}; add "
                                f"training examples of them, or leave them out of {split!r}")
            label_ids[split] = [index[s.label] for s in seqs]
        return splits, label_ids

    def _fingerprint(self) -> dict[str, Any]:
        """What a store's contents depend on: source class and settings, feature settings
        (as configured), the validation split."""
        source = self.source
        settings = json.loads(json.dumps(vars(source), default=str, sort_keys=True))
        return {"source": f"{type(source).__module__}.{type(source).__qualname__}",
                "source_settings": settings,
                "features": json.loads(json.dumps(self.features.to_dict(), default=str)),
                "val_fraction": self.val_fraction, "seed": self.seed,
                **({"val_fold": list(self.val_fold)} if self.val_fold is not None else {})}

    def _setup_store(self, root: Path) -> None:
        from motionseq.data.store import MANIFEST, SequenceStore, write_store

        if self.augment is not None:
            raise ConfigError("data.augment draws new poses for every epoch from sequences in "
                              "memory; it does not combine with data.store (leave one unset)")
        wanted = self._fingerprint() if self.source is not None else None
        if (root / MANIFEST).is_file():
            store = SequenceStore(root)
        else:
            if self.source is None:
                raise DataError(f"no sequence store at {root}, and no data.source to write "
                                f"one from")
            splits, labels = self._labelled_splits()
            self.features(splits["train"][0])  # fixes the channel count of raw data
            items = {split: ((self.features(s), y) for s, y in zip(seqs, labels[split],
                                                                     strict=True))
                     for split, seqs in splits.items()}
            store = write_store(root, items, self.features.dim, self.class_names,
                                meta={"fingerprint": wanted, "features": self.features.to_dict()})
        meta = store.meta
        if wanted is not None and meta.get("fingerprint") != wanted:
            got = meta.get("fingerprint") or {}
            diff = sorted(k for k in {*wanted, *got} if wanted.get(k) != got.get(k))
            raise DataError(f"the store at {root} was written from other data or settings "
                            f"(differs in: {', '.join(diff)}); delete it to write it anew, or "
                            f"give another data.store")
        if "features" in meta:
            self.features = PoseFeatures(**meta["features"])
        if self.features.dim != store.feature_dim:
            raise DataError(f"the store at {root} holds {store.feature_dim} feature channels, "
                            f"the features settings give {self.features.dim}")
        missing = [s for s in ("train", "val", "test") if s not in store.splits]
        if missing:
            raise DataError(f"the store at {root} has no {', '.join(missing)} split")
        self.class_names = store.class_names
        self.datasets = {split: store.dataset(split) for split in store.splits}
        self._stats = store.stats()

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

    def val_dataloader(self) -> DataLoader | list:
        self.setup()
        if len(self.datasets["val"]) == 0:  # val_fraction=0: every training case trains
            return []
        return self._loader("val", False, pad_collate)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, pad_collate)


class TrajectoryDataModule(_Loaders):
    """Tracks → windows of ``obs_len`` observed and ``pred_len`` future positions.

    Batches are ``{"obs": [B, obs_len, 2], "fut": [B, pred_len, 2]}`` in metres. With
    ``scenes=True`` an item is a scene window (every agent present throughout one window of
    a recording, as the published ETH/UCY protocol counts them) and batches add
    ``"group": [B]``, the window of each agent; ``batch_size`` then counts scene windows.
    ``rotate`` and ``flip`` (train only) turn and mirror each item, a scene window as one;
    ``jitter`` adds that much noise (metres) to the observed points; ``reverse`` plays half
    the items backwards in time.
    """

    def __init__(self, source: Source, obs_len: int = 8, pred_len: int = 12,
                 batch_size: int = 128, num_workers: int = 0, seed: int = 0,
                 val_fraction: float = 0.15, rotate: bool = False,
                 scene: str | None = None, train_stride: int = 1, scenes: bool = False,
                 flip: bool = False, jitter: float = 0.0, reverse: bool = False) -> None:
        super().__init__(batch_size, num_workers, seed)
        self.scene = scene  # a name for summaries (e.g. the ETH/UCY test scene)
        self.source, self.obs_len, self.pred_len = source, obs_len, pred_len
        self.val_fraction = val_fraction
        self.rotate, self.flip, self.scenes, self.jitter = rotate, flip, scenes, jitter
        self.reverse = reverse
        self.train_stride = train_stride  # windows start every n-th step in train (val, test: 1)
        self.dt: float | None = None
        self._scale: float | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        from motionseq.data.trajectories import make_windows

        splits = self.source.load()
        self._check_splits(splits, type(self.source).__name__)
        windows = {k: make_windows(v, self.obs_len, self.pred_len,
                                   stride=self.train_stride if k == "train" else 1)
                   for k, v in splits.items() if v}
        if "val" not in windows:
            w = windows["train"]
            rng = np.random.default_rng(self.seed)
            if self.scenes:  # whole scene windows: no agent loses its neighbours
                group = w.groups()
                held = (rng.random(int(group.max()) + 1) < self.val_fraction)[group]
            else:
                held = rng.random(len(w)) < self.val_fraction
            windows["val"] = _take(w, held)
            windows["train"] = _take(w, ~held)
        for split, w in windows.items():
            if len(w) == 0:
                raise DataError(
                    f"no {self.obs_len + self.pred_len}-step windows in the {split!r} split: "
                    f"tracks are shorter than obs_len + pred_len"
                )
            self.datasets[split] = (SceneWindowDataset(w.obs, w.fut, w.groups()) if self.scenes
                                    else WindowDataset(w.obs, w.fut))
            if split == "train" and (self.rotate or self.flip or self.jitter or self.reverse):
                # draws from (seed, epoch, item): resume-exact, worker- and rank-independent
                self.datasets[split] = RotatedWindows(
                    self.datasets[split], seed=self.shuffle_seed(),
                    max_angle=math.pi if self.rotate else 0.0, flip=self.flip,
                    jitter=self.jitter, reverse=self.reverse)
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

    def _collate(self):
        return scene_collate if self.scenes else None

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self._collate())

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False, self._collate())

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self._collate())


def _take(w, mask: np.ndarray):
    """A subset of TrajectoryWindows by boolean mask."""
    from dataclasses import replace

    return replace(w, obs=w.obs[mask], fut=w.fut[mask], agent=w.agent[mask],
                   start_frame=w.start_frame[mask], scene=w.scene[mask])
