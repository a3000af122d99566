"""ETH/UCY, as published work reports it: one forecaster per left-out scene (a Hydra
multirun of ``experiment=forecast_ethucy``), each evaluated on its scene's test windows
beside constant velocity and a linear fit (:mod:`motionseq.tasks.ethucy`); figures are the
mean of the five scenes and each scene's ADE/FDE in metres.

Needs the ETH/UCY files: ``$MOTIONSEQ_ETHUCY``, else ``../shared/data/ethucy``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from motionseq.data.ethucy import SCENES
from motionseq.tasks.ethucy import ethucy_table

ROOT = Path(__file__).resolve().parents[1]
GOAL_EVAL_S = 30.0


def data_root() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_ETHUCY", ROOT.parent / "shared" / "data" / "ethucy"))
    if not root.is_dir():
        raise FileNotFoundError(f"ETH/UCY not found at {root}; set MOTIONSEQ_ETHUCY or run "
                                f"`python -m motionseq.data.ethucy data/ethucy`")
    return root


def run() -> dict[str, dict[str, Any]]:
    root = data_root()
    with tempfile.TemporaryDirectory(prefix="bench-ethucy-") as tmp:
        sweep = Path(tmp) / "sweep"
        cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "-m",
               "experiment=forecast_ethucy", f"data.scene={','.join(SCENES)}",
               f"data.source.root={root}", "logger=csv", f"hydra.sweep.dir={sweep}"]
        # one thread per process: faster than two fighting over a shared 2-core machine
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        table = ethucy_table(sweep, root, plots=False)
    setup = ("experiment=forecast_ethucy (LSTM encoder + recurrent decoder, heading frame, "
             "speed normalisation), one model per left-out scene, best epoch on val/")
    out: dict[str, dict[str, Any]] = {}
    for name, key in (("det", "model"), ("cvm", "cv"), ("linear", "linear")):
        for metric in ("ade", "fde"):
            note = {"det": setup, "cvm": "constant velocity on the same test windows",
                    "linear": "least-squares line through the 8 observed points"}[name]
            out[f"ethucy_{name}_{metric}"] = {
                "value": round(table["mean"][f"{key}_{metric}"], 4), "unit": "m",
                "note": f"mean of the 5 scenes; {note}"}
            for scene, row in table["scenes"].items():
                out[f"ethucy_{scene}_{name}_{metric}"] = {
                    "value": round(row[f"{key}_{metric}"], 4), "unit": "m",
                    "note": f"{scene} test split ({row['windows']} windows); {note}"}
    out["ethucy_eval_seconds"] = {
        "value": round(table["eval_seconds"], 2), "unit": "s", "goal": f"<= {GOAL_EVAL_S:g}",
        "note": f"evaluating the five trained scenes (model + baselines) on {os.cpu_count()} "
                f"CPU cores"}
    return out
