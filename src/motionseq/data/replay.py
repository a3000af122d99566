"""Replay for fine-tuning: a user's few clips plus examples of the classes a start
checkpoint already knows, so that fine-tuning adds classes without forgetting the old ones.

The replayed examples come from the start checkpoint's own training source (for the
default model, freshly generated synthetic workouts), only for the kept classes that the
user's data does not hold, and only into the train split: validation and test stay the
user's own.
"""

from __future__ import annotations

from collections import Counter

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
    """

    def __init__(self, source, replay, classes: list[str], per_class: int = 30,
                 replay_all: bool = False) -> None:
        if per_class < 1:
            raise DataError(f"finetune.replay_per_class must be at least 1, got {per_class}")
        self.source, self.replay = source, replay
        self.classes, self.per_class = list(classes), int(per_class)
        self.replay_all = bool(replay_all)

    def load(self) -> dict[str, list[PoseSequence]]:
        splits = self.source.load()
        have = {s.label for s in splits.get("train", [])}
        wanted = [c for c in self.classes if self.replay_all or c not in have]
        if not wanted:
            return splits
        taken: Counter[str] = Counter()
        extra = []
        for seq in self.replay.load()["train"]:
            if seq.label in wanted and taken[seq.label] < self.per_class:
                taken[seq.label] += 1
                extra.append(seq)
        missing = [c for c in wanted if not taken[c]]
        if missing:
            raise DataError(f"the start checkpoint's data has no examples of {missing} to "
                            f"replay; drop them with finetune.keep_classes=false")
        return {**splits, "train": list(splits["train"]) + extra}
