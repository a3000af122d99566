"""Shapes of every cell type, the Keras cases this project grew from, and that padding
never changes a result."""

import math

import numpy as np
import pytest
import torch

from motionseq.data.datasets import pad_collate
from motionseq.errors import ConfigError
from motionseq.models.forecast import Forecaster
from motionseq.models.heads import ClassificationHead
from motionseq.models.rnn import SequenceEncoder


def test_keras_simple_rnn_return_sequences_shape_and_params():
    # Keras: SimpleRNN(3, return_sequences=True) on (8, 2, 10) -> (8, 2, 3), 42 parameters
    # (10*3 kernel + 3*3 recurrent + 3 bias). PyTorch keeps two bias vectors (b_ih, b_hh),
    # so the same layer has 45.
    enc = SequenceEncoder(10, hidden=3, cell="rnn")
    out, summary = enc(torch.randn(8, 2, 10))
    assert out.shape == (8, 2, 3) and summary.shape == (8, 3)
    n = sum(p.numel() for p in enc.parameters())
    assert n == 45 == 42 + 3


def test_keras_many_to_one_shape():
    # Keras: (32, 10, 8) into SimpleRNN(4) -> (32, 4)
    _, summary = SequenceEncoder(8, hidden=4, cell="rnn")(torch.randn(32, 10, 8))
    assert summary.shape == (32, 4)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_padding_does_not_change_results(cell, bidirectional, pooling):
    torch.manual_seed(0)
    enc = SequenceEncoder(5, hidden=7, layers=2, cell=cell, bidirectional=bidirectional,
                          pooling=pooling).eval()
    seqs = [torch.randn(t, 5) for t in (9, 3, 6, 1)]
    batch = pad_collate([{"x": s, "y": torch.tensor(0)} for s in seqs])
    out, summary = enc(batch["x"], batch["lengths"])
    d = 14 if bidirectional else 7
    assert out.shape == (4, 9, d) and summary.shape == (4, d)
    for i, s in enumerate(seqs):
        o1, s1 = enc(s[None])
        torch.testing.assert_close(summary[i], s1[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(out[i, : len(s)], o1[0], atol=1e-6, rtol=1e-5)
        assert (out[i, len(s):] == 0).all()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_padding_does_not_change_gradients(cell, pooling):
    """Training on a padded batch gives the weights the gradient of its sequences read
    alone (a one-directional encoder runs over the padding, which must not count)."""
    torch.manual_seed(0)
    enc = SequenceEncoder(5, hidden=7, layers=2, cell=cell, pooling=pooling)
    seqs = [torch.randn(t, 5) for t in (9, 3, 6, 1)]
    batch = pad_collate([{"x": s, "y": torch.tensor(0)} for s in seqs])
    batch["x"][1, 3:] = 100.0  # whatever the padding holds
    enc(batch["x"], batch["lengths"])[1].pow(2).sum().backward()
    together = [p.grad.clone() for p in enc.parameters()]
    enc.zero_grad()
    for s in seqs:
        enc(s[None])[1].pow(2).sum().backward()
    for a, b in zip(together, (p.grad for p in enc.parameters()), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_last_pooling_reads_last_valid_step_not_padding():
    enc = SequenceEncoder(3, hidden=4, cell="gru").eval()
    x = torch.randn(1, 5, 3)
    padded = torch.cat([x, torch.full((1, 4, 3), 100.0)], dim=1)
    _, a = enc(x)
    _, b = enc(padded, torch.tensor([5]))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_streaming_step_matches_full_sequence(cell):
    enc = SequenceEncoder(6, hidden=8, cell=cell).eval()
    x = torch.randn(2, 7, 6)
    _, full = enc(x)
    state = None
    for t in range(7):
        step_out, state = enc.step(x[:, t], state)
    torch.testing.assert_close(step_out, full, atol=1e-6, rtol=1e-5)
    with pytest.raises(ConfigError):
        SequenceEncoder(6, 8, bidirectional=True).step(x[:, 0])


def test_classification_head_and_config_errors():
    assert ClassificationHead(16, 6, hidden=32, dropout=0.1)(torch.randn(4, 16)).shape == (4, 6)
    with pytest.raises(ConfigError, match="unknown cell 'transformer'"):
        SequenceEncoder(3, cell="transformer")
    with pytest.raises(ConfigError, match="pooling"):
        SequenceEncoder(3, pooling="median")


@pytest.mark.parametrize("decoder", ["recurrent", "direct"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forecaster_shapes_and_constant_velocity_start(decoder, cell):
    net = Forecaster(pred_len=12, decoder=decoder, cell=cell, hidden=16)
    obs = torch.cumsum(torch.randn(5, 8, 2), dim=1)
    pos, disp = net(obs, scale=0.5)
    assert pos.shape == disp.shape == (5, 12, 2)
    # positions are the last observation plus the cumulated displacements
    torch.testing.assert_close(pos[:, 0], obs[:, -1] + disp[:, 0] * 0.5)
    with pytest.raises(ConfigError):
        Forecaster(12, decoder="transformer")
    with pytest.raises(ConfigError, match="frame"):
        Forecaster(12, frame="polar")


@pytest.mark.parametrize("decoder", ["recurrent", "direct"])
def test_heading_frame_makes_forecasts_rotation_equivariant(decoder):
    torch.manual_seed(0)
    obs = torch.cumsum(torch.randn(6, 8, 2) * 0.3 + torch.tensor([0.4, 0.1]), dim=1)
    a = 0.9
    rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shift = torch.tensor([3.0, -2.0])
    results = {}
    for frame in ("heading", "world"):
        net = Forecaster(12, decoder=decoder, hidden=16, frame=frame).eval()
        with torch.no_grad():
            pred = net(obs, 0.5)[0]
            pred_rot = net(obs @ rot.T + shift, 0.5)[0]
        results[frame] = (pred_rot - (pred @ rot.T + shift)).abs().max().item()
    assert results["heading"] < 1e-4
    assert results["world"] > 1e-3  # the raw-axes network does see the rotation


def test_heading_frame_keeps_identity_for_a_standing_agent():
    obs = torch.zeros(2, 8, 2)
    pos, _ = Forecaster(12, hidden=8).eval()(obs, 0.5)
    assert torch.isfinite(pos).all()


def test_speed_norm_makes_forecasts_scale_with_the_path():
    torch.manual_seed(1)
    obs = torch.cumsum(torch.randn(4, 8, 2) * 0.2 + torch.tensor([0.5, 0.0]), dim=1)
    k = 1.7  # e.g. a recording with a 1.7x longer time step
    net = Forecaster(12, hidden=16, speed_norm=True).eval()
    with torch.no_grad():
        pred = net(obs, 0.5)[0]
        pred_fast = net(obs[:, -1:] + k * (obs - obs[:, -1:]), 0.5)[0]
    expected = obs[:, -1:] + k * (pred - obs[:, -1:])
    torch.testing.assert_close(pred_fast, expected, rtol=1e-4, atol=1e-4)


def test_speed_input_lets_the_network_tell_fast_from_slow_paths():
    """speed_norm alone forecasts a path and its 1.7x faster copy as scaled copies of each
    other; with speed_input the encoder also reads the speed, so they may differ (and do,
    for random weights), while a path of the same speed still gets the same forecast."""
    torch.manual_seed(1)
    obs = torch.cumsum(torch.randn(4, 8, 2) * 0.2 + torch.tensor([0.5, 0.0]), dim=1)
    k = 1.7
    fast = obs[:, -1:] + k * (obs - obs[:, -1:])
    net = Forecaster(12, hidden=16, speed_norm=True, speed_input=True).eval()
    assert net.encoder.rnn.input_size == 5
    with torch.no_grad():
        pred, pred_fast = net(obs, 0.5)[0], net(fast, 0.5)[0]
        moved = net(obs + torch.tensor([3.0, -2.0]), 0.5)[0]
    scaled = obs[:, -1:] + k * (pred - obs[:, -1:])
    assert (pred_fast - scaled).abs().max() > 1e-3
    torch.testing.assert_close(moved, pred + torch.tensor([3.0, -2.0]), rtol=1e-4, atol=1e-4)


def test_forecaster_loss_choice_is_checked():
    from motionseq.modules.forecaster import TrajectoryForecaster

    with pytest.raises(ConfigError, match="displacement or position"):
        TrajectoryForecaster(loss="huber")
    module = TrajectoryForecaster(loss="position", hidden=8)
    obs = torch.cumsum(torch.ones(3, 8, 2) * 0.3, dim=1)
    fut = obs[:, -1:] + torch.arange(1, 13)[None, :, None] * 0.3
    loss = module._shared_step({"obs": obs, "fut": fut}, "train")
    pred = module(obs)
    expected = (pred - fut).norm(dim=-1).mean()  # scale is 1 until set_normalizer
    torch.testing.assert_close(loss, expected, rtol=1e-3, atol=1e-3)


# ---------------------------------------------------------- conv front end, attention pooling


CONV_FRONTS = {
    "layer-norm": dict(conv_channels=8, conv_kernel=3, conv_layers=2),
    # FCN style: per-layer widths and kernels, batch norm over the valid steps
    "batch-norm": dict(conv_channels=[8, 12, 8], conv_kernel=[7, 5, 3], conv_layers=3,
                       conv_norm="batch"),
}


@pytest.mark.parametrize("front", list(CONV_FRONTS))
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["attention", "mean", "last"])
def test_conv_front_end_and_attention_shapes_and_padding(cell, pooling, front):
    torch.manual_seed(0)
    enc = SequenceEncoder(5, hidden=6, layers=2, cell=cell, bidirectional=True, pooling=pooling,
                          **CONV_FRONTS[front])
    seqs = [torch.randn(t, 5) for t in (9, 3, 6, 1)]
    batch = pad_collate([{"x": s, "y": torch.tensor(0)} for s in seqs])
    x = batch["x"].clone()
    for i, s in enumerate(seqs):  # garbage in the padding must not leak into any result
        x[i, len(s):] = 1e3
    enc.train()
    enc(x, batch["lengths"])  # a training step moves batch norm's running statistics off 0 / 1
    enc.eval()
    out, summary = enc(x, batch["lengths"])
    assert out.shape == (4, 9, 12) and summary.shape == (4, 12)
    for i, s in enumerate(seqs):
        o1, s1 = enc(s[None])
        torch.testing.assert_close(summary[i], s1[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(out[i, : len(s)], o1[0], atol=1e-5, rtol=1e-4)
        assert (out[i, len(s):] == 0).all()


def test_attention_pooling_is_a_convex_combination_of_valid_steps():
    from motionseq.models.rnn import AttentionPool

    pool = AttentionPool(4, hidden=8)
    out = torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    z = pool(out, mask)
    assert z.shape == (2, 4)
    # a single valid step is returned as it is; padded steps get no weight
    torch.testing.assert_close(pool(out[:, :1]), out[:, 0])
    lo = out[1, :2].min(dim=0).values - 1e-6
    hi = out[1, :2].max(dim=0).values + 1e-6
    assert ((z[1] >= lo) & (z[1] <= hi)).all()
    changed = out.clone()
    changed[1, 2:] = 50.0
    torch.testing.assert_close(pool(changed, mask)[1], z[1])


def test_conv_front_end_config_errors_and_no_streaming():
    from motionseq.models.rnn import TemporalConv

    with pytest.raises(ConfigError, match="odd"):
        TemporalConv(3, 8, kernel=4)
    with pytest.raises(ConfigError, match="channels"):
        TemporalConv(3, 0)
    enc = SequenceEncoder(3, hidden=4, cell="gru", conv_channels=4)
    with pytest.raises(ConfigError, match="conv"):
        enc.step(torch.randn(2, 3))
    # without a front end the encoder is exactly what it was (same parameter names)
    names = {n for n, _ in SequenceEncoder(3, hidden=4).named_parameters()}
    assert all(n.startswith("rnn.") for n in names)


def test_classifier_defaults_unchanged_and_new_model_round_trips_a_checkpoint(tmp_path):
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    from motionseq.data.datasets import SequenceDataset
    from motionseq.modules.checkpoint import module_from_checkpoint
    from motionseq.modules.classifier import ActionClassifier

    plain = ActionClassifier(6, ["a", "b", "c"])
    assert plain.encoder.conv is None and plain.encoder.attention is None
    assert set(plain.state_dict()) == {
        "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0", "encoder.rnn.bias_ih_l0",
        "encoder.rnn.bias_hh_l0", "head.net.0.weight", "head.net.0.bias", "feat_mean",
        "feat_std"}

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(int(t), 6)).astype(np.float32) for t in rng.integers(3, 12, 24)]
    labels = [i % 3 for i in range(24)]
    loader = DataLoader(SequenceDataset(feats, labels), batch_size=8, collate_fn=pad_collate)
    module = ActionClassifier(6, ["a", "b", "c"], cell="gru", hidden=8, layers=2,
                              bidirectional=True, pooling="attention", conv_channels=8,
                              conv_kernel=3, label_smoothing=0.1)
    module.set_normalizer(np.full(6, 0.5, np.float32), np.full(6, 2.0, np.float32))
    trainer = pl.Trainer(max_steps=3, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0)
    trainer.fit(module, loader)
    path = tmp_path / "clf.ckpt"
    trainer.save_checkpoint(path)
    loaded = module_from_checkpoint(path)
    assert isinstance(loaded, ActionClassifier)
    assert loaded.hparams.conv_channels == 8 and loaded.hparams.pooling == "attention"
    batch = next(iter(loader))
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch["x"], batch["lengths"]),
                                   module(batch["x"], batch["lengths"]))
