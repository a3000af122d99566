"""GPU training: samples per second at ``32-true`` and ``bf16-mixed``, DDP over every visible
GPU, and a GPU checkpoint evaluated on the CPU.

Each run is ``scripts/train.py`` as a user starts it (``trainer=gpu`` or ``trainer=ddp``),
for a fixed number of optimiser steps, with :class:`SampleClock` added through Hydra to time
the training batches of one process (rank 0, CUDA synchronised; intervals that hold a
validation pass or an epoch boundary are left out, and so are the first ``WARMUP`` steps).
Samples are sequences for the classifier and agents for the ETH/UCY forecaster.

Figures (only where ``torch.cuda.is_available()``; without CUDA the benchmark says so and
records nothing):

- ``gpu_train_samples_per_s`` (``experiment=classify_workouts``) and
  ``gpu_train_samples_per_s_ethucy`` (``experiment=forecast_ethucy``, the zara1 split):
  ``trainer=gpu`` at ``32-true``.
- ``gpu_bf16_speedup`` (``_ethucy``): ``bf16-mixed`` samples/s over ``32-true``.
- ``ddp_scaling`` (``_ethucy``): ``trainer=ddp`` over all ``N`` visible devices (the same
  per-device batch), samples/s over ``N`` times one GPU's.
- ``gpu_cpu_eval_diff`` (``_ethucy``): the ``32-true`` checkpoint evaluated by
  ``scripts/eval.py`` with ``trainer=gpu`` and with ``trainer=cpu``: the absolute difference
  of the test metric (``test/acc``, ``test/ade``); the benchmark fails above ``EVAL_TOL``.

``python -m bench.gpu [trainer ...]`` runs the measurement with other trainer configs and
prints it without recording (``python -m bench.gpu cpu ddp_sim`` exercises every step on a
machine without a GPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

ROOT = Path(__file__).resolve().parents[1]
STEPS = 300  # optimiser steps per run
WARMUP = 50  # untimed steps at the start of a run
EVAL_TOL = {"test/acc": 1e-6, "test/ade": 1e-4}


def _rows(batch: Any) -> int:
    """Samples in a batch: sequences (``y``) or agents (the rows of ``obs``)."""
    if isinstance(batch, dict):
        for key in ("y", "obs"):
            if key in batch:
                return int(batch[key].shape[0])
        batch = next(v for v in batch.values() if torch.is_tensor(v))
    return int(batch.shape[0])


class SampleClock(pl.Callback):
    """Times the training batches of a run and writes ``{"samples_per_s", ...}`` (every
    process's samples: one process's count times the world size) to ``out`` on rank 0.

    Marks are taken at the end of each training batch (after a CUDA synchronise); only
    intervals between two batches of the same epoch count, after the first ``warmup``.
    """

    def __init__(self, out: str, warmup: int = WARMUP) -> None:
        self.out, self.warmup = Path(out), int(warmup)
        self.marks: list[tuple[int, float, int]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        self.marks.append((trainer.current_epoch, time.perf_counter(), _rows(batch)))

    def on_train_end(self, trainer, pl_module) -> None:
        seconds, samples, steps = 0.0, 0, 0
        for k in range(max(1, self.warmup), len(self.marks)):
            (e0, t0, _), (e1, t1, n) = self.marks[k - 1], self.marks[k]
            if e0 == e1:
                seconds, samples, steps = seconds + t1 - t0, samples + n, steps + 1
        if not trainer.is_global_zero:
            return
        if steps == 0:
            raise RuntimeError(f"no timed steps: the run took {len(self.marks)} steps, "
                               f"{self.warmup} of them warm-up")
        device = pl_module.device
        info = {"samples_per_s": samples * trainer.world_size / seconds, "steps": steps,
                "seconds": seconds, "world_size": trainer.world_size,
                "precision": str(trainer.precision),
                "device": torch.cuda.get_device_name(device) if device.type == "cuda"
                else "cpu"}
        self.out.write_text(json.dumps(info, indent=1))


def _eth_root() -> Path:
    from bench.ethucy import data_root

    return data_root()


def experiment(name: str) -> tuple[str, tuple[str, ...], str]:
    """``workouts`` or ``ethucy`` → (experiment, overrides, test metric)."""
    if name == "workouts":
        return "classify_workouts", (), "test/acc"
    if name == "ethucy":
        return "forecast_ethucy", ("data.scene=zara1", f"data.source.root={_eth_root()}"), \
            "test/ade"
    raise ValueError(f"unknown experiment {name!r}; choose workouts or ethucy")


def _script(script: str, args: list[str], what: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({script} {' '.join(args)}):\n{proc.stderr[-3000:]}")


def train_run(out: Path, exp: str, overrides: tuple[str, ...], trainer: str,
              precision: str, steps: int = STEPS, warmup: int = WARMUP,
              devices: int | None = None) -> dict[str, Any]:
    """One timed training run in ``out``: the clock's figures plus ``checkpoint``."""
    args = [f"experiment={exp}", *overrides, f"trainer={trainer}",
            f"trainer.precision={precision}", f"trainer.max_steps={steps}",
            "trainer.max_epochs=-1", "logger=csv", "callbacks.early_stopping=null",
            f"hydra.run.dir={out}", "+callbacks.sample_clock._target_=bench.gpu.SampleClock",
            f"+callbacks.sample_clock.out={out / 'samples.json'}",
            f"+callbacks.sample_clock.warmup={warmup}"]
    if devices is not None:
        args.append(f"trainer.devices={devices}")
    _script("train.py", args, f"training {exp} with trainer={trainer} ({precision})")
    info = json.loads((out / "samples.json").read_text())
    ckpts = sorted((out / "checkpoints").glob("epoch_*.ckpt"))
    info["checkpoint"] = str(ckpts[-1]) if ckpts else None
    return info


def evaluate(ckpt: str, trainer: str, out: Path, metric: str) -> float:
    """The checkpoint's test metric from ``scripts/eval.py`` with ``trainer=...``."""
    _script("eval.py", [f"ckpt_path={ckpt}", f"trainer={trainer}", f"hydra.run.dir={out}"],
            f"evaluating {ckpt} with trainer={trainer}")
    return float(json.loads((out / "metrics.json").read_text())[metric])


def measure(single: str = "gpu", multi: str = "ddp", devices: int | None = None,
            steps: int = STEPS, warmup: int = WARMUP,
            names: tuple[str, ...] = ("workouts", "ethucy"),
            extra: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Per experiment: samples/s at 32-true and bf16-mixed with ``trainer=single``, with
    ``trainer=multi`` over ``devices`` (its config's count when None), and the 32-true
    checkpoint's test metric evaluated with ``trainer=single`` and ``trainer=cpu``;
    ``extra``: more overrides for every training run (e.g. smaller data)."""
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        for name in names:
            experiment_name, overrides, metric = experiment(name)
            overrides = (*overrides, *extra)
            folder = Path(tmp) / name
            f32 = train_run(folder / "f32", experiment_name, overrides, single, "32-true", steps,
                            warmup)
            bf16 = train_run(folder / "bf16", experiment_name, overrides, single, "bf16-mixed",
                             steps, warmup)
            multi_run = train_run(folder / "multi", experiment_name, overrides, multi, "32-true",
                                  steps, warmup, devices)
            on_single = evaluate(f32["checkpoint"], single, folder / "eval_single", metric)
            on_cpu = evaluate(f32["checkpoint"], "cpu", folder / "eval_cpu", metric)
            out[name] = {"f32": f32, "bf16": bf16, "multi": multi_run, "metric": metric,
                         "eval_single": on_single, "eval_cpu": on_cpu,
                         "bf16_speedup": bf16["samples_per_s"] / f32["samples_per_s"],
                         "scaling": multi_run["samples_per_s"]
                         / (multi_run["world_size"] * f32["samples_per_s"]),
                         "eval_diff": abs(on_single - on_cpu)}
            if out[name]["eval_diff"] > EVAL_TOL[metric]:
                raise RuntimeError(
                    f"{name}: the {single} checkpoint evaluates to {metric} {on_single} with "
                    f"trainer={single} and {on_cpu} on the CPU (tolerance {EVAL_TOL[metric]})")
    return out


def run() -> dict[str, dict[str, Any]]:
    if not torch.cuda.is_available():
        print("gpu: no CUDA device on this machine; the GPU benchmark records nothing "
              "(run `make bench ARGS=gpu` where one is)", flush=True)
        return {}
    n = torch.cuda.device_count()
    m = measure(devices=n)
    device = m["workouts"]["f32"]["device"]
    figures: dict[str, dict[str, Any]] = {}
    for name, r in m.items():
        tail = "" if name == "workouts" else f"_{name}"
        what = (f"experiment={experiment(name)[0]}{'' if name == 'workouts' else ' (zara1)'}"
                f", {STEPS} steps, timed after {WARMUP}; {device}")
        unit = "sequences/s" if name == "workouts" else "agents/s"
        figures[f"gpu_train_samples_per_s{tail}"] = {
            "value": round(r["f32"]["samples_per_s"], 1), "unit": unit,
            "note": f"trainer=gpu, 32-true; {what}"}
        figures[f"gpu_bf16_speedup{tail}"] = {
            "value": round(r["bf16_speedup"], 3), "unit": "ratio",
            "note": f"bf16-mixed / 32-true samples/s ({r['bf16']['samples_per_s']:.1f}); {what}"}
        figures[f"ddp_scaling{tail}"] = {
            "value": round(r["scaling"], 3), "unit": "ratio",
            "note": f"trainer=ddp over {r['multi']['world_size']} GPU(s): "
                    f"{r['multi']['samples_per_s']:.1f} samples/s over "
                    f"{r['multi']['world_size']} x one GPU's; {what}"}
        figures[f"gpu_cpu_eval_diff{tail}"] = {
            "value": r["eval_diff"], "unit": r["metric"],
            "note": f"the 32-true checkpoint's {r['metric']} by scripts/eval.py on the GPU "
                    f"({r['eval_single']:.6f}) and with trainer=cpu ({r['eval_cpu']:.6f})"}
    return figures


if __name__ == "__main__":
    single, multi = (sys.argv[1:3] + ["gpu", "ddp"][len(sys.argv[1:3]):])[:2]
    print(json.dumps(measure(single, multi, steps=60, warmup=10), indent=1, default=str))
