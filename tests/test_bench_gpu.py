"""The GPU benchmark's code path, run on the CPU: the same training script, sample clock,
DDP run (2 gloo processes through trainer=ddp_sim) and evaluation of the checkpoint."""

from __future__ import annotations

import pytest
import torch

from bench import gpu
from tests.test_train import TINY


def test_gpu_benchmark_records_nothing_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.run() == {}
    assert "no CUDA device" in capsys.readouterr().out


@pytest.mark.slow
def test_gpu_benchmark_steps_run_on_the_cpu():
    m = gpu.measure("cpu", "ddp_sim", steps=12, warmup=3, names=("workouts",),
                    extra=tuple(TINY["workouts"]))["workouts"]
    for run in ("f32", "bf16", "multi"):
        assert m[run]["samples_per_s"] > 0 and m[run]["steps"] >= 4
        assert m[run]["device"] == "cpu"
    assert m["f32"]["precision"] == "32-true" and m["bf16"]["precision"] == "bf16-mixed"
    assert m["f32"]["world_size"] == 1 and m["multi"]["world_size"] == 2
    assert 0.0 <= m["eval_cpu"] <= 1.0 and m["eval_diff"] == 0.0
    assert m["scaling"] > 0 and m["bf16_speedup"] > 0


def test_sample_clock_counts_sequences_and_agents():
    assert gpu._rows({"x": torch.zeros(5, 7, 3), "y": torch.zeros(5)}) == 5
    assert gpu._rows({"obs": torch.zeros(9, 8, 2), "group": torch.zeros(9)}) == 9
