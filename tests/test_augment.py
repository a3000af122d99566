import math

import torch

from motionseq.data.augment import RotateCollate, rotate_windows


def test_rotation_about_last_observed_point_keeps_shape_of_path():
    obs = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]])
    fut = torch.tensor([[[3.0, 0.0], [4.0, 1.0]]])
    g = torch.Generator().manual_seed(0)
    out = rotate_windows({"obs": obs, "fut": fut}, g)
    torch.testing.assert_close(out["obs"][:, -1], obs[:, -1])  # pivot stays
    both, rot = torch.cat([obs, fut], 1), torch.cat([out["obs"], out["fut"]], 1)
    torch.testing.assert_close(torch.cdist(both, both), torch.cdist(rot, rot), atol=1e-5, rtol=0)
    assert not torch.allclose(out["fut"], fut)  # it did rotate
    assert torch.equal(obs, torch.tensor([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]]))  # input kept


def test_quarter_turn_by_hand():
    obs = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]])
    fut = torch.tensor([[[2.0, 0.0]]])
    g = torch.Generator().manual_seed(0)
    theta = (torch.rand(1, generator=torch.Generator().manual_seed(0)) * 2 - 1) * (math.pi / 2)
    out = rotate_windows({"obs": obs, "fut": fut}, g, max_angle=math.pi / 2)
    expect = torch.tensor([1.0 + math.cos(theta.item()), math.sin(theta.item())])
    torch.testing.assert_close(out["fut"][0, 0], expect, atol=1e-6, rtol=0)


def test_collate_is_seeded():
    items = [{"obs": torch.randn(8, 2), "fut": torch.randn(12, 2)} for _ in range(4)]
    a, b = RotateCollate(seed=3)(items), RotateCollate(seed=3)(items)
    torch.testing.assert_close(a["fut"], b["fut"])


def test_collate_workers_draw_different_angles():
    from torch.utils.data import DataLoader

    window = {"obs": torch.randn(8, 2), "fut": torch.randn(12, 2)}

    def run() -> list[torch.Tensor]:
        torch.manual_seed(0)  # the DataLoader draws the workers' base seed from here
        loader = DataLoader([window] * 4, batch_size=1, num_workers=2,
                            collate_fn=RotateCollate(seed=3))
        return [b["fut"] for b in loader]

    futs = run()
    assert not torch.allclose(futs[0], futs[1])  # first batch of worker 0 and of worker 1
    assert all(torch.equal(a, b) for a, b in zip(futs, run(), strict=True))
