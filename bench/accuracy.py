"""Action recognition accuracy on real data, three seeds each: Penn Action (official split,
2D joints only, top-1) with ``experiment=classify_penn_action`` and UEA NATOPS with
``experiment=classify_natops``.

Each seed runs ``scripts/train.py experiment=... seed=N`` in a fresh process with one thread
(``OMP_NUM_THREADS=1``); the checkpoint is selected on the validation split carved from
train, and the figure is that checkpoint's accuracy on the test split, read from the run's
``metrics.json`` (mean and std over the seeds). A further figure averages the class
probabilities of the seeds' checkpoints (an ensemble). Not part of ``make bench`` (it takes
a while): ``make bench-accuracy`` (both), ``make bench ARGS=accuracy_penn`` or
``make bench ARGS=accuracy_natops`` (one).

Data: ``$MOTIONSEQ_PENN_ACTION`` (else ``../shared/data/penn_action``, holding ``labels/``)
and ``$MOTIONSEQ_UEA`` (else ``../shared/data/natops``, holding ``NATOPS_TRAIN.ts``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SEEDS = (0, 1, 2)
COMMAND = "make bench-accuracy"
PENN_FLOOR, PENN_GOAL = 93.0, 95.0  # top-1 %, published skeleton-only: 93.4 (HDM-BG), 94.7
NATOPS_FLOOR, NATOPS_GOAL = 0.93, 0.97  # ResNet 0.971, InceptionTime 0.966, MLSTM-FCN 0.889


def data_env() -> dict[str, str]:
    """The environment with both data roots set (defaults under ``../shared/data``);
    FileNotFoundError naming the variable when a dataset is absent."""
    env = dict(os.environ)
    checks = (("MOTIONSEQ_PENN_ACTION", SHARED / "penn_action", Path("labels"), "Penn Action"),
              ("MOTIONSEQ_UEA", SHARED / "natops", Path("NATOPS_TRAIN.ts"), "UEA NATOPS"))
    for var, default, needed, what in checks:
        root = Path(env.get(var) or default).resolve()
        found = (root / needed).exists() or (root / "natops" / needed).exists()
        if not found:
            raise FileNotFoundError(
                f"{what} not found: {root / needed} does not exist; set {var} to the folder "
                f"holding {needed} (or place the data under {default})")
        env[var] = str(root)
    return env


def val_at(run_dir: Path, epoch: int | None) -> float | None:
    """``val/acc`` of ``epoch`` in the run's CSV log (None: the highest of any epoch)."""
    found = None
    for path in run_dir.rglob("metrics.csv"):
        with path.open() as f:
            for row in csv.DictReader(f):
                if not row.get("val/acc"):
                    continue
                v = float(row["val/acc"])
                if epoch is None:
                    found = v if found is None else max(found, v)
                elif row.get("epoch") and int(float(row["epoch"])) == epoch:
                    found = v
    return found


def train_seed(experiment: str | None, seed: int, env: dict[str, str], run_dir: Path,
               overrides: tuple[str, ...] = (), threads: int = 1) -> dict[str, Any]:
    """``{"test", "val", "wall", "checkpoint"}`` of one training run in a fresh process
    (``threads`` threads) writing to ``run_dir``; ``val`` is the tested checkpoint's
    validation accuracy (NaN without validation). ``experiment`` None: the plain command."""
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"),
           *([f"experiment={experiment}"] if experiment else []),
           f"seed={seed}", "logger=csv", f"hydra.run.dir={run_dir}",
           "callbacks.progress_bar=null", *overrides]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**env, "OMP_NUM_THREADS": str(threads),
                               "MKL_NUM_THREADS": str(threads)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # the tested checkpoint: the one kept besides last.ckpt (epoch_NNN.ckpt)
    best = [p for p in sorted((run_dir / "checkpoints").glob("*.ckpt")) if p.name != "last.ckpt"]
    epoch = int(best[0].stem.split("_")[-1]) if best and best[0].stem.startswith("epoch_") \
        else None
    val = val_at(run_dir, epoch)
    return {"test": float(metrics.get("test/acc", float("nan"))),
            "val": float(val if val is not None else metrics.get("val/acc", float("nan"))),
            "metrics": metrics,
            "wall": wall, "checkpoint": best[0] if best else None}


def cross_validate(experiment: str, overrides: tuple[str, ...] = (), folds: int = 5,
                   seed: int = 0, parallel: int = 2) -> dict[str, Any]:
    """Accuracy on the training set by ``folds``-fold stratified cross-validation: each fold
    of train is held out as the validation split once (``+data.val_fold=[k,folds]``) and the
    tested checkpoint's accuracy on it is pooled over the folds. For choosing between
    configurations without the test split; meaningful for experiments that do not select
    their checkpoint on the validation split (``callbacks.model_checkpoint.monitor=null``)."""
    from concurrent.futures import ThreadPoolExecutor

    env = data_env()
    with tempfile.TemporaryDirectory(prefix="bench-cv-") as tmp:
        def one(k: int) -> dict[str, Any]:
            return train_seed(experiment, seed, env, Path(tmp) / f"fold{k}",
                              (*overrides, f"+data.val_fold=[{k},{folds}]"))

        with ThreadPoolExecutor(parallel) as pool:
            runs = list(pool.map(one, range(folds)))
    vals = [r["val"] for r in runs]
    return {"cv_acc": statistics.mean(vals), "folds": vals,
            "wall": sum(r["wall"] for r in runs), "test": [r["test"] for r in runs]}


def ensemble_accuracy(checkpoints: list[Path]) -> float:
    """Test accuracy of the mean class probabilities of several checkpoints trained on the
    same data (each selected on validation), rebuilt from the checkpoints alone."""
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from motionseq.modules.checkpoint import module_from_checkpoint

    torch.set_num_threads(1)
    modules = [module_from_checkpoint(p) for p in checkpoints]
    names = modules[0].class_names
    if any(m.class_names != names for m in modules):
        raise RuntimeError("the checkpoints of an ensemble must share their classes")
    data_cfg = OmegaConf.create(modules[0].hparams["data_config"])
    data_cfg.augment = None  # the test split is never augmented; skip the train-side setup
    datamodule = instantiate(data_cfg)
    datamodule.setup("test")
    correct = total = 0
    for batch in datamodule.test_dataloader():
        p = sum(m.predict_proba(batch["x"], batch["lengths"]) for m in modules)
        correct += int((p.argmax(dim=-1) == batch["y"]).sum())
        total += int(batch["y"].numel())
    return correct / total


def _series(experiment: str, env: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
    """The runs of every seed and the accuracy of their ensemble."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-acc-") as tmp:
        for seed in SEEDS:
            r = train_seed(experiment, seed, env, Path(tmp) / f"seed{seed}")
            print(f"{experiment} seed {seed}: test {r['test']:.4f}  val {r['val']:.4f}  "
                  f"{r['wall']:.0f} s", flush=True)
            runs.append(r)
        # the checkpoints' data configs hold the (absolute) data roots they were trained on
        ensemble = ensemble_accuracy([r["checkpoint"] for r in runs])
    print(f"{experiment} ensemble of {len(runs)} seeds: test {ensemble:.4f}", flush=True)
    return runs, ensemble


def _figures(prefix: str, series: tuple[list[dict[str, Any]], float], scale: float, unit: str,
             digits: int, goal: str, note: str, command: str = COMMAND
             ) -> dict[str, dict[str, Any]]:
    runs, ensemble = series
    tests = [r["test"] * scale for r in runs]
    vals = [r["val"] * scale for r in runs]
    seeds = ", ".join(str(s) for s in SEEDS)
    out: dict[str, dict[str, Any]] = {
        f"{prefix}_mean": {"value": round(statistics.mean(tests), digits), "unit": unit,
                           "goal": goal, "note": f"{note}; mean over seeds {seeds}"},
        f"{prefix}_std": {"value": round(statistics.stdev(tests), digits), "unit": unit,
                          "note": f"{note}; sample std over seeds {seeds}"},
        **({f"{prefix}_val_mean": {"value": round(statistics.mean(vals), digits),
                                   "unit": unit,
                                   "note": f"{note}; the selected checkpoints' validation "
                                           f"accuracy (carved from train), mean over seeds"}}
           if all(math.isfinite(v) for v in vals) else {}),  # no validation split
        f"{prefix}_wall_s": {"value": round(sum(r["wall"] for r in runs), 1), "unit": "s",
                             "note": f"{note}: {len(runs)} seeds, each a whole one-thread "
                                     f"process (start-up, data, training, test) on "
                                     f"{os.cpu_count()} CPU cores"},
        f"{prefix}_ensemble": {"value": round(ensemble * scale, digits), "unit": unit,
                               "note": f"{note}; mean class probabilities of the {len(runs)} "
                                       f"seeds' checkpoints (one figure, no std)"},
    }
    for seed, t in zip(SEEDS, tests, strict=True):
        out[f"{prefix}_seed{seed}"] = {"value": round(t, digits), "unit": unit,
                                       "note": f"{note}; seed {seed}"}
    return {k: {"command": command, **v} for k, v in out.items()}


PENN_NOTE = ("Penn Action top-1 on the official test split (1068 clips), 2D joints only, "
             f"`experiment=classify_penn_action`; floor >= {PENN_FLOOR:g}, published HDM-BG "
             "93.4, CascadeFormer 94.7")
NATOPS_NOTE = ("UEA NATOPS test accuracy (180 cases), `experiment=classify_natops`; floor "
               f">= {NATOPS_FLOOR:g}, published ResNet 0.971, InceptionTime 0.966, "
               "MLSTM-FCN 0.889")


def run_penn(command: str = "make bench ARGS=accuracy_penn") -> dict[str, dict[str, Any]]:
    """Penn Action's figures alone."""
    series = _series("classify_penn_action", data_env())
    return _figures("penn_action_top1", series, 100.0, "%", 2, f">= {PENN_GOAL:g}", PENN_NOTE,
                    command)


def run_natops(command: str = "make bench ARGS=accuracy_natops") -> dict[str, dict[str, Any]]:
    """NATOPS's figures alone."""
    series = _series("classify_natops", data_env())
    return _figures("natops_acc", series, 1.0, "fraction", 4, f">= {NATOPS_GOAL:g}",
                    NATOPS_NOTE, command)


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``: both datasets."""
    data_env()  # both present before either trains
    return {**run_penn(COMMAND), **run_natops(COMMAND)}


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.accuracy cv EXPERIMENT [OVERRIDE ...]``: print the 5-fold
    cross-validated training-set accuracy of a configuration (nothing is recorded)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "cv":
        print("usage: python -m bench.accuracy cv EXPERIMENT [OVERRIDE ...]", file=sys.stderr)
        return 2
    r = cross_validate(args[1], tuple(args[2:]))
    print(f"{args[1]} {' '.join(args[2:])}: 5-fold CV accuracy on train {r['cv_acc']:.4f} "
          f"(folds {', '.join(f'{v:.3f}' for v in r['folds'])}; {r['wall']:.0f} s of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
