"""Training settings chosen from the data: the ``auto`` values of a config.

The bring-your-own-data configs (``data=uea``, ``data=sequences``, ``data=videos``) leave
the settings that depend on the data's size, length and channels as ``auto``. Before
anything is built, :func:`adapt` loads the data once, measures it (:class:`DataProfile`),
replaces each ``auto`` with a value chosen from the measurements (:func:`choose`), prints
what it chose and why, and hands the loaded data on so it is not read twice. A value that
is not ``auto`` (set on the command line, by an experiment or by ``init_from``) is kept:
an explicit setting always wins.

What is chosen, and from what:

========================================  ============================================
``data.val_fraction``                      0.15 when the carved validation split holds
                                           at least ``TRUST_VAL_CASES`` cases (then it
                                           selects the checkpoint); otherwise 0: every
                                           training case trains and the last weights
                                           are kept
``callbacks.model_checkpoint.monitor``     the model's metric when validation is
                                           trusted, else null (keep the last epoch)
``data.batch_size``                        about a tenth of the training cases, a power
                                           of two in [8, 32] (64 from 20k cases)
``data.features.resample``                 null (as recorded) up to ``LONG_FRAMES``
                                           (skeletons ``LONG_FRAMES_SKELETON``);
                                           longer sequences are resampled to it
``trainer.max_epochs`` / ``max_steps``     the length in optimiser steps: 100 passes
                                           over the data, at least ``MIN_STEPS``, at
                                           most ``MAX_STEPS``, a work budget of
                                           ``WORK_BUDGET`` frames x cases and a time
                                           budget of ``STEP_BUDGET`` recurrent steps
                                           (both growing with the data), rounded up to
                                           whole epochs
``model.conv_pool``                        1, or the factor that leaves the recurrent
                                           layers about ``RNN_FRAMES`` steps
``data.augment``                           skeletons: mirror, crop, speed and a small
                                           affine; layout-free values: value scale,
                                           noise, crop and time warp
========================================  ============================================
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from motionseq.data.datasets import stratified_fold, stratified_split
from motionseq.errors import ConfigError, DataError

log = logging.getLogger(__name__)

AUTO = "auto"
TRUST_VAL_CASES = 100   # a validation split this large can pick a checkpoint (±5 % at 0.5)
LONG_FRAMES = 128       # longer sequences are resampled to this many frames
LONG_FRAMES_SKELETON = 64  # skeletons: smooth motion over many channels needs fewer frames
RNN_FRAMES = 64         # the conv front end pools longer sequences to about this many steps
EPOCHS = 100            # passes over a small dataset
MIN_STEPS, MAX_STEPS = 400, 20_000
WORK_BUDGET = 1.0e6     # optimiser steps x batch x frames: the whole run of a 200-case
                        # problem of 128 frames in under 2 minutes on 2 CPU cores (OSULeaf's
                        # 5-fold CV on train: 0.915 at this budget, 0.910 at 1.2e6); it
                        # grows with the square root of the cases beyond
STEP_BUDGET = 32_000    # optimiser steps x recurrent steps: the GRU's steps run one after
                        # another, so short sequences in small batches cost time per step
                        # that the frame count above does not see; grows the same way
                        # (5-fold CV on train: JapaneseVowels 0.989 at this budget, 0.978
                        # with 100 epochs; NATOPS 0.950, 0.967 with 100 epochs: the price
                        # of its two minutes)

# the augmentation of each kind of data (see motionseq.data.pose_augment.PoseAugment)
SKELETON_AUGMENT = {"mirror_p": 0.5, "crop_min": 0.85, "speed": [0.85, 1.2],
                    "rotate_deg": 10.0, "scale": [0.9, 1.1], "shear": 0.1, "min_frames": 8}
VALUES_AUGMENT = {"value_scale": [0.9, 1.1], "noise": 0.05, "crop_min": 0.9,
                  "time_warp": 0.1, "min_frames": 8}


@dataclass(frozen=True)
class DataProfile:
    """What the choices are made from: the training split as it will be trained on."""

    cases: int            # training cases if a validation split is carved (or given)
    all_cases: int        # training cases before any carving
    val_cases: int        # validation cases a carve (or the source's own split) holds
    val_given: bool       # the source has its own validation split
    classes: int
    min_class: int        # cases of the rarest class
    frames_median: int
    frames_max: int
    channels: int         # values per frame (joints x coordinates)
    layout: str           # "raw" or a skeleton

    @property
    def skeleton(self) -> bool:
        return self.layout not in ("raw", "") and not self.layout.startswith("generic")


def profile(splits: dict[str, list], layout: str, val_fraction: float,
            val_fold: list[int] | None = None, seed: int = 0) -> DataProfile:
    """The :class:`DataProfile` of a source's splits, with validation carved as the data
    module would (``val_fraction`` of every class, or fold ``val_fold``)."""
    train = splits.get("train") or []
    if not train:
        raise DataError("the training split is empty: there is nothing to choose settings "
                        "from (check data.source)")
    labels = [s.label for s in train]
    names = sorted(set(labels))
    ids = [names.index(y) for y in labels]
    given = bool(splits.get("val"))
    if given:
        keep, val_cases = len(train), len(splits["val"])
    else:
        k, held = (stratified_fold(ids, int(val_fold[0]), int(val_fold[1]), seed)
                   if val_fold is not None else stratified_split(ids, val_fraction, seed))
        keep, val_cases = len(k), len(held)
        if val_fold is not None:  # cross-validation: the other folds are the whole train
            train = [train[i] for i in k]
    lengths = np.array([len(s) for s in train])
    kp = train[0].keypoints
    return DataProfile(cases=keep, all_cases=len(train), val_cases=val_cases,
                       val_given=given, classes=len(names),
                       min_class=min(Counter(s.label for s in train).values()),
                       frames_median=int(np.median(lengths)), frames_max=int(lengths.max()),
                       channels=int(kp.shape[1] * kp.shape[2]), layout=str(layout))


@dataclass(frozen=True)
class Choice:
    key: str      # dotted config key
    value: Any
    why: str


def _pow2_floor(x: float) -> int:
    return 1 << max(int(math.floor(math.log2(max(x, 1.0)))), 0)


def choose(p: DataProfile, trust_val: bool | None = None) -> list[Choice]:
    """The adaptive settings for a dataset; ``trust_val`` fixes the validation decision
    (None: decided from the validation size)."""
    out: list[Choice] = []
    probe_val = p.val_cases if p.val_cases else round(0.15 * p.all_cases)
    if trust_val is None:
        trust_val = probe_val >= TRUST_VAL_CASES
    if p.val_given:
        out.append(Choice("data.val_fraction", 0.15, "the data has its own validation split"))
    elif trust_val:
        out.append(Choice("data.val_fraction", 0.15,
                          f"{probe_val} validation cases can select a checkpoint"))
    else:
        out.append(Choice("data.val_fraction", 0.0,
                          f"{probe_val} validation cases are too few to select on "
                          f"(< {TRUST_VAL_CASES}): all {p.all_cases} cases train"))
    cases = p.cases if (trust_val or p.val_given) else p.all_cases
    out.append(Choice("callbacks.model_checkpoint.monitor", "<model>" if trust_val else None,
                      "best validation epoch kept" if trust_val
                      else "schedule runs its course, last weights kept"))
    batch = 64 if cases >= 20_000 else min(max(_pow2_floor(cases / 10), 8), 32)
    out.append(Choice("data.batch_size", batch, f"{cases} training cases"))
    frames = p.frames_max
    long = LONG_FRAMES_SKELETON if p.skeleton else LONG_FRAMES
    if p.frames_max > long:
        frames = long
        out.append(Choice("data.features.resample", long,
                          f"sequences up to {p.frames_max} frames (median "
                          f"{p.frames_median}) resampled to {long}"))
    else:
        out.append(Choice("data.features.resample", None,
                          f"sequences of {p.frames_median} frames (max {p.frames_max}) "
                          f"kept as recorded"))
    pool = max(math.ceil(frames / RNN_FRAMES), 1)
    out.append(Choice("model.conv_pool", pool,
                      f"the recurrent layers read {math.ceil(frames / pool)} steps"
                      + (f" (max over {pool})" if pool > 1 else "")))
    per_epoch = math.ceil(cases / batch)
    steps = per_epoch * EPOCHS
    why = f"{EPOCHS} epochs of {per_epoch} batches"
    grow = math.sqrt(max(1.0, cases / 200))  # more data, more time
    work_cap = max(int(WORK_BUDGET * grow / (batch * max(frames, 1))), MIN_STEPS)
    rnn_steps = math.ceil(max(frames, 1) / pool)
    step_cap = max(int(STEP_BUDGET * grow / rnn_steps), MIN_STEPS)
    if steps > min(work_cap, step_cap):
        steps, why = ((work_cap, f"work budget ({batch} x {frames} frames per step)")
                      if work_cap <= step_cap else
                      (step_cap, f"time budget ({rnn_steps} recurrent steps per step)"))
    if steps > MAX_STEPS:
        steps, why = MAX_STEPS, f"at most {MAX_STEPS} steps"
    if steps < MIN_STEPS:
        steps, why = MIN_STEPS, f"at least {MIN_STEPS} steps"
    epochs = max(math.ceil(steps / per_epoch), 1)
    out.append(Choice("trainer.max_epochs", epochs,
                      f"{epochs * per_epoch} optimiser steps ({why})"))
    kind = "skeleton" if p.skeleton else "values"
    augment = SKELETON_AUGMENT if p.skeleton else VALUES_AUGMENT
    out.append(Choice("data.augment",
                      {"_target_": "motionseq.data.pose_augment.PoseAugment", **augment},
                      f"{kind} ({p.layout}, {p.channels} channels): "
                      + ", ".join(k for k in augment if k != "min_frames")))
    return out


def _get(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, throw_on_missing=False, default=None)


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == AUTO


def auto_keys(cfg: DictConfig) -> list[str]:
    """The dotted keys of ``cfg`` that hold ``auto`` among those :func:`choose` fills."""
    keys = ("data.val_fraction", "callbacks.model_checkpoint.monitor", "data.batch_size",
            "data.features.resample", "model.conv_pool", "trainer.max_epochs",
            "trainer.max_steps", "data.augment")
    return [k for k in keys if _is_auto(_get(cfg, k))]


def _batches_per_epoch(cfg: DictConfig, prof: DataProfile) -> int:
    """Training batches per epoch with the config's batch size and validation split as they
    stand (0 while the batch size is not a number)."""
    batch = _get(cfg, "data.batch_size")
    if not isinstance(batch, int) or batch < 1:
        return 0
    trained = prof.all_cases if _get(cfg, "data.val_fraction") == 0 else prof.cases
    return math.ceil(trained / batch)


class LoadedSource:
    """A source whose splits are already in memory (so the data is read once)."""

    def __init__(self, splits: dict[str, list], source: Any) -> None:
        self.splits, self.source = splits, source

    def load(self) -> dict[str, list]:
        return self.splits


def adapt(cfg: DictConfig) -> tuple[LoadedSource | None, list[Choice]]:
    """Fill the ``auto`` values of ``cfg`` (in place) from its data. Returns the loaded
    source (None when nothing was ``auto``, or with a ``data.store``, which reads its source
    itself) and the choices applied."""
    keys = auto_keys(cfg)
    if not keys:
        return None, []
    if "source" not in cfg.data or cfg.data.source is None:
        raise ConfigError(f"{', '.join(keys)} = auto needs data.source to choose from")
    source = instantiate(cfg.data.source)
    splits = source.load()
    layout = str(_get(cfg, "data.features.layout") or getattr(source, "layout", "raw"))
    if layout == "raw" and splits.get("train"):
        layout = str(splits["train"][0].layout)
    vf = _get(cfg, "data.val_fraction")
    prof = profile(splits, layout, 0.15 if _is_auto(vf) else float(vf or 0.0),
                   _get(cfg, "data.val_fold"), int(_get(cfg, "data.seed") or 0))
    monitor = _get(cfg, "callbacks.model_checkpoint.monitor")
    trust = None
    if not _is_auto(vf):  # an explicit validation split: select on it unless told not to
        trust = bool(float(vf or 0) > 0 or prof.val_given or _get(cfg, "data.val_fold"))
    elif not _is_auto(monitor):
        trust = monitor is not None
    applied = []
    with open_dict(cfg):
        for choice in choose(prof, trust):
            value = choice.value
            if choice.key == "callbacks.model_checkpoint.monitor":
                if value == "<model>":
                    value = _get(cfg, "model.monitor")
                elif _is_auto(_get(cfg, choice.key)) and _get(cfg, "callbacks.early_stopping"):
                    cfg.callbacks.early_stopping = None  # nothing to stop on
            if choice.key == "trainer.max_epochs":
                if _is_auto(_get(cfg, "trainer.max_steps")):
                    OmegaConf.update(cfg, "trainer.max_steps", -1)
                    if not _is_auto(_get(cfg, "trainer.max_epochs")):
                        continue  # the epochs were given: they decide
                elif _is_auto(_get(cfg, "trainer.max_epochs")):
                    # the steps were given: as many epochs as they take (the schedule's
                    # length is counted in epochs), the trainer stops at the step count
                    per_epoch = _batches_per_epoch(cfg, prof) or 1
                    steps = int(_get(cfg, "trainer.max_steps"))
                    value = max(math.ceil(steps / per_epoch), 1) if steps > 0 else -1
                    OmegaConf.update(cfg, "trainer.max_epochs", value)
                    applied.append(Choice("trainer.max_epochs", value,
                                          f"trainer.max_steps={steps} in whole epochs"))
                    continue
            if not _is_auto(_get(cfg, choice.key)):
                continue
            if choice.key == "model.conv_pool" and not _get(cfg, "model.conv_channels"):
                value = 1  # no conv front end to pool
            if choice.key == "data.augment":  # drawn from the run's seed, as recipes do
                value = {**value, "seed": int(cfg.get("seed") or 0)}
            OmegaConf.update(cfg, choice.key, value, merge=False)
            applied.append(Choice(choice.key, value, choice.why))
            if (choice.key == "data.val_fraction" and value == 0 and not prof.val_given
                    and _get(cfg, "data.val_fold") is None and "trainer" in cfg):
                cfg.trainer.limit_val_batches = 0  # no validation split: no validation loop
        # the last weights are kept: write them once, at the end (last.ckpt still keeps
        # the run resumable), not a model per epoch
        epochs = _get(cfg, "trainer.max_epochs")
        if (any(c.key == "callbacks.model_checkpoint.monitor" and c.value is None
                for c in applied) and isinstance(epochs, int) and epochs > 0):
            cfg.callbacks.model_checkpoint.every_n_epochs = epochs
        # log the training curve of tiny data too (Lightning warns, and logs nothing,
        # when an epoch has fewer batches than the logging interval)
        per_epoch = _batches_per_epoch(cfg, prof)
        if per_epoch and "trainer" in cfg:
            every = _get(cfg, "trainer.log_every_n_steps")
            if isinstance(every, int) and 0 < per_epoch < every:
                cfg.trainer.log_every_n_steps = per_epoch
    report(prof, applied)
    if _get(cfg, "data.store"):
        return None, applied  # a store fingerprints its source's own settings: read anew
    return LoadedSource(splits, source), applied


def report(p: DataProfile, applied: list[Choice]) -> None:
    """The table of what was chosen and why (rank 0 only)."""
    if not applied or int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", 0)) or 0) != 0:
        return
    from rich.console import Console
    from rich.table import Table

    title = (f"Settings chosen from the data: {p.all_cases} training cases, {p.classes} "
             f"classes (rarest {p.min_class}), {p.frames_median} frames (max "
             f"{p.frames_max}), {p.channels} channels, layout {p.layout}")
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("setting", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("why")
    for c in applied:
        value = ("PoseAugment" if isinstance(c.value, (dict, DictConfig)) else repr(c.value)
                 if c.value is None else str(c.value))
        table.add_row(c.key, value, c.why)
    Console().print(table)
    Console().print("Any of these can be set explicitly (e.g. data.batch_size=16); an "
                    "explicit value is kept.")
