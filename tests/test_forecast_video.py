"""Forecasts from tracked video: windows at the model's step, matching to the truth, and
scores, on synthetic walkers where the right answer is known."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from motionseq.errors import DataError
from motionseq.live.track_forecast import cut_windows, frame_step_for, score_against_truth
from motionseq.models.baselines import constant_velocity
from motionseq.sequence import Tracks


class ConstantVelocity(torch.nn.Module):
    """Stands in for a trained forecaster (same hparams contract)."""

    def __init__(self) -> None:
        super().__init__()
        self.hparams = SimpleNamespace(obs_len=8, pred_len=12, dt=0.4)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return constant_velocity(obs, 12)


def walkers(frames: int = 120, fps: float = 7.0, offset: float = 0.0) -> Tracks:
    """Two people walking straight lines at 1.2 and 0.8 m/s, sampled at ``fps``."""
    t = np.arange(frames) / fps
    a = np.c_[1.2 * t, np.zeros_like(t)] + offset
    b = np.c_[np.zeros_like(t), 5 + 0.8 * t] + offset
    return Tracks(frame=np.r_[np.arange(frames), np.arange(frames)],
                  agent=np.r_[np.ones(frames), 2 * np.ones(frames)], xy=np.r_[a, b],
                  dt=1 / fps, frame_step=1)


def test_frame_step_matches_the_model_time_step():
    assert frame_step_for(1 / 7, 0.4) == 3
    assert frame_step_for(0.4, 0.4) == 1
    with pytest.raises(DataError):
        frame_step_for(0.0, 0.4)


def test_windows_use_every_step_th_frame():
    w = cut_windows(walkers(), obs_len=8, pred_len=12, step=3)
    # each walker: a start frame s needs s + 21 < 120 observed
    assert len(w.obs) == 2 * (120 - 21)
    np.testing.assert_allclose(np.diff(w.obs[0, :, 0]), 1.2 * 3 / 7, rtol=1e-5)
    assert (w.frames[:, 1] - w.frames[:, 0] == 3).all()


def test_scores_against_the_matched_true_person():
    truth = walkers()
    exact = score_against_truth(ConstantVelocity(), truth, truth)
    assert exact["model_ade"] < 1e-5 and exact["cv_fde"] < 1e-5
    # tracks 0.3 m off the truth still match it and are off by that much
    shifted = score_against_truth(ConstantVelocity(), walkers(offset=0.3), truth)
    assert shifted["windows"] == exact["windows"] == 2 * (120 - 57)
    assert shifted["model_ade"] == pytest.approx(0.3 * np.sqrt(2), rel=1e-4)
    with pytest.raises(DataError, match="matches a ground-truth person"):
        score_against_truth(ConstantVelocity(), walkers(offset=5.0), truth)
