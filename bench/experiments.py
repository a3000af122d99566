"""The built-in experiments as a new user runs them: ``make train`` (the workouts action
classifier) and ``make train ARGS="experiment=forecast_crowds"`` (the trajectory
forecaster next to constant velocity).

Each experiment runs ``scripts/train.py`` in a fresh process, exactly as ``make train``
does once ``.venv`` exists, with its run directory in a temporary folder; the wall time
is that whole process (start-up, data generation, training, testing the best
checkpoint). Figures come from the run's ``metrics.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_WALL_S = 180.0  # make train: under 3 minutes on 2 CPU cores


def run_experiment(overrides: list[str], keep: Path | None = None
                   ) -> tuple[dict[str, float], float]:
    """Run ``scripts/train.py overrides`` in a fresh process; ``(metrics, wall seconds)``.
    ``keep``: copy the best checkpoint there before the run folder goes."""
    with tempfile.TemporaryDirectory(prefix="bench-exp-") as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), *overrides,
               f"hydra.run.dir={run_dir}"]
        env = {**os.environ, "MOTIONSEQ_ROOT": str(ROOT)}  # the same data cache as make train
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{proc.stderr[-3000:]}")
        metrics = json.loads((run_dir / "metrics.json").read_text())
        if keep is not None:
            best = sorted((run_dir / "checkpoints").glob("epoch_*.ckpt"))
            shutil.copy(best[-1] if best else run_dir / "checkpoints" / "last.ckpt", keep)
    return metrics, wall


def _cores() -> str:
    return f"{os.cpu_count()} CPU cores"


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    cls, cls_wall = run_experiment([])
    fc, fc_wall = run_experiment(["experiment=forecast_crowds"])
    cls_note = "`make train` (experiment classify_workouts: LSTM on synthetic workouts)"
    fc_note = ("`make train ARGS=\"experiment=forecast_crowds\"` (social forecaster: LSTM "
               "encoder, attention over the walkers of each scene window, recurrent decoder, "
               "on synthetic crowds, observe 8 / predict 12 steps of 0.4 s), test split")
    return {
        "workouts_test_accuracy": {
            "value": round(cls["test/acc"], 4), "unit": "fraction",
            "note": f"{cls_note}, synthetic test split: made hard on purpose (views, "
                    f"estimator errors); real people: the sim2real_* figures"},
        "workouts_test_macro_f1": {
            "value": round(cls["test/f1"], 4), "unit": "fraction", "note": cls_note},
        "workouts_train_wall_s": {
            "value": round(cls_wall, 1), "unit": "s", "goal": f"< {GOAL_WALL_S:g}",
            "note": f"{cls_note}: the whole process on {_cores()}, .venv already built"},
        "crowds_test_ade_m": {
            "value": round(fc["test/ade"], 4), "unit": "m", "note": fc_note},
        "crowds_test_fde_m": {
            "value": round(fc["test/fde"], 4), "unit": "m", "note": fc_note},
        "crowds_cv_ade_m": {
            "value": round(fc["test/cv_ade"], 4), "unit": "m",
            "note": "constant velocity on the same test windows"},
        "crowds_cv_fde_m": {
            "value": round(fc["test/cv_fde"], 4), "unit": "m",
            "note": "constant velocity on the same test windows"},
        "crowds_train_wall_s": {
            "value": round(fc_wall, 1), "unit": "s",
            "note": f"{fc_note}: the whole process on {_cores()}"},
    }
