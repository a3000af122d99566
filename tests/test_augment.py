"""Rotation of training trajectory windows: about the last observed point, and drawn from
``(seed, epoch, window)`` only, so it is the same in any worker and after a resume."""

import math

import torch
from torch.utils.data import DataLoader

from motionseq.data.augment import RotatedWindows, reverse_window, rotate_window
from motionseq.data.datasets import EpochSampler, WindowDataset


def test_rotation_about_last_observed_point_keeps_shape_of_path():
    obs = torch.randn(8, 2)
    fut = torch.randn(12, 2)
    r_obs, r_fut = rotate_window(obs, fut, 1.0)
    torch.testing.assert_close(r_obs[-1], obs[-1])  # the pivot stays put
    d = lambda a, b: (a - b).norm(dim=-1)  # noqa: E731
    torch.testing.assert_close(d(r_fut, r_obs[-1:]), d(fut, obs[-1:]))  # distances kept
    assert not torch.allclose(r_fut, fut)  # it did rotate


def test_quarter_turn_by_hand():
    obs = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    fut = torch.tensor([[2.0, 0.0]])
    _, r_fut = rotate_window(obs, fut, math.pi / 2)
    torch.testing.assert_close(r_fut[0], torch.tensor([1.0, 1.0]), atol=1e-6, rtol=0)


def _windows(n: int = 6) -> WindowDataset:
    g = torch.Generator().manual_seed(0)
    return WindowDataset(torch.randn(n, 8, 2, generator=g).numpy(),
                         torch.randn(n, 12, 2, generator=g).numpy())


def test_angles_depend_on_seed_epoch_and_window_only():
    a, b = RotatedWindows(_windows(), seed=3), RotatedWindows(_windows(), seed=3)
    for key in [(0, 0), (4, 0), (4, 7)]:
        torch.testing.assert_close(a[key]["fut"], b[key]["fut"])
    assert not torch.allclose(a[(4, 0)]["fut"], a[(4, 1)]["fut"])  # a new epoch, new angles
    other = RotatedWindows(_windows(), seed=4)
    assert not torch.allclose(a[(4, 0)]["fut"], other[(4, 0)]["fut"])


def test_a_resumed_epoch_and_workers_see_the_same_rotations():
    data = RotatedWindows(_windows(10), seed=1)

    def batches(skip: int = 0, workers: int = 0) -> list[torch.Tensor]:
        sampler = EpochSampler(len(data), 2, shuffle=True, seed=5, keys=True)
        sampler.set_epoch(3)
        sampler.skip = skip
        loader = DataLoader(data, batch_size=2, sampler=sampler, num_workers=workers)
        return [b["fut"] for b in loader]

    full = batches()
    assert all(torch.equal(x, y) for x, y in zip(full, batches(workers=2), strict=True))
    resumed = batches(skip=4)  # two batches of the epoch already trained
    assert all(torch.equal(x, y) for x, y in zip(full[2:], resumed, strict=True))


def test_flip_and_jitter_are_drawn_like_the_angles_and_leave_the_future_as_recorded():
    plain = _windows()
    a = RotatedWindows(_windows(), seed=3, max_angle=0.0, flip=True, jitter=0.05)
    b = RotatedWindows(_windows(), seed=3, max_angle=0.0, flip=True, jitter=0.05)
    flips = a.flips(0)
    assert 0 < flips.sum() < len(flips)  # some mirrored, some not
    for i in range(len(plain)):
        item, ref = a[(i, 0)], plain[i]
        torch.testing.assert_close(item["obs"], b[(i, 0)]["obs"])  # same draws
        if not flips[i]:  # no turn, no mirror: the future is the recorded one
            torch.testing.assert_close(item["fut"], ref["fut"])
        wobble = (item["obs"] - ref["obs"]).norm(dim=-1).mean() if not flips[i] else None
        if wobble is not None:
            assert 0.01 < wobble < 0.2  # the observed points moved by about the jitter
    assert not torch.allclose(a[(0, 0)]["obs"], a[(0, 1)]["obs"])  # new epoch, new noise


def test_reversed_windows_run_the_whole_path_backwards():
    obs = torch.arange(16.0).view(8, 2)
    fut = 100 + torch.arange(24.0).view(12, 2)
    back = reverse_window(obs, fut)
    assert back["obs"].shape == obs.shape and back["fut"].shape == fut.shape
    torch.testing.assert_close(torch.cat([back["obs"], back["fut"]]),
                               torch.cat([obs, fut]).flip(0))
    # a scene window: every agent backwards over the same time steps
    scene = reverse_window(torch.stack([obs, -obs]), torch.stack([fut, -fut]))
    torch.testing.assert_close(scene["obs"][1], -back["obs"])
    torch.testing.assert_close(scene["fut"][0], back["fut"])


def test_half_the_items_are_reversed_and_the_others_untouched():
    plain = _windows(20)
    data = RotatedWindows(_windows(20), seed=3, max_angle=0.0, reverse=True)
    rev = data.reversals(0)
    assert 0 < rev.sum() < len(rev)
    assert not torch.equal(torch.from_numpy(rev), torch.from_numpy(data.reversals(1)))
    for i in range(len(plain)):
        want = reverse_window(plain[i]["obs"], plain[i]["fut"]) if rev[i] else plain[i]
        torch.testing.assert_close(data[(i, 0)]["obs"], want["obs"])
        torch.testing.assert_close(data[(i, 0)]["fut"], want["fut"])
    assert not RotatedWindows(_windows(20), seed=3).reversals(0).any()  # off by default
