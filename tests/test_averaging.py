"""model.ema_decay: checkpoints hold an exponential moving average of the weights (the raw
weights beside it), and what is tested is that average. Resuming with it: test_resume.py;
evaluating its checkpoints in a fresh process: test_train.py."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from motionseq.errors import ConfigError
from motionseq.modules.averaging import EMAWeights, check_decay
from motionseq.modules.checkpoint import module_from_checkpoint, read_checkpoint
from motionseq.tasks.train import train
from tests.test_train import TINY, compose_cfg

RAW: list[dict[str, torch.Tensor]] = []  # the raw parameters after every optimizer step


class RecordRaw(pl.Callback):
    """Test helper: keeps a copy of the parameters after every training step."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        RAW.append({k: v.detach().clone() for k, v in pl_module.named_parameters()})


@pytest.mark.parametrize("decay", [0, 1, 1.5, -0.2, "0.9"])
def test_decay_must_be_a_fraction(decay):
    with pytest.raises(ConfigError, match="ema_decay"):
        check_decay(decay)
    with pytest.raises(ConfigError, match="ema_decay"):
        EMAWeights(decay)


def test_checkpoints_hold_the_moving_average_and_testing_uses_it(tmp_path, recwarn):
    decay = 0.8
    RAW.clear()
    cfg = compose_cfg("train", ["experiment=classify_workouts", *TINY["workouts"],
                                "trainer.max_epochs=3", "logger=csv", f"model.ema_decay={decay}",
                                "callbacks.progress_bar=null",
                                "+callbacks.record._target_=tests.test_averaging.RecordRaw"],
                      tmp_path / "run")
    result = train(cfg)
    assert len(RAW) >= 9  # 3 steps an epoch
    expected = dict(RAW[0])  # the first step starts the average
    for raw in RAW[1:]:
        expected = {k: decay * expected[k] + (1 - decay) * raw[k] for k in expected}

    last = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    for k, v in expected.items():
        torch.testing.assert_close(last["state_dict"][k], v, rtol=1e-5, atol=1e-6)
        # the raw weights travel beside it, for a resume
        assert torch.equal(last["current_model_state"][k], RAW[-1][k]), k
    assert any(not torch.allclose(last["state_dict"][k], RAW[-1][k]) for k in expected)
    # buffers (the training-set feature statistics) are the model's, not averaged away
    model = module_from_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert not torch.equal(model.feat_std, torch.ones_like(model.feat_std))
    for k, v in model.state_dict().items():
        assert torch.equal(v, last["state_dict"][k]), k

    # the tested checkpoint was scored with its averaged weights: the loaded model gets
    # the same test accuracy (a fresh process does too: test_train.py)
    best = module_from_checkpoint(result["checkpoint"])
    dm = best_datamodule(cfg)
    correct = total = 0
    with torch.no_grad():
        for batch in dm.test_dataloader():
            logits = best(batch["x"], batch["lengths"])
            correct += int((logits.argmax(-1) == batch["y"]).sum())
            total += len(batch["y"])
    assert correct / total == pytest.approx(result["test/acc"], abs=1e-6)
    # testing the best checkpoint after the fit is not a failed restore of the average
    assert not [w for w in recwarn if "WeightAveraging" in str(w.message)]


def best_datamodule(cfg):
    from motionseq.tasks.train import build

    datamodule, _ = build(cfg)
    datamodule.setup("test")
    return datamodule
