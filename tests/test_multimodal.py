"""The multimodal (CVAE) forecaster: shapes, sampling, frame invariance, learning two modes
of a toy and a checkpoint round trip."""

from __future__ import annotations

import math

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from motionseq.data.datasets import WindowDataset
from motionseq.errors import ConfigError
from motionseq.models.multimodal import CVAEForecaster, kmeans
from motionseq.modules.checkpoint import module_from_checkpoint
from motionseq.modules.metrics import best_of_k, displacement_errors
from motionseq.modules.multimodal import MultimodalForecaster


def _paths(n: int, seed: int = 0) -> torch.Tensor:
    """Random walks with a drift: ``[n, 8, 2]``."""
    g = torch.Generator().manual_seed(seed)
    return torch.cumsum(torch.randn(n, 8, 2, generator=g) * 0.1 + torch.tensor([0.4, 0.1]),
                        dim=1)


def turning_toy(n: int, obs_len: int = 8, pred_len: int = 12, seed: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Paths that walk straight in a random direction at 0.4 m per step, keep on for 2 more
    steps, then turn left or right (at random, 0.3 rad per step): ``(obs [n, obs_len, 2],
    fut [n, pred_len, 2])`` metres. The observed part never tells which way it turns."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, generator=g) * 2 * math.pi
    side = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    steps = obs_len + pred_len - 1
    turn = (torch.arange(steps) - (obs_len + 1)).clamp_min(0).float()  # turning after 2 steps
    heading = start[:, None] + side[:, None] * 0.3 * turn[None]
    step = 0.4 * torch.stack([heading.cos(), heading.sin()], dim=-1)
    path = torch.cat([torch.zeros(n, 1, 2), torch.cumsum(step, dim=1)], dim=1)
    path = path + torch.randn(n, 2, generator=g)[:, None] * 3.0  # anywhere in the scene
    return path[:, :obs_len], path[:, obs_len:]


def test_shapes_and_config_errors():
    net = CVAEForecaster(pred_len=12, hidden=16, latent=4)
    obs = _paths(5)
    fut = obs[:, -1:] + torch.cumsum(torch.full((5, 12, 2), 0.4), dim=1)
    out = net(obs, 0.5, fut)
    assert out["pos"].shape == out["disp"].shape == (5, 12, 2)
    assert out["kl"].shape == out["prior_mu"].shape == out["post_mu"].shape == (5, 4)
    assert (out["kl"] >= -1e-6).all()
    # positions are the last observation plus the cumulated displacements
    torch.testing.assert_close(out["pos"][:, 0], obs[:, -1] + out["disp"][:, 0] * 0.5)
    assert "kl" not in net(obs, 0.5)
    assert net.sample(obs, 0.5, k=7).shape == (5, 7, 12, 2)
    assert net.sample(obs, 0.5, k=7, most_likely=True).shape == (5, 1, 12, 2)
    module = MultimodalForecaster(hidden=16, latent=4, k=3)
    assert module(obs).shape == (5, 12, 2)
    assert module.sample(obs).shape == (5, 3, 12, 2)
    assert module.sample(obs, 20).shape == (5, 20, 12, 2)
    with pytest.raises(ConfigError, match="recurrent"):
        MultimodalForecaster(decoder="direct")
    with pytest.raises(ConfigError, match="frame"):
        CVAEForecaster(12, frame="polar")


def test_samples_differ_and_most_likely_is_deterministic():
    torch.manual_seed(0)
    net = CVAEForecaster(12, hidden=16, latent=4).eval()
    obs = _paths(4)
    with torch.no_grad():
        s = net.sample(obs, 0.5, k=6)
        ml_a = net.sample(obs, 0.5, k=6, most_likely=True)
        ml_b = net.sample(obs, 0.5, k=1, most_likely=True)
        again = net.sample(obs, 0.5, k=6, generator=torch.Generator().manual_seed(3))
        same = net.sample(obs, 0.5, k=6, generator=torch.Generator().manual_seed(3))
        fwd = net(obs, 0.5)["pos"]
    spread = (s - s.mean(dim=1, keepdim=True)).norm(dim=-1).amax(dim=(1, 2))
    assert (spread > 1e-3).all()  # K draws give K different futures for every path
    torch.testing.assert_close(ml_a, ml_b)
    torch.testing.assert_close(ml_a[:, 0], fwd)  # forward without a future = the prior mean
    torch.testing.assert_close(again, same)  # a seeded generator repeats its samples


def test_heading_frame_makes_samples_rotation_equivariant():
    torch.manual_seed(0)
    obs = _paths(6)
    a = 0.9
    rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shift = torch.tensor([3.0, -2.0])
    net = CVAEForecaster(12, hidden=16, latent=4, speed_norm=True).eval()
    with torch.no_grad():
        pred = net.sample(obs, 0.5, 5, generator=torch.Generator().manual_seed(1))
        moved = net.sample(obs @ rot.T + shift, 0.5, 5, generator=torch.Generator().manual_seed(1))
        fut = obs[:, -1:] + torch.cumsum(torch.full((6, 12, 2), 0.3), dim=1)
        kl = net(obs, 0.5, fut)["kl"]
        kl_moved = net(obs @ rot.T + shift, 0.5, fut @ rot.T + shift)["kl"]
    torch.testing.assert_close(moved, pred @ rot.T + shift, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(kl_moved, kl, atol=1e-4, rtol=1e-4)


def test_kmeans_finds_separated_clusters_and_draws_give_k_centres():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # 3 tight clusters in random order (as random draws come), the start one of each
    pts = torch.cat([centres[i] + 0.1 * torch.randn(40, 2, generator=g) for i in range(3)])
    pts = torch.cat([pts[[0, 40, 80]], pts[torch.randperm(120, generator=g)]])
    found = kmeans(pts[None], 3, iters=20)[0]
    order = found[:, 0] + 2 * found[:, 1]  # 0, 10, 20 for the three true centres
    torch.testing.assert_close(found[order.argsort()], centres, atol=0.1, rtol=0)
    with pytest.raises(ValueError, match="k <= N"):
        kmeans(pts[None], 200)

    net = CVAEForecaster(12, hidden=16, latent=4).eval()
    obs = _paths(3)
    with torch.no_grad():
        many = net.sample(obs, 0.5, 20, generator=torch.Generator().manual_seed(0), draws=200,
                          select="paths")
        plain = net.sample(obs, 0.5, 200, generator=torch.Generator().manual_seed(0))
        picked = net.sample(obs, 0.5, 20, generator=torch.Generator().manual_seed(0),
                            draws=200)
    # endpoint selection decodes 20 of the same 200 draws
    assert picked.shape == (3, 20, 12, 2)
    dist = (picked[:, :, None] - plain[:, None]).flatten(3).norm(dim=-1)  # [3, 20, 200]
    assert dist.amin(dim=-1).max() < 1e-4
    assert many.shape == (3, 20, 12, 2)
    # each centre is a mean of draws, so it lies inside the spread of the 200 draws
    lo, hi = plain.amin(dim=1, keepdim=True), plain.amax(dim=1, keepdim=True)
    assert ((many >= lo - 1e-5) & (many <= hi + 1e-5)).all()
    module = MultimodalForecaster(hidden=16, latent=4, k=5, sample_draws=50)
    assert module.sample(obs).shape == (3, 5, 12, 2)


def test_standing_agent_gives_finite_samples():
    net = CVAEForecaster(12, hidden=8, latent=2, speed_norm=True).eval()
    assert torch.isfinite(net.sample(torch.zeros(2, 8, 2), 0.5, 4)).all()


def test_learns_both_turns_of_a_toy_and_round_trips_a_checkpoint(tmp_path):
    pl.seed_everything(0, verbose=False)
    torch.set_num_threads(1)
    obs, fut = turning_toy(2048)
    val_obs, val_fut = turning_toy(512, seed=1)
    loader = DataLoader(WindowDataset(obs.numpy(), fut.numpy()), batch_size=64, shuffle=True)
    module = MultimodalForecaster(hidden=32, latent=4, k=20, kl_warmup=100,
                                  optimizer=lambda p: torch.optim.Adam(p, lr=3e-3))
    module.set_normalizer(0.4)
    gen = torch.Generator().manual_seed(0)

    def scores(m: MultimodalForecaster) -> tuple[float, float]:
        m.eval()
        with torch.no_grad():
            most_likely = displacement_errors(m(val_obs), val_fut).mean().item()
            min_ade = best_of_k(m.sample(val_obs, 20, generator=gen.manual_seed(0)),
                                val_fut)[0].item()
        return most_likely, min_ade

    _, before = scores(module)
    trainer = pl.Trainer(max_steps=320, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0)
    trainer.fit(module.train(), loader)
    most_likely, after = scores(module)
    # the mean of the two turns is wrong both ways; some of 20 draws take the right turn
    assert after < 0.6 * most_likely, (after, most_likely)
    assert after < 0.6 * before, (after, before)
    # the endpoint head learnt where the decoder goes (within a fifth of the way), and 20
    # of 200 draws chosen by their predicted endpoints cover the two turns as 20 plain
    # draws do
    with torch.no_grad():
        past = module.net.encode_past(val_obs, module.scale)
        mu, _ = module.net.prior_params(past)
        _, _, local = module.net._decode(past, mu, module.scale)
        head_err = module.net.endpoint_error(past, mu, local).mean()
        assert head_err < 0.2 * local.sum(dim=1).norm(dim=-1).mean()
        chosen = module.net.sample(val_obs, module.scale, 20, draws=200,
                                   generator=gen.manual_seed(0), select="endpoints")
        plain = module.net.sample(val_obs, module.scale, 20, generator=gen.manual_seed(0))
        assert best_of_k(chosen, val_fut)[1] <= 1.1 * best_of_k(plain, val_fut)[1]

    path = tmp_path / "cvae.ckpt"
    trainer.save_checkpoint(path)
    loaded = module_from_checkpoint(path)
    assert isinstance(loaded, MultimodalForecaster) and loaded.hparams.latent == 4
    assert loaded.hparams.frame == "heading"
    with torch.no_grad():
        torch.testing.assert_close(loaded(val_obs), module(val_obs))
        torch.testing.assert_close(loaded.sample(val_obs, 5, generator=gen.manual_seed(2)),
                                   module.sample(val_obs, 5, generator=gen.manual_seed(2)))
    assert loaded.scale.item() == pytest.approx(0.4)
