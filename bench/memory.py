"""Data that does not fit in memory: reading from the on-disk sequence store
(:mod:`motionseq.data.store`) keeps up with training, and training one epoch on 200k
sequences from it keeps memory flat.

``dataload_samples_per_s``: the training DataLoader of ``make train`` (synthetic workouts,
same batch size as :mod:`bench.train_throughput`) reading from a store instead of memory,
batches padded and collated, no model. ``rss_mb_200k``: peak resident memory of a fresh
process training one epoch on 200k synthetic sequences read from a store, beside the
store's size on disk (``store_mb_200k``).

``python -m bench.memory [sequences]`` prints the figures without recording them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

CONF = Path(__file__).resolve().parents[1] / "conf"
LOAD_SECONDS = 5.0  # reading time measured per pass (after one untimed batch)
PASSES = 5
GOAL_RATIO = 10.0
SEQUENCES = 200_000
CHANNELS = 32  # features per frame of the synthetic sequences
FRAMES = (16, 64)  # frames per sequence, uniform
CLASSES = 5
RSS_BATCH = 256


def _samples_per_s(loader, seconds: float) -> float:
    """Samples per second drawn from ``loader`` (epochs repeated) for about ``seconds``."""
    it: Iterator = iter(loader)
    next(it)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        n += len(batch["y"])
    return n / (time.perf_counter() - t0)


def measure_dataload(passes: int = PASSES, seconds: float = LOAD_SECONDS) -> dict[str, Any]:
    """The ``make train`` data (conf/train.yaml) written to a store and read back through
    its training DataLoader: median samples/s over ``passes``."""
    from hydra import compose, initialize_config_dir

    from motionseq.tasks.run_info import configure_environment
    from motionseq.tasks.train import build

    configure_environment()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[f"paths.output_dir={tmp}",
                                              f"+data.store={tmp}/store"])
        datamodule, _ = build(cfg)
        loader = datamodule.train_dataloader()
        rates = [_samples_per_s(loader, seconds) for _ in range(passes)]
        return {"samples_per_s": float(np.median(rates)), "min": min(rates), "max": max(rates),
                "batch_size": datamodule.batch_size, "workers": datamodule.num_workers,
                "items": len(datamodule.datasets["train"])}


def synthetic_items(n: int, seed: int) -> Iterator[tuple[np.ndarray, int]]:
    """``n`` random-walk sequences ``[T, CHANNELS]`` whose drift depends on the label."""
    rng = np.random.default_rng(seed)
    drift = rng.normal(0, 0.2, size=(CLASSES, CHANNELS)).astype(np.float32)
    for _ in range(n):
        label = int(rng.integers(CLASSES))
        t = int(rng.integers(FRAMES[0], FRAMES[1] + 1))
        steps = rng.standard_normal((t, CHANNELS), dtype=np.float32)
        yield np.cumsum(steps + drift[label], axis=0), label


def write_synthetic_store(root: Path, n: int) -> Path:
    """A store of ``n`` synthetic training sequences (and 1% more each for val and test)."""
    from motionseq.data.features import PoseFeatures
    from motionseq.data.store import write_store

    features = PoseFeatures(layout="raw", channels=CHANNELS, velocities=False,
                            visibility=False)
    held = max(n // 100, CLASSES)
    write_store(root, {"train": synthetic_items(n, 0), "val": synthetic_items(held, 1),
                       "test": synthetic_items(held, 2)}, CHANNELS,
                [f"class{i}" for i in range(CLASSES)], meta={"features": features.to_dict()})
    return root


def _status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(rest.split()[0])
    return out


class _PeakMemory(threading.Thread):
    """Samples this process's resident memory every ``period`` seconds."""

    def __init__(self, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.period, self.samples, self.running = period, [], True

    def run(self) -> None:
        while self.running:
            self.samples.append(_status_kb())
            time.sleep(self.period)

    def peak(self, key: str) -> int:
        return max(s[key] for s in self.samples)


def train_one_epoch(store: str) -> dict[str, Any]:
    """In this process: one epoch of a small GRU classifier on the store's train split
    (no validation, no checkpoints, no logger); resident memory sampled throughout."""
    import pytorch_lightning as pl

    from motionseq.data.datamodules import ActionDataModule
    from motionseq.modules.classifier import ActionClassifier

    pl.seed_everything(0, verbose=False)
    datamodule = ActionDataModule(store=store, batch_size=RSS_BATCH)
    datamodule.setup()
    model = ActionClassifier(**datamodule.model_kwargs(), cell="gru", hidden=32)
    model.set_normalizer(**datamodule.normalizer())
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, limit_val_batches=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    before = _status_kb()
    sampler = _PeakMemory()
    sampler.start()
    t0 = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    seconds = time.perf_counter() - t0
    sampler.running = False
    sampler.join()
    after = _status_kb()
    rss = [s["VmRSS"] for s in sampler.samples]
    return {"sequences": len(datamodule.datasets["train"]), "steps": trainer.global_step,
            "seconds": seconds, "rss_mb_before": before["VmRSS"] / 1024,
            "rss_mb_peak": max(rss) / 1024,
            "rss_mb_first_tenth": max(rss[: max(len(rss) // 10, 1)]) / 1024,
            "private_mb_peak": sampler.peak("RssAnon") / 1024, "hwm_mb": after["VmHWM"] / 1024}


def measure_rss(n: int = SEQUENCES) -> dict[str, Any]:
    """Write an ``n``-sequence store, then train one epoch on it in a fresh process."""
    from motionseq.data.store import SequenceStore

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        write_synthetic_store(root, n)
        write_s = time.perf_counter() - t0
        size_mb = SequenceStore(root).size_bytes() / 2**20
        proc = subprocess.run([sys.executable, "-m", "bench.memory", "--train-epoch", str(root)],
                              cwd=Path(__file__).resolve().parents[1], capture_output=True,
                              text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"the training process failed:\n{proc.stderr[-3000:]}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**child, "store_mb": size_mb, "write_seconds": write_s}


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    import torch

    from bench import results

    load = measure_dataload()
    train_rate = results.load().get("train_samples_per_s_lightning", {}).get("value")
    ratio = (f"; {load['samples_per_s'] / train_rate:.0f}x the recorded "
             f"train_samples_per_s_lightning ({train_rate})" if train_rate else "")
    rss = measure_rss()
    shape = (f"{rss['sequences']} synthetic sequences of {FRAMES[0]}-{FRAMES[1]} frames x "
             f"{CHANNELS} float32 channels ({CLASSES} classes)")
    return {
        "dataload_samples_per_s": {
            "value": round(load["samples_per_s"], 1), "unit": "samples/s",
            "goal": f">= {GOAL_RATIO:g} x train_samples_per_s_lightning",
            "note": f"training DataLoader of `make train` (synthetic workouts, "
                    f"{load['items']} clips) reading a data.store: batch "
                    f"{load['batch_size']}, {load['workers']} workers, padded and collated, no "
                    f"model; median of {PASSES} passes of {LOAD_SECONDS:g} s (range "
                    f"{load['min']:.0f}-{load['max']:.0f}), {torch.get_num_threads()} torch "
                    f"threads{ratio}"},
        "rss_mb_200k": {
            "value": round(rss["rss_mb_peak"], 1), "unit": "MB",
            "goal": "< store_mb_200k (flat)",
            "note": f"peak resident memory (VmRSS, sampled every 20 ms) of a fresh process "
                    f"training one epoch ({rss['steps']} steps of batch {RSS_BATCH}, GRU 32, "
                    f"{rss['seconds']:.0f} s) on {shape} read from the store; "
                    f"{rss['rss_mb_before']:.0f} MB before the epoch, "
                    f"{rss['rss_mb_first_tenth']:.0f} MB peak in its first tenth; private "
                    f"memory (RssAnon) peak {rss['private_mb_peak']:.0f} MB"},
        "store_mb_200k": {
            "value": round(rss["store_mb"], 1), "unit": "MB",
            "note": f"size on disk of the store behind rss_mb_200k: {shape}, written in "
                    f"{rss['write_seconds']:.0f} s; in memory its features alone would take "
                    f"as much"},
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--train-epoch"]:
        print(json.dumps(train_one_epoch(argv[1])))
        return
    n = int(argv[0]) if argv else SEQUENCES
    print(json.dumps({"dataload": measure_dataload(), "rss": measure_rss(n)}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
