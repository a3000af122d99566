"""ADE/FDE, best-of-K and the deterministic baselines, on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from motionseq.data.trajectories import make_windows, read_split_dir
from motionseq.errors import ConfigError, DataError
from motionseq.models.baselines import constant_velocity, linear_fit
from motionseq.modules.metrics import ade, best_of_k, displacement_errors, fde

T = torch.tensor

# README of the shared data: (CV ADE, CV FDE, linear ADE, linear FDE) per test scene.
PUBLISHED = {
    "eth": (1.075, 2.282, 1.182, 2.382),
    "hotel": (0.319, 0.614, 0.261, 0.478),
    "univ": (0.524, 1.165, 0.737, 1.429),
    "zara1": (0.427, 0.952, 0.603, 1.183),
    "zara2": (0.324, 0.724, 0.457, 0.894),
}


def test_displacement_errors_ade_fde() -> None:
    true = torch.zeros(2, 2, 2)
    pred = T([[[0.0, 0.0], [3.0, 4.0]],     # errors 0, 5
              [[6.0, 8.0], [0.0, 1.0]]])    # errors 10, 1
    assert torch.equal(displacement_errors(pred, true), T([[0.0, 5.0], [10.0, 1.0]]))
    assert ade(pred, true).item() == pytest.approx((0 + 5 + 10 + 1) / 4)
    assert fde(pred, true).item() == pytest.approx((5 + 1) / 2)
    # Errors depend on the difference only.
    assert ade(pred + 7.0, true + 7.0).item() == pytest.approx(4.0)


def test_best_of_k_minimises_ade_and_fde_independently() -> None:
    true = torch.zeros(2, 2, 2)

    def along_x(*errs: float) -> list[list[float]]:
        return [[e, 0.0] for e in errs]

    pred_k = T([
        [along_x(0, 5), [[3.0, 0.0], [0.0, 4.0]]],  # sample A: k0 ADE 2.5 FDE 5, k1 3.5 / 4
        [along_x(2, 2), along_x(0, 3)],              # sample B: k0 ADE 2 FDE 2, k1 1.5 / 3
    ])
    min_ade, min_fde = best_of_k(pred_k, true)
    assert min_ade.item() == pytest.approx((2.5 + 1.5) / 2)
    assert min_fde.item() == pytest.approx((4 + 2) / 2)  # not the FDE of the ADE-best sample
    # Social-GAN's grouped minimum: the K sums over a scene window, then the minimum.
    g_ade, g_fde = best_of_k(pred_k, true, group=T([0, 0]))
    assert g_ade.item() == pytest.approx(min(2.5 + 2, 3.5 + 1.5) / 2)
    assert g_fde.item() == pytest.approx(min(5 + 2, 4 + 3) / 2)
    s_ade, s_fde = best_of_k(pred_k, true, group=T([4, 9]))  # one sample per group
    assert (s_ade.item(), s_fde.item()) == pytest.approx((min_ade.item(), min_fde.item()))
    # K = 1 is plain ADE/FDE.
    one = best_of_k(pred_k[:, :1], true)
    assert one[0].item() == pytest.approx(ade(pred_k[:, 0], true).item())
    assert one[1].item() == pytest.approx(fde(pred_k[:, 0], true).item())


def test_metric_shape_errors() -> None:
    with pytest.raises(DataError, match="pred and true"):
        ade(torch.zeros(2, 3, 2), torch.zeros(2, 4, 2))
    with pytest.raises(DataError, match="pred_k"):
        best_of_k(torch.zeros(2, 3, 2), torch.zeros(2, 3, 2))
    with pytest.raises(DataError, match="group"):
        best_of_k(torch.zeros(2, 1, 3, 2), torch.zeros(2, 3, 2), group=T([0, 1, 2]))


def test_constant_velocity_by_hand() -> None:
    obs = T([[[0.0, 0.0], [1.0, 0.0], [3.0, 1.0]]])  # last step (2, 1)
    assert torch.equal(constant_velocity(obs, 3), T([[[5.0, 2.0], [7.0, 3.0], [9.0, 4.0]]]))


def test_linear_fit_by_hand() -> None:
    t = torch.arange(5.0)
    line = torch.stack([2 * t + 1, -t], dim=-1)[None]  # exactly on a line
    assert torch.allclose(linear_fit(line[:, :3], 2), line[:, 3:])
    # x = 0, 0, 3 at t = 0, 1, 2: mean 1, slope ((-1)(-1) + 0 + (1)(2)) / 2 = 1.5,
    # so x(3) = 1 + 1.5 * 2 = 4, x(4) = 5.5 (constant velocity would say 6, 9).
    obs = T([[[0.0, 0.0], [0.0, 0.0], [3.0, 0.0]]])
    assert torch.allclose(linear_fit(obs, 2), T([[[4.0, 0.0], [5.5, 0.0]]]))
    assert linear_fit(obs.double(), 2).dtype == torch.float64


def test_baseline_input_errors() -> None:
    with pytest.raises(DataError, match="T_obs >= 2"):
        constant_velocity(torch.zeros(4, 1, 2), 12)
    with pytest.raises(ConfigError, match="pred_len"):
        linear_fit(torch.zeros(4, 8, 2), 0)


@pytest.mark.data
def test_baselines_reproduce_published_table(shared_data: Path) -> None:
    root = shared_data / "ethucy"
    if not root.is_dir():
        pytest.skip(f"ETH/UCY not found under {root}")
    got = {}
    for scene, want in PUBLISHED.items():
        w = make_windows(read_split_dir(root / scene / "test"))
        obs, fut = torch.from_numpy(w.obs).double(), torch.from_numpy(w.fut).double()
        cv, lin = constant_velocity(obs, 12), linear_fit(obs, 12)
        got[scene] = (ade(cv, fut).item(), fde(cv, fut).item(),
                      ade(lin, fut).item(), fde(lin, fut).item())
        assert got[scene] == pytest.approx(want, abs=0.002), scene
    mean = [sum(v[i] for v in got.values()) / len(got) for i in range(4)]
    assert mean == pytest.approx([0.534, 1.148, 0.648, 1.273], abs=0.002)
