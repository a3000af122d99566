"""The batch-norm conv front end (``conv_norm: batch``) and per-layer conv widths/kernels
(padded batch = one by one: ``test_models.test_conv_front_end_and_attention_shapes_and_padding``)."""

from __future__ import annotations

import pytest
import torch

from motionseq.data.datasets import pad_collate
from motionseq.errors import ConfigError
from motionseq.models.rnn import MaskedBatchNorm, TemporalConv


def _padded(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    batch = pad_collate([{"x": s, "y": torch.tensor(0)} for s in seqs])
    x = batch["x"].clone()
    for i, s in enumerate(seqs):  # garbage in the padding must not leak into any result
        x[i, len(s):] = 1e3
    return x, batch["lengths"]


def test_masked_batch_norm_training_statistics_skip_padding():
    torch.manual_seed(0)
    seqs = [torch.randn(t, 4) for t in (7, 2, 5)]
    x, lengths = _padded(seqs)
    mask = torch.arange(x.shape[1])[None] < lengths[:, None]
    bn = MaskedBatchNorm(4).train()
    y = bn(x, mask)
    flat = torch.cat(seqs)  # the valid steps alone
    ref = torch.nn.BatchNorm1d(4).train()
    torch.testing.assert_close(y[mask], ref(flat), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.running_mean, ref.running_mean)
    torch.testing.assert_close(bn.running_var, ref.running_var)
    # more padding changes nothing
    longer = torch.cat([x, torch.full((3, 4, 4), -7.0)], dim=1)
    mask2 = torch.arange(longer.shape[1])[None] < lengths[:, None]
    torch.testing.assert_close(MaskedBatchNorm(4).train()(longer, mask2)[mask2], y[mask])


def test_per_layer_lists_and_config_errors():
    conv = TemporalConv(3, [16, 32, 8], [7, 5, 3], layers=3, norm="batch")
    assert conv.out_dim == 8 and [c.kernel_size[0] for c in conv.convs] == [7, 5, 3]
    assert conv(torch.randn(2, 11, 3)).shape == (2, 11, 8)
    with pytest.raises(ConfigError, match="one value per conv layer"):
        TemporalConv(3, [16, 32], 5, layers=3)
    with pytest.raises(ConfigError, match="odd"):
        TemporalConv(3, 8, [7, 4], layers=2)
    with pytest.raises(ConfigError, match="conv norm"):
        TemporalConv(3, 8, norm="group")
    # the default is the per-step LayerNorm front end it always was
    assert isinstance(TemporalConv(3, 8).norms[0], torch.nn.LayerNorm)
