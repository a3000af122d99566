"""Training throughput: the Lightning ``Trainer`` as ``make train`` configures it against a
plain PyTorch loop over the same model, data, batches and number of steps.

Both variants start from the same built model (deep copies, so equal weights) and the same
seed, so they draw identical batches (checked). Only steady-state training steps are timed:
from the end of the last warm-up step to the end of the last timed step, so validation,
checkpoints at epoch end and trainer setup are outside the window. Runs are interleaved
(Lightning, plain, Lightning, plain ...) because timings on a shared machine drift by ±10-15%.

``python -m bench.train_throughput`` prints diagnostics instead: where the Lightning run spends
time beyond the plain loop's work (per hook and per call), and whether loader workers help.
"""

from __future__ import annotations

import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from motionseq.tasks.run_info import configure_environment
from motionseq.tasks.train import build, build_trainer

CONF = Path(__file__).resolve().parents[1] / "conf"
WARMUP = 2  # untimed steps per run (first calls allocate and pick kernels)
STEPS = 8  # timed steps per run
PAIRS = 9
GOAL = 0.90


def compose_train(out_dir: Path) -> DictConfig:
    """conf/train.yaml as ``make train`` composes it, cut to one epoch of WARMUP + STEPS
    training batches and one validation batch (the callbacks and the plateau scheduler need
    ``val/acc``; validation is not timed)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=[
            f"paths.output_dir={out_dir}", "trainer.max_epochs=1",
            f"++trainer.limit_train_batches={WARMUP + STEPS}", "++trainer.limit_val_batches=1",
            "++trainer.num_sanity_val_steps=0"])


def _fingerprint(batch: dict[str, torch.Tensor]) -> tuple[int, int, int]:
    return len(batch["y"]), int(batch["lengths"].sum()), int(batch["y"].sum())


class StepClock(pl.Callback):
    """Marks the end of every training batch (and which batch it was)."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self.batches: list[tuple[int, int, int]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.marks.append(time.perf_counter())
        self.batches.append(_fingerprint(batch))


def _timed(marks: list[float], batches: list[tuple[int, int, int]]) -> dict[str, Any]:
    if len(marks) != WARMUP + STEPS:
        raise RuntimeError(f"expected {WARMUP + STEPS} training steps, ran {len(marks)}: the "
                           f"train split needs at least that many batches")
    seconds = marks[-1] - marks[WARMUP - 1]
    samples = sum(b[0] for b in batches[WARMUP:])
    return {"seconds": seconds, "samples": samples, "batches": batches}


def run_lightning(cfg: DictConfig, datamodule: pl.LightningDataModule,
                  model: pl.LightningModule, out_dir: Path,
                  extra_callbacks: Sequence[pl.Callback] = (), **trainer_kwargs: Any
                  ) -> dict[str, Any]:
    """Fit a copy of ``model`` with the trainer, callbacks and loggers of
    :func:`motionseq.tasks.train.train`, writing into ``out_dir``. ``extra_callbacks`` and
    ``trainer_kwargs`` are for :func:`diagnose` only."""
    with open_dict(cfg):
        cfg.paths.output_dir = str(out_dir)
    clock = StepClock()
    trainer = build_trainer(cfg, [*extra_callbacks, clock], **trainer_kwargs)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    trainer.fit(copy.deepcopy(model), datamodule=datamodule)
    return _timed(clock.marks, clock.batches)


def run_plain(cfg: DictConfig, datamodule: pl.LightningDataModule,
              model: pl.LightningModule) -> dict[str, Any]:
    """What a hand-written loop does: forward, cross-entropy, backward, clip, step."""
    model = copy.deepcopy(model).train()
    opt = model.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    clip = cfg.trainer.get("gradient_clip_val") or float("inf")
    smoothing = model.hparams.get("label_smoothing", 0.0)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    marks, batches = [], []
    for batch in datamodule.train_dataloader():
        loss = F.cross_entropy(model(batch["x"], batch["lengths"]), batch["y"],
                               label_smoothing=smoothing)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        marks.append(time.perf_counter())
        batches.append(_fingerprint(batch))
        if len(marks) == WARMUP + STEPS:
            break
    return _timed(marks, batches)


def measure(pairs: int = PAIRS) -> dict[str, float]:
    """Interleaved Lightning/plain runs: median samples/s of each, median per-pair ratio."""
    configure_environment()
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        cfg = compose_train(Path(tmp))
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule, model = build(cfg)
        light, plain, ratios = [], [], []
        for i in range(pairs):
            a = run_lightning(cfg, datamodule, model, Path(tmp) / f"run{i}")
            b = run_plain(cfg, datamodule, model)
            if a["batches"] != b["batches"]:
                raise RuntimeError("Lightning and the plain loop drew different batches")
            light.append(a["samples"] / a["seconds"])
            plain.append(b["samples"] / b["seconds"])
            ratios.append(light[-1] / plain[-1])
            print(f"pair {i + 1}/{pairs}: lightning {light[-1]:.1f}, plain {plain[-1]:.1f} "
                  f"samples/s, ratio {ratios[-1]:.3f}", flush=True)
    if max(plain) > 1.5 * min(plain):
        print(f"warning: plain-loop throughput varied {min(plain):.0f}-{max(plain):.0f} "
              f"samples/s between runs; something else is using the CPU, rerun when it is "
              f"idle", flush=True)
    return {"lightning": statistics.median(light), "plain": statistics.median(plain),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios),
            "ratio_max": max(ratios), "batch_size": a["samples"] / STEPS}


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    m = measure()
    setup = (f"ActionClassifier (conf/model/classifier.yaml) on synthetic workouts, batch "
             f"{m['batch_size']:g}, {STEPS} timed steps after {WARMUP} warm-up, median of "
             f"{PAIRS} interleaved pairs, {torch.get_num_threads()} torch threads, stdout "
             f"{'a terminal' if sys.stdout.isatty() else 'not a terminal'} (rich progress bar)")
    return {
        "train_samples_per_s_lightning": {
            "value": round(m["lightning"], 2), "unit": "samples/s",
            "note": f"Trainer, callbacks and logger as `make train`; {setup}"},
        "train_samples_per_s_plain": {
            "value": round(m["plain"], 2), "unit": "samples/s",
            "note": f"hand-written loop (forward, cross-entropy, backward, clip, step); {setup}"},
        "lightning_vs_plain_ratio": {
            "value": round(m["ratio"], 3), "unit": "x", "goal": f">= {GOAL:.2f}",
            "note": f"median of per-pair ratios of Lightning to plain samples/s (pairs ranged "
                    f"{m['ratio_min']:.3f}-{m['ratio_max']:.3f}); per-hook costs: "
                    f"`python -m bench.train_throughput`"},
    }


# --- diagnostics: `python -m bench.train_throughput` (prints; records nothing) ---------------

def _median_call(fns: dict[str, Any], reps: int = 30) -> dict[str, float]:
    """Median ms per call of each function, called in turn (interleaved) ``reps`` times."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


class _Probe(pl.Callback):
    """Inside a live fit: wraps the per-step work the LightningModule adds to a plain loop in
    the profiler, and at one step times each piece (and alternatives) call by call."""

    def __init__(self) -> None:
        self.calls: dict[str, float] = {}
        self.probing = False  # keeps the timed calls out of the profiler's totals

    def on_fit_start(self, trainer, pl_module) -> None:
        targets = [(pl_module, "check_finite"), (pl_module, "log"), (pl_module, "log_dict"),
                   (pl_module, "guard_loss"), (pl_module, "forward"),
                   (pl_module.train_metrics, "update"),
                   (trainer._logger_connector, "update_train_step_metrics"),
                   *[(lg, m) for lg in trainer.loggers for m in ("log_metrics", "save")]]
        for obj, name in targets:
            setattr(obj, name, self._wrap(trainer.profiler, f"~{type(obj).__name__}.{name}",
                                          getattr(obj, name)))

    def _wrap(self, prof, label, fn):
        def wrapped(*args, **kwargs):
            if self.probing:
                return fn(*args, **kwargs)
            with prof.profile(label):
                return fn(*args, **kwargs)
        return wrapped

    def on_train_batch_end(self, trainer, m, outputs, batch, batch_idx) -> None:
        if batch_idx != WARMUP:
            return
        x, lengths, y = batch["x"], batch["lengths"], batch["y"]
        with torch.no_grad():
            logits, loss = m(x, lengths), outputs["loss"].detach()
        metrics, bs = m.train_metrics.clone(prefix="probe/"), len(y)
        # self.log finds a Metric by its module attribute, from a cache made on first use
        m.probe_metrics, m._metric_attributes = metrics, None
        self.probing = True
        self.calls = _median_call({
            "check_finite(x)": lambda: m.check_finite("x", x, "train"),
            "isfinite(x.sum()) (cheaper check)": lambda: bool(torch.isfinite(x.sum())),
            "train_metrics.update": lambda: metrics.update(logits, y),
            "log(loss, sync_dist=True)": lambda: m.log(
                "probe/a", loss, on_step=False, on_epoch=True, batch_size=bs, sync_dist=True),
            "log(loss, sync_dist=False)": lambda: m.log(
                "probe/b", loss, on_step=False, on_epoch=True, batch_size=bs, sync_dist=False),
            "log(loss, on_step=True)": lambda: m.log(
                "probe/c", loss, on_step=True, on_epoch=True, batch_size=bs),
            "log_dict(metrics) (2 metrics)": lambda: m.log_dict(
                metrics, on_step=False, on_epoch=True, batch_size=bs),
        })
        self.probing = False


def _count_live_refresh() -> list[float]:
    """Patch rich's Live.refresh (also run by its refresh thread) to record durations."""
    import rich.live

    durations: list[float] = []
    orig = rich.live.Live.refresh

    def refresh(self) -> None:
        t0 = time.perf_counter()
        orig(self)
        durations.append(time.perf_counter() - t0)

    rich.live.Live.refresh = refresh
    return durations


def diagnose(pairs: int = PAIRS) -> None:
    """Where the Lightning run spends time beyond the plain loop's work, and whether data
    loader workers help. Run in a terminal to include rich's real rendering cost."""
    from pytorch_lightning.profilers import SimpleProfiler

    configure_environment()
    live = _count_live_refresh()
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        tmp = Path(tmp)
        cfg = compose_train(tmp)
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule, model = build(cfg)
        for every_n in (cfg.trainer.log_every_n_steps, 1):
            with open_dict(cfg):
                cfg.trainer.log_every_n_steps = every_n
            probe, prof = _Probe(), SimpleProfiler(dirpath=tmp, filename=f"profile{every_n}")
            live.clear()
            t0 = time.perf_counter()
            r = run_lightning(cfg, datamodule, model, tmp / f"d{every_n}", [probe], profiler=prof)
            wall = time.perf_counter() - t0
            step_ms = 1e3 * r["seconds"] / STEPS
            report += [f"\n== Lightning, log_every_n_steps={every_n}: {step_ms:.1f} ms/step, "
                       f"fit wall {wall:.2f} s for {WARMUP + STEPS} steps + 1 val batch",
                       "  ms total   calls   ms/call  action (~: wrapped module calls)"]
            rows = sorted(((sum(v), len(v), k) for k, v in prof.recorded_durations.items()),
                          reverse=True)
            report += [f"{1e3 * s:10.2f} {n:7d} {1e3 * s / n:9.3f}  {k[:90]}"
                       for s, n, k in rows if s > 2e-4 and "Probe" not in k]
            report.append(f"rich progress bar: {len(live)} renders (refresh thread and hooks), "
                          f"{1e3 * sum(live):.1f} ms in all, {1e3 * sum(live) / wall:.1f} ms "
                          f"per s of fit")
            report += ["-- per call, median of 30 interleaved, inside the fit (ms):"]
            report += [f"{v:10.3f}  {k}" for k, v in probe.calls.items()]
        report.append("\n== plain loop, data loader workers 0 vs 2 (samples/s, interleaved)")
        for i in range(pairs):
            row = []
            for workers in (0, 2):
                datamodule.num_workers = workers
                t0 = time.perf_counter()
                next(iter(datamodule.train_dataloader()))
                first = time.perf_counter() - t0
                r = run_plain(cfg, datamodule, model)
                row.append(f"workers={workers}: {r['samples'] / r['seconds']:6.1f} "
                           f"(first batch {1e3 * first:6.1f} ms)")
            report.append(f"pair {i + 1}: " + ", ".join(row))
        datamodule.num_workers = 0
    print("\n".join(report))


if __name__ == "__main__":
    diagnose()
