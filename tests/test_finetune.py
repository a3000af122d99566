"""The known-action score and its threshold; fine-tuning from a checkpoint (init_from)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from motionseq.data.own import save_sequence_folder
from motionseq.data.workouts import generate_workouts
from motionseq.errors import CheckpointError
from motionseq.modules.checkpoint import module_from_checkpoint
from motionseq.modules.openset import (
    BACKGROUND,
    choose_threshold,
    known_classes,
    score_logits,
)
from motionseq.tasks.train import train
from tests.test_errors import _Source
from tests.test_train import compose_cfg

# ---------------------------------------------------------------------- open set


def test_msp_and_energy_by_hand():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    names = ["a", "b", BACKGROUND]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(score_logits(logits, names, "msp"), p[:, :2].max(1))
    # energy: logsumexp over the known classes minus the background logit
    e = np.log(np.exp(logits[:, :2]).sum(1)) - logits[:, 2]
    np.testing.assert_allclose(score_logits(logits, names, "energy"), e)
    # mass: the known classes' probability, 1 - p(background); msp without a background
    np.testing.assert_allclose(score_logits(logits, names, "mass"), 1 - p[:, 2])
    np.testing.assert_allclose(score_logits(logits, ["a", "b", "c"], "mass"), p.max(1))
    # a leading background class scores low on both
    assert (score_logits(logits, names, "msp")[1] < 0.1
            and score_logits(logits, names, "energy")[1] < 0)
    # temperature flattens the probabilities
    assert score_logits(logits, ["a", "b", "c"], "msp", 4.0)[0] < \
        score_logits(logits, ["a", "b", "c"], "msp", 1.0)[0]
    assert known_classes(names).tolist() == [0, 1]


def test_threshold_keeps_the_share_asked_for():
    scores = np.linspace(0.0, 1.0, 101)
    t = choose_threshold(scores, 0.9)
    assert (scores >= t).mean() >= 0.9 and (scores >= t + 0.011).mean() < 0.9
    with pytest.raises(ValueError):
        choose_threshold(scores, 0.0)
    with pytest.raises(ValueError):
        choose_threshold(np.array([]), 0.9)


# ---------------------------------------------------------------------- fine-tuning

TINY_START = ["data.source.train_per_class=40", "data.source.test_per_class=8",
              "data.source.max_frames=60", "data.source.classes=[squat,push_up]",
              "model.hidden=32", "trainer.max_epochs=3", "logger=none",
              "callbacks.progress_bar=null", "callbacks.model_summary=null"]


@pytest.fixture(scope="module")
def start_ckpt(tmp_path_factory) -> Path:
    """A small classifier of squat and push-up, trained on synthetic workouts."""
    out = tmp_path_factory.mktemp("start")
    result = train(compose_cfg("train", TINY_START, out))
    model = module_from_checkpoint(result["checkpoint"])
    assert model.hparams["known_threshold"] is not None  # chosen on validation, saved
    return Path(result["checkpoint"])


def _folder(root: Path, classes: list[str], n_train: int, n_test: int, seed: int) -> Path:
    """A user's sequence folder of synthetic clips of ``classes`` (mediapipe33 .npz)."""
    train = [s.sequence for s in generate_workouts(n_train, seed, classes=classes,
                                                   max_frames=60)]
    test = [s.sequence for s in generate_workouts(n_test, seed + 1, classes=classes,
                                                  max_frames=60)]
    return save_sequence_folder(root, {"train": train, "test": test})


def _accuracy(model, root: Path) -> float:
    from motionseq.data.features import PoseFeatures
    from motionseq.data.own import SequenceFolderSource

    feats = PoseFeatures(**model.hparams["features"])
    seqs = SequenceFolderSource(str(root)).load()["test"]
    right = 0
    for s in seqs:
        x = torch.as_tensor(feats(s))[None]
        right += model.class_names[int(model(x).argmax())] == s.label
    return right / len(seqs)


def test_finetune_adds_a_class_keeps_the_old_ones_and_improves(start_ckpt, tmp_path):
    # the user's clips: a new class and one the start model knows; push-up is replayed
    folder = _folder(tmp_path / "mine", ["jumping_jack", "squat"], 12, 10, seed=50)
    before = _accuracy(module_from_checkpoint(start_ckpt), folder)
    cfg = compose_cfg("train", [
        "data=sequences", f"data.source.root={folder}", f"init_from={start_ckpt}",
        "finetune.epochs=10", "finetune.replay_per_class=30", "logger=none",
        "callbacks.progress_bar=null",
        "callbacks.model_summary=null"], tmp_path / "run")
    result = train(cfg)
    tuned = module_from_checkpoint(result["checkpoint"])
    # the start checkpoint's classes first, in its order; the new one after them
    assert tuned.class_names == ["push_up", "squat", "jumping_jack"]
    # its network and features, not the sequences config's
    assert tuned.hparams["hidden"] == 32
    assert tuned.hparams["features"]["layout"] == "penn13"
    after = _accuracy(tuned, folder)
    print(f"accuracy before {before:.2f}, after {after:.2f}")
    assert after > before + 0.2, (before, after)


def test_head_only_leaves_the_encoder_as_it_was(start_ckpt, tmp_path):
    folder = _folder(tmp_path / "mine", ["squat", "push_up"], 6, 4, seed=70)
    cfg = compose_cfg("train", [
        "data=sequences", f"data.source.root={folder}", f"init_from={start_ckpt}",
        "finetune.head_only=true", "finetune.keep_classes=false", "trainer.max_epochs=2",
        "finetune.replay_per_class=10",
        "logger=none", "callbacks.progress_bar=null", "callbacks.model_summary=null"],
        tmp_path / "run")
    tuned = module_from_checkpoint(train(cfg)["checkpoint"])
    start = module_from_checkpoint(start_ckpt)
    for (name, a), b in zip(start.encoder.state_dict().items(),
                            tuned.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not torch.equal(start.head.net[-1].weight, tuned.head.net[-1].weight)


def test_init_from_a_forecaster_or_nothing_is_refused(tmp_path):
    cfg = compose_cfg("train", ["init_from=" + str(tmp_path / "missing.ckpt")], tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        train(cfg)


def _seqs(labels: list[str], prefix: str = "") -> list:
    from motionseq.sequence import PoseSequence

    return [PoseSequence(np.zeros((3, 13, 2), np.float32), np.ones((3, 13), np.float32),
                         30.0, "penn13", label=c, source=f"{prefix}{c}{i}")
            for i, c in enumerate(labels)]


def test_replay_adds_examples_of_the_kept_classes_to_train_only():
    from motionseq.data.replay import ReplaySource
    from motionseq.errors import DataError

    mine = _Source({"train": _seqs(["squat", "new"]), "test": _seqs(["squat"])})
    old = _Source({"train": _seqs(["squat"] * 5 + ["push_up"] * 5), "test": []})
    lacking = ReplaySource(mine, old, ["push_up", "squat"], per_class=2).load()
    assert sorted(s.label for s in lacking["train"]) == ["new", "push_up", "push_up", "squat"]
    both = ReplaySource(mine, old, ["push_up", "squat"], per_class=2, replay_all=True).load()
    assert sorted(s.label for s in both["train"]) == \
        ["new", "push_up", "push_up", "squat", "squat", "squat"]
    assert [s.label for s in both["test"]] == ["squat"]  # test stays the user's own
    with pytest.raises(DataError, match="no examples of"):
        ReplaySource(mine, old, ["lunge"], per_class=2).load()


def test_balanced_replay_repeats_few_clips_and_carves_validation_first():
    from motionseq.data.replay import ReplaySource

    mine = _Source({"train": _seqs(["squat"] * 4 + ["new"] * 2 + ["push_up"] * 9),
                    "test": _seqs(["squat"])})
    old = _Source({"train": _seqs(["squat"] * 5 + ["push_up"] * 5 + ["lunge"] * 5, "old"),
                   "test": []})
    out = ReplaySource(mine, old, ["push_up", "squat", "lunge"], per_class=3,
                       replay_all=True, balance=True).load()
    mine_train = [s for s in out["train"] if s.source in
                  {m.source for m in mine.load()["train"]}]
    counts = {c: sum(s.label == c for s in mine_train) for c in ("squat", "new", "push_up")}
    # the user's classes reach per_class (a class with more clips keeps them all), and
    # the checkpoint's classes are replayed on top
    assert counts == {"squat": 4, "new": 3, "push_up": 9}
    assert sum(s.label == "lunge" for s in out["train"]) == 3
    assert "val" not in out
    # a validation share is carved from the user's own clips before any repetition
    carved = ReplaySource(mine, old, ["squat"], per_class=6, balance=True,
                          val_fraction=0.25, seed=3).load()
    val_ids = {s.source for s in carved["val"]}
    assert val_ids and not val_ids & {s.source for s in carved["train"]}
    assert {s.label for s in carved["val"]} == {"squat", "new", "push_up"}
    assert sum(s.label == "new" for s in carved["train"]) == 6  # 1 clip left, repeated
