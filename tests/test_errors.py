"""Bad input gets one clear message that says what to do, never a bare stack trace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import open_dict

from motionseq.data.datamodules import ActionDataModule, TrajectoryDataModule
from motionseq.data.features import PoseFeatures
from motionseq.errors import CheckpointError, DataError, MotionseqError
from motionseq.modules.checkpoint import module_from_checkpoint, read_checkpoint
from motionseq.modules.classifier import ActionClassifier
from motionseq.sequence import PoseSequence
from motionseq.tasks.eval import evaluate
from motionseq.tasks.train import train
from tests.test_train import TINY, _run_script, compose_cfg


@pytest.fixture(scope="module")
def trained_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = compose_cfg("train", [*TINY["workouts"], "trainer.max_epochs=1", "logger=none"], out)
    return train(cfg)["checkpoint"]


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]


@pytest.mark.parametrize("override,expect", [
    ("experiment=nope", "Could not find 'experiment/nope'"),
    ("model=transformer", "Could not find 'model/transformer'"),
    ("data=kinetics", "Could not find 'data/kinetics'"),
])
def test_unknown_config_names_list_the_options(override, expect, tmp_path):
    proc = _run_script("train.py", [override], tmp_path)
    assert proc.returncode != 0
    assert expect in proc.stderr and "Available options" in proc.stderr
    _no_traceback(proc)


def test_eval_missing_checkpoint_cli(tmp_path):
    proc = _run_script("eval.py", [f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path)
    assert proc.returncode == 2
    assert "checkpoint not found" in proc.stderr
    _no_traceback(proc)


def test_eval_without_checkpoint_argument(tmp_path):
    proc = _run_script("eval.py", [], tmp_path)
    assert proc.returncode == 2 and "ckpt_path=" in proc.stderr
    _no_traceback(proc)


def test_truncated_checkpoint(trained_ckpt, tmp_path):
    data = open(trained_ckpt, "rb").read()
    bad = tmp_path / "cut.ckpt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint(bad)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not a motionseq checkpoint"):
        read_checkpoint(other)


def test_checkpoint_loads_with_weights_only(trained_ckpt):
    ckpt = torch.load(trained_ckpt, map_location="cpu", weights_only=True)
    assert ckpt["motionseq"]["hparams"]["class_names"]
    model = module_from_checkpoint(trained_ckpt)
    assert isinstance(model, ActionClassifier) and not model.training
    assert not torch.equal(model.feat_std, torch.ones_like(model.feat_std))  # stats travel


def test_checkpoint_weights_of_another_layout(trained_ckpt, tmp_path):
    ckpt = torch.load(trained_ckpt, map_location="cpu", weights_only=True)
    ckpt["motionseq"]["hparams"]["hidden"] = 64
    bad = tmp_path / "resized.ckpt"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match="do not fit"):
        module_from_checkpoint(bad)


def test_checkpoint_does_not_match_data_cli(trained_ckpt, tmp_path):
    proc = _run_script("eval.py", [f"ckpt_path={trained_ckpt}", "data=workouts",
                                   *TINY["workouts"], "data.features.layout=mediapipe33"], tmp_path)
    assert proc.returncode == 2
    assert "does not match this data" in proc.stderr and "input_size" in proc.stderr
    _no_traceback(proc)


def test_checkpoint_classes_do_not_match(trained_ckpt, tmp_path):
    cfg = compose_cfg("eval", [f"ckpt_path={trained_ckpt}", "data=workouts", *TINY["workouts"]],
                      tmp_path)
    evaluate(cfg)  # the same data works
    with open_dict(cfg):
        cfg.data.source.classes = ["squat", "lunge"]
    with pytest.raises(CheckpointError, match="class_names"):
        evaluate(cfg)


class _Source:
    def __init__(self, splits):
        self.splits = splits

    def load(self):
        return self.splits


def test_empty_dataset():
    with pytest.raises(DataError, match="empty 'train' split"):
        ActionDataModule(_Source({"train": [], "test": []})).setup()
    with pytest.raises(DataError, match="empty 'test' split"):
        TrajectoryDataModule(_Source({"train": [1], "test": []})).setup()


def test_unlabelled_sequences():
    seq = PoseSequence(np.zeros((3, 33, 2)), np.ones((3, 33)), 30, "mediapipe33")
    with pytest.raises(DataError, match="no label"):
        ActionDataModule(_Source({"train": [seq, seq], "test": [seq]}), val_fraction=0.5).setup()


def test_nan_in_a_batch_is_refused():
    model = ActionClassifier(PoseFeatures().dim, ["a", "b"])
    x = torch.zeros(2, 4, PoseFeatures().dim)
    x[1, 2, 5] = float("nan")
    batch = {"x": x, "lengths": torch.tensor([4, 3]), "y": torch.tensor([0, 1])}
    with pytest.raises(DataError, match="NaN/inf"):
        model.training_step(batch, 0)


def test_nan_loss_steps_are_skipped_then_stop():
    model = ActionClassifier(8, ["a", "b"])
    assert model.guard_loss(torch.tensor(1.0)) is not None
    nan = torch.tensor(float("nan"))
    assert model.guard_loss(nan) is None and model.guard_loss(nan) is None
    with pytest.raises(MotionseqError, match="Lower the learning rate"):
        model.guard_loss(nan)
