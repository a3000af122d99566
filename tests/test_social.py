"""The social forecasters and scene-centric batches: what an agent sees of its neighbours."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionseq.data.augment import rotate_window
from motionseq.data.datasets import SceneWindowDataset, scene_collate
from motionseq.data.trajectories import make_windows
from motionseq.models.social import neighbour_pairs
from motionseq.modules.forecaster import TrajectoryForecaster
from motionseq.modules.multimodal import MultimodalForecaster
from motionseq.sequence import Tracks
from motionseq.tasks.ethucy import group_chunks, predict


def _trained_like(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere, the social output projection included (it starts at zero,
    which would make every test below pass for a model that ignores its neighbours)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


def _scene(n: int, seed: int) -> torch.Tensor:
    """``n`` walkers near each other, 8 observed steps of about 0.4 m: ``[n, 8, 2]``."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(n, 1, 2, generator=g) * 2.0
    vel = torch.randn(n, 1, 2, generator=g) * 0.3
    return start + vel * torch.arange(8.0)[None, :, None] + 0.02 * torch.randn(n, 8, 2, generator=g)


MODELS = {
    "deterministic": lambda: TrajectoryForecaster(8, 12, 0.4, hidden=16, social=True),
    "ensemble": lambda: TrajectoryForecaster(8, 12, 0.4, hidden=16, social=True, members=2),
    "mirrored": lambda: TrajectoryForecaster(8, 12, 0.4, hidden=16, social=True,
                                             mirror_average=True),
    "cvae": lambda: MultimodalForecaster(8, 12, 0.4, hidden=16, latent=4, social=True),
}


@pytest.fixture(params=sorted(MODELS))
def model(request) -> torch.nn.Module:
    return _trained_like(MODELS[request.param]())


def test_neighbours_change_the_forecast(model):
    obs = _scene(4, 0)
    alone = model(obs)  # no group: every agent alone
    together = model(obs, torch.zeros(4, dtype=torch.long))
    assert not torch.allclose(alone, together, atol=1e-4)


def test_prediction_does_not_depend_on_the_order_of_neighbours(model):
    obs = _scene(5, 1)
    group = torch.zeros(5, dtype=torch.long)
    perm = torch.tensor([3, 0, 4, 2, 1])
    ref = model(obs, group)
    shuffled = model(obs[perm], group)
    torch.testing.assert_close(shuffled, ref[perm], atol=1e-5, rtol=1e-5)


def test_an_agent_alone_in_its_window_gets_the_single_agent_path(model):
    lone = _scene(1, 2)
    crowd = _scene(4, 3)
    # the lone walker batched with another window's agents, before and after them
    obs = torch.cat([crowd, lone, crowd])
    group = torch.tensor([0, 0, 0, 0, 1, 2, 2, 2, 2])
    single = model(lone)  # no neighbours at all
    torch.testing.assert_close(model(obs, group)[4:5], single, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(lone, torch.zeros(1, dtype=torch.long)), single)


def test_other_windows_of_the_batch_change_nothing(model):
    a, b = _scene(3, 4), _scene(6, 5)
    both = model(torch.cat([a, b]), torch.tensor([0] * 3 + [1] * 6))
    torch.testing.assert_close(both[:3], model(a, torch.zeros(3, dtype=torch.long)),
                               atol=1e-5, rtol=1e-5)


def test_padded_agents_change_nothing(model):
    obs = _scene(3, 6)
    group = torch.zeros(3, dtype=torch.long)
    ref = model(obs, group)
    # padded to 5 rows with junk agents marked invalid, as a padded [G, N] batch flattens
    pad = torch.cat([obs, _scene(2, 7) * 0.1])
    valid = torch.tensor([True, True, True, False, False])
    out = model(pad, torch.zeros(5, dtype=torch.long), valid)
    torch.testing.assert_close(out[:3], ref, atol=1e-5, rtol=1e-5)


FLIP = torch.tensor([1.0, -1.0])


def _mirror_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    """The same random weights without and with ``mirror_average``."""
    plain = _trained_like(MODELS["deterministic"]())
    mirrored = _trained_like(MODELS["mirrored"]())
    mirrored.load_state_dict(plain.state_dict())
    return plain, mirrored


def test_the_mirror_average_is_the_mean_of_the_scene_and_its_mirror_image():
    plain, mirrored = _mirror_pair()
    obs, group = torch.cat([_scene(4, 8), _scene(3, 9)]), torch.tensor([5] * 4 + [2] * 3)
    expected = (plain(obs, group) + plain(obs * FLIP, group) * FLIP) / 2
    torch.testing.assert_close(mirrored(obs, group), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mirrored(obs[:1]), (plain(obs[:1]) + plain(obs[:1] * FLIP) * FLIP)
                               / 2, atol=1e-5, rtol=1e-5)


def test_the_mirror_average_forecast_is_exactly_mirror_symmetric():
    plain, mirrored = _mirror_pair()
    obs, group = _scene(5, 10), torch.zeros(5, dtype=torch.long)
    # random weights are not symmetric by themselves; the average is
    assert not torch.allclose(plain(obs * FLIP, group) * FLIP, plain(obs, group), atol=1e-3)
    torch.testing.assert_close(mirrored(obs * FLIP, group) * FLIP, mirrored(obs, group),
                               atol=1e-5, rtol=1e-5)


def test_training_forecasts_one_copy_only():
    plain, mirrored = _mirror_pair()
    obs, group = _scene(4, 11), torch.zeros(4, dtype=torch.long)
    torch.testing.assert_close(mirrored.train()(obs, group), plain.train()(obs, group))
    assert mirrored.net(_scene(0, 12), mirrored.scale)[0].shape == (0, 12, 2)


def test_samples_see_the_neighbours_and_keep_them_apart():
    model = _trained_like(MODELS["cvae"]())
    obs = _scene(3, 8)
    g = torch.zeros(3, dtype=torch.long)
    s1 = model.sample(obs, 5, generator=torch.Generator().manual_seed(0), group=g)
    s0 = model.sample(obs, 5, generator=torch.Generator().manual_seed(0))
    assert s1.shape == (3, 5, 12, 2)
    assert not torch.allclose(s0, s1, atol=1e-4)


def test_a_new_social_model_starts_as_the_single_agent_one():
    model = TrajectoryForecaster(8, 12, 0.4, hidden=16, social=True).eval()
    obs = _scene(4, 9)
    torch.testing.assert_close(model(obs, torch.zeros(4, dtype=torch.long)), model(obs))


def test_neighbour_pairs_are_every_other_valid_member_of_the_group():
    group = torch.tensor([2, 0, 2, 1, 2, 0])
    valid = torch.tensor([True, True, True, True, False, True])
    i, j = neighbour_pairs(group, valid)
    got = sorted(zip(i.tolist(), j.tolist(), strict=True))
    want = sorted((a, b) for a in range(6) for b in range(6)
                  if a != b and group[a] == group[b] and valid[b])
    assert got == want


def _tracks() -> Tracks:
    """Three walkers over 30 frames, one of them leaving after 22 frames."""
    rows = []
    for agent, (x0, vx, n) in enumerate([(0.0, 0.4, 30), (1.0, 0.3, 30), (5.0, -0.4, 22)]):
        for t in range(n):
            rows.append((10 * t, agent, x0 + vx * t, 0.1 * agent))
    a = np.array(rows, dtype=np.float64)
    return Tracks(frame=a[:, 0].astype(np.int64), agent=a[:, 1].astype(np.int64), xy=a[:, 2:],
                  dt=0.4)


def test_scene_windows_hold_every_agent_present_throughout():
    w = make_windows(_tracks(), 8, 12)
    ds = SceneWindowDataset(w.obs, w.fut, w.groups())
    assert len(ds) == 11  # windows starting at steps 0..10
    sizes = [len(ds[k]["obs"]) for k in range(len(ds))]
    assert sizes == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2]  # the third walker: 22 frames
    assert ds.agents == len(w) == sum(sizes)
    batch = scene_collate([ds[0], ds[5]])
    assert batch["obs"].shape == (5, 8, 2) and batch["fut"].shape == (5, 12, 2)
    assert batch["group"].tolist() == [0, 0, 0, 1, 1]


def test_scene_rotation_keeps_the_agents_places_relative_to_each_other():
    item = SceneWindowDataset(*_arrays())[0]
    obs, fut = rotate_window(item["obs"], item["fut"], 0.7, flip=True)
    d0 = torch.cdist(item["obs"][:, -1], item["obs"][:, -1])
    d1 = torch.cdist(obs[:, -1], obs[:, -1])
    torch.testing.assert_close(d0, d1, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(obs, item["obs"])


def _arrays():
    w = make_windows(_tracks(), 8, 12)
    return w.obs, w.fut, w.groups()


def test_evaluation_chunks_never_split_a_window():
    group = np.repeat(np.arange(6), [3, 1, 5, 2, 2, 1])
    chunks = group_chunks(group, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 9), (9, 13), (13, 14)]
    model = _trained_like(MODELS["deterministic"]())
    obs = np.concatenate([_scene(int(n), k).numpy() for k, n in
                          enumerate(np.bincount(group))])
    whole = predict(model, obs, group, batch_size=100)
    np.testing.assert_allclose(predict(model, obs, group, batch_size=4), whole, atol=1e-5)


def test_a_social_model_without_scene_batches_says_how_to_fix_it():
    from motionseq.errors import ConfigError

    for module in (MODELS["deterministic"](), MODELS["cvae"]()):
        batch = {"obs": _scene(2, 10), "fut": _scene(2, 11)[:, :4].repeat(1, 3, 1)}
        with pytest.raises(ConfigError, match="data.scenes=true"):
            module._shared_step(batch, "train")


def test_video_forecasts_give_a_social_model_everyone_tracked_at_that_moment():
    from motionseq.live.track_forecast import VideoWindows, forecast_windows

    model = _trained_like(MODELS["deterministic"]())
    obs = torch.cat([_scene(3, 12), _scene(2, 13)])
    # three people whose observation ends on video frame 40, two on frame 90
    ends = np.array([40, 40, 40, 90, 90])
    frames = ends[:, None] + 3 * np.arange(-7, 13)[None]
    got = forecast_windows(model, VideoWindows(obs.numpy(), np.arange(5), frames, 3))
    with torch.no_grad():
        want = model(obs, torch.tensor([0, 0, 0, 1, 1]))
        alone = model(obs)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
    assert not np.allclose(got, alone.numpy(), atol=1e-4)
