"""The deep-ensemble forecaster (``model.members=k``): its forecast is the members' mean,
each member learns from its own loss, and a checkpoint round-trips. Scene batching with an
ensemble is covered with the other social models in ``test_social.py``."""

from __future__ import annotations

import pytest
import torch

from motionseq.errors import ConfigError
from motionseq.models.forecast import Forecaster, ForecasterEnsemble
from motionseq.modules.forecaster import TrajectoryForecaster


def _paths(n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    vel = torch.randn(n, 1, 2, generator=g) * 0.4
    t = torch.arange(20.0)[None, :, None]
    bend = 0.02 * torch.randn(n, 1, 2, generator=g) * t ** 2
    path = vel * t + bend + 0.02 * torch.randn(n, 20, 2, generator=g)
    return {"obs": path[:, :8], "fut": path[:, 8:]}


def test_the_forecast_is_the_mean_of_the_members():
    torch.manual_seed(0)
    module = TrajectoryForecaster(8, 12, 0.4, hidden=16, members=3, loss="position").eval()
    assert isinstance(module.net, ForecasterEnsemble) and len(module.net.members) == 3
    obs = _paths(5, 1)["obs"]
    each = torch.stack([m(obs, module.scale)[0] for m in module.net.members])
    assert not torch.allclose(each[0], each[1], atol=1e-4)  # started apart
    torch.testing.assert_close(module(obs), each.mean(0))


def test_one_member_is_the_plain_network_with_the_same_weights():
    torch.manual_seed(0)
    single = TrajectoryForecaster(8, 12, 0.4, hidden=16)
    torch.manual_seed(0)
    ensemble = TrajectoryForecaster(8, 12, 0.4, hidden=16, members=2)
    assert isinstance(single.net, Forecaster)
    first = ensemble.net.members[0].state_dict()
    for k, v in single.net.state_dict().items():
        torch.testing.assert_close(first[k], v)


def test_each_member_learns_from_its_own_loss():
    """Member i's gradient from the ensemble's loss is its gradient alone over k: the
    members do not co-adapt to the mean (which would make them one bigger network)."""
    torch.manual_seed(0)
    module = TrajectoryForecaster(8, 12, 0.4, hidden=16, members=2, loss="position")
    batch = _paths(6, 2)
    module._shared_step(batch, "train").backward()
    grads = [p.grad.clone() for p in module.net.members[1].parameters()]
    member = module.net.members[1]
    member.zero_grad()
    pred, disp = member(batch["obs"], module.scale)
    (module._loss(pred, disp, batch["obs"], batch["fut"]) / 2).backward()
    for g, p in zip(grads, member.parameters(), strict=True):
        torch.testing.assert_close(g, p.grad)


def test_an_ensemble_trains_and_round_trips_a_checkpoint(tmp_path):
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    from motionseq.modules.checkpoint import module_from_checkpoint

    data = _paths(64, 3)
    items = [{"obs": o, "fut": f} for o, f in zip(data["obs"], data["fut"], strict=True)]
    loader = DataLoader(items, batch_size=16)
    torch.manual_seed(0)
    module = TrajectoryForecaster(8, 12, 0.4, hidden=16, members=2, loss="position")
    module.set_normalizer(0.4)

    def ade() -> float:
        with torch.no_grad():
            return float((module(data["obs"]) - data["fut"]).norm(dim=-1).mean())

    before = ade()
    trainer = pl.Trainer(max_epochs=15, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0)
    trainer.fit(module, loader)
    module.eval()
    assert ade() < 0.8 * before
    path = tmp_path / "ens.ckpt"
    trainer.save_checkpoint(path)
    loaded = module_from_checkpoint(path).eval()
    assert loaded.hparams.members == 2
    with torch.no_grad():
        torch.testing.assert_close(loaded(data["obs"]), module(data["obs"]))


@pytest.mark.parametrize("members", [0, -1, 1.5])
def test_a_bad_member_count_says_so(members):
    with pytest.raises(ConfigError, match="members"):
        TrajectoryForecaster(8, 12, 0.4, members=members)
