"""Replay for fine-tuning: a user's few clips plus examples of the classes a start
checkpoint already knows, so that fine-tuning adds classes without forgetting the old ones.

The replayed examples come from the start checkpoint's own training source (for the
default model, freshly generated synthetic workouts), only into the train split:
validation and test stay the user's own. With ``balance``, each class the user's clips
hold is drawn as often as a replayed class: its clips are repeated (each draw augmented
afresh when the run augments) up to ``per_class``, so that five real clips of a class
weigh as much as its replayed examples and a new class is not outnumbered by old ones.
"""

from __future__ import annotations

from collections import Counter

from motionseq.data.datasets import carve_validation
from motionseq.errors import DataError
from motionseq.sequence import PoseSequence

__all__ = ["ReplaySource"]


class ReplaySource:
    """The user's ``source`` with ``per_class`` train sequences of each of ``classes`` taken
    from ``replay`` (the start checkpoint's source) where ``source`` has none of them.

    Args:
        source: the user's data (any action source).
        replay: the source the start checkpoint was trained on.
        classes: the start checkpoint's classes to keep.
        per_class: replayed train sequences per kept class.
        replay_all: replay the kept classes the user's data holds too (a few real clips
            of a class then add to its synthetic examples instead of replacing them).
        balance: repeat the user's train clips of each class up to ``per_class``.
        val_fraction: a stratified share of the user's train clips held out as the
            validation split before any repetition (when the data has no validation split
            of its own), so no copy of a validation clip trains.
        seed: the seed of that carve (the data's own, as the data module carves).
    """

    def __init__(self, source, replay, classes: list[str], per_class: int = 30,
                 replay_all: bool = False, balance: bool = False, val_fraction: float = 0.0,
                 seed: int = 0) -> None:
        if per_class < 1:
            raise DataError(f"finetune.replay_per_class must be at least 1, got {per_class}")
        self.source, self.replay = source, replay
        self.classes, self.per_class = list(classes), int(per_class)
        self.replay_all, self.balance = bool(replay_all), bool(balance)
        self.val_fraction, self.seed = float(val_fraction or 0.0), int(seed)

    def load(self) -> dict[str, list[PoseSequence]]:
        splits = self.source.load()
        if self.val_fraction > 0 and splits.get("train"):
            splits = carve_validation(splits, self.val_fraction, self.seed)
        train = list(splits.get("train", []))
        have = Counter(s.label for s in train)
        if self.balance:
            train = _repeat_to(train, self.per_class)
        wanted = [c for c in self.classes if self.replay_all or c not in have]
        taken: Counter[str] = Counter()
        extra = []
        if wanted:
            for seq in self.replay.load()["train"]:
                if seq.label in wanted and taken[seq.label] < self.per_class:
                    taken[seq.label] += 1
                    extra.append(seq)
        missing = [c for c in wanted if not taken[c]]
        if missing:
            raise DataError(f"the start checkpoint's data has no examples of {missing} to "
                            f"replay; drop them with finetune.keep_classes=false")
        return {**splits, "train": train + extra}


def _repeat_to(seqs: list[PoseSequence], n: int) -> list[PoseSequence]:
    """Each label's sequences cycled until the label has at least ``n`` of them."""
    by: dict[str, list[PoseSequence]] = {}
    for s in seqs:
        by.setdefault(str(s.label), []).append(s)
    out = list(seqs)
    for group in by.values():
        extra = max(n - len(group), 0)
        out += [group[i % len(group)] for i in range(extra)]
    return out
