"""Bring-your-own-data defaults on problems nobody tuned them for: ``make bench ARGS=uea_dev``.

For each problem of ``../shared/data/uea_dev`` (ArrowHead, ItalyPowerDemand, OSULeaf,
JapaneseVowels) and NATOPS, the plain command a user types,
``motionseq-train data=uea data.name=<problem> data.source.root=<folder>``, with no other
override, 3 seeds, each a fresh process with 2 threads (its wall time is the
``uea_dev_train_seconds_max`` figure). In the same run, on the same files: the field's
classic baselines from ``aeon`` (a benchmark-only extra, ``pip install -e .[bench]``),
1-nearest-neighbour DTW (full window, dependent DTW for several channels) and ROCKET (10k
kernels, ridge classifier); unequal-length cases are padded with their last value for
ROCKET only.

Tuning the defaults never reads a test split: ``python -m bench.uea_dev cv [OVERRIDE ...]``
prints the 5-fold cross-validated accuracy on the training cases of every problem (each
fold of train held out once as the validation split, last weights scored on it).

Data: ``$MOTIONSEQ_UEA_DEV`` (else ``../shared/data/uea_dev``) and ``$MOTIONSEQ_UEA`` (else
``../shared/data/natops``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.accuracy import ROOT, SHARED, train_seed

SEEDS = (0, 1, 2)
PROBLEMS = ("ArrowHead", "ItalyPowerDemand", "OSULeaf", "JapaneseVowels", "NATOPS")
THREADS = 2
TRAIN_SECONDS_GOAL = 120.0


def problem_root(name: str) -> Path:
    """The folder the plain command reads ``name`` from; FileNotFoundError when absent."""
    if name == "NATOPS":
        root = Path(os.environ.get("MOTIONSEQ_UEA") or SHARED / "natops")
    else:
        root = Path(os.environ.get("MOTIONSEQ_UEA_DEV") or SHARED / "uea_dev")
    from motionseq.data.uea import find_problem

    try:
        find_problem(root, name)
    except Exception as exc:
        raise FileNotFoundError(f"{name}: {exc} (set MOTIONSEQ_UEA_DEV / MOTIONSEQ_UEA)") from exc
    return root.resolve()


def plain_overrides(name: str) -> tuple[str, ...]:
    return ("data=uea", f"data.name={name}", f"data.source.root={problem_root(name)}")


def _read(name: str) -> dict[str, tuple[list[np.ndarray], np.ndarray]]:
    """``{split: (series [C, T_i] each, labels)}`` of a problem, as the project reads it."""
    from motionseq.data.uea import UeaSource

    out = {}
    for split, seqs in UeaSource(str(problem_root(name)), name).load().items():
        xs = [np.nan_to_num(s.keypoints.reshape(len(s), -1).T.astype(np.float64)) for s in seqs]
        out[split] = (xs, np.array([s.label for s in seqs]))
    return out


def _padded(xs: list[np.ndarray], length: int) -> np.ndarray:
    """``[n, C, length]``, each series padded with its last value."""
    return np.stack([np.pad(x, ((0, 0), (0, length - x.shape[1])), mode="edge") for x in xs])


def baselines(name: str) -> dict[str, float]:
    """Test accuracy of 1NN-DTW and ROCKET on the problem's official split."""
    from aeon.classification.convolution_based import RocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    data = _read(name)
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    equal = len({x.shape[1] for x in xtr + xte}) == 1
    t0 = time.perf_counter()
    dtw = KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1, n_jobs=THREADS)
    dtw.fit(np.stack(xtr) if equal else xtr, ytr)
    dtw_acc = float((dtw.predict(np.stack(xte) if equal else xte) == yte).mean())
    t1 = time.perf_counter()
    length = max(x.shape[1] for x in xtr + xte)
    rocket = RocketClassifier(n_kernels=10_000, random_state=0, n_jobs=THREADS)
    rocket.fit(_padded(xtr, length), ytr)
    rocket_acc = float((rocket.predict(_padded(xte, length)) == yte).mean())
    t2 = time.perf_counter()
    print(f"{name}: 1NN-DTW {dtw_acc:.4f} ({t1 - t0:.0f} s), ROCKET {rocket_acc:.4f} "
          f"({t2 - t1:.0f} s)", flush=True)
    return {"dtw": dtw_acc, "rocket": rocket_acc}


def ours(name: str, tmp: Path) -> list[dict[str, Any]]:
    """The plain command, one run per seed (2 threads each, one after the other)."""
    runs = []
    for seed in SEEDS:
        r = train_seed(None, seed, dict(os.environ), tmp / f"{name}-{seed}",
                       plain_overrides(name), threads=THREADS)
        print(f"{name} seed {seed}: test {r['test']:.4f}  {r['wall']:.0f} s", flush=True)
        runs.append(r)
    return runs


def run() -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    accs, dtws, rockets, walls = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-uea-") as tmp:
        for name in PROBLEMS:
            base = baselines(name)
            runs = ours(name, Path(tmp))
            acc = statistics.mean(r["test"] for r in runs)
            accs.append(acc)
            dtws.append(base["dtw"])
            rockets.append(base["rocket"])
            walls.extend(r["wall"] for r in runs)
            note = (f"{name} test accuracy, `motionseq-train data=uea data.name={name} "
                    f"data.source.root=...` with no other override")
            figures[f"uea_dev_{name}_acc"] = {
                "value": round(acc, 4), "unit": "fraction",
                "goal": f">= {base['dtw'] - 0.03:.4f} (1NN-DTW - 0.03)",
                "note": f"{note}; mean over seeds {', '.join(map(str, SEEDS))} ("
                        + ", ".join(f"{r['test']:.3f}" for r in runs) + ")"}
            figures[f"uea_dev_{name}_dtw"] = {
                "value": round(base["dtw"], 4), "unit": "fraction",
                "note": f"{name} test accuracy of 1-nearest-neighbour DTW (aeon, full window)"}
            figures[f"uea_dev_{name}_rocket"] = {
                "value": round(base["rocket"], 4), "unit": "fraction",
                "note": f"{name} test accuracy of ROCKET (aeon, 10k kernels, random_state 0)"}
    mean_dtw = statistics.mean(dtws)
    figures["uea_dev_acc_mean"] = {
        "value": round(statistics.mean(accs), 4), "unit": "fraction",
        "goal": f">= {mean_dtw:.4f} (the 1NN-DTW mean); goal the ROCKET mean",
        "note": f"mean test accuracy of the plain command over {', '.join(PROBLEMS)}"}
    figures["uea_dev_dtw_mean"] = {"value": round(mean_dtw, 4), "unit": "fraction",
                                   "note": "1NN-DTW, mean over the same problems"}
    figures["uea_dev_rocket_mean"] = {"value": round(statistics.mean(rockets), 4),
                                      "unit": "fraction",
                                      "note": "ROCKET, mean over the same problems"}
    figures["uea_dev_train_seconds_max"] = {
        "value": round(max(walls), 1), "unit": "s", "goal": f"<= {TRAIN_SECONDS_GOAL:g}",
        "note": f"the longest single run of the plain command (a whole process: start-up, "
                f"data, training, test) with {THREADS} threads on {os.cpu_count()} CPU cores"}
    return figures


def penn_folder(dest: Path) -> Path:
    """Penn Action's official split written as a sequence folder (``.npz`` PoseSequences,
    layout penn13, image-normalised joints) with ``motionseq.data.own.save_sequence_folder``:
    what a user who brings their own skeletons hands to ``data=sequences``."""
    from motionseq.data.own import save_sequence_folder
    from motionseq.data.penn_action import PennActionSource

    root = Path(os.environ.get("MOTIONSEQ_PENN_ACTION") or SHARED / "penn_action")
    if not (root / "labels").is_dir() and not root.name == "labels":
        raise FileNotFoundError(f"Penn Action not found: {root / 'labels'} (set "
                                f"MOTIONSEQ_PENN_ACTION)")
    return save_sequence_folder(dest, PennActionSource(str(root)).load())


def run_sequences_penn() -> dict[str, dict[str, Any]]:
    """``data=sequences data.source.layout=penn13`` on Penn Action as a folder, no other
    override, 3 seeds: ``sequences_penn_acc``."""
    with tempfile.TemporaryDirectory(prefix="bench-seqpenn-") as tmp:
        folder = penn_folder(Path(tmp) / "penn")
        runs = []
        for seed in SEEDS:
            r = train_seed(None, seed, dict(os.environ), Path(tmp) / f"seed{seed}",
                           ("data=sequences", f"data.source.root={folder}",
                            "data.source.layout=penn13"), threads=THREADS)
            print(f"sequences penn13 seed {seed}: test {r['test']:.4f}  {r['wall']:.0f} s",
                  flush=True)
            runs.append(r)
    tests = [r["test"] for r in runs]
    return {
        "sequences_penn_acc": {
            "value": round(statistics.mean(tests), 4), "unit": "fraction", "goal": ">= 0.90",
            "note": "Penn Action (official split) saved as a sequence folder and trained with "
                    "`data=sequences data.source.layout=penn13` and no other override; test "
                    "accuracy, mean over seeds 0, 1, 2 (" + ", ".join(f"{t:.3f}" for t in tests)
                    + ")"},
        "sequences_penn_train_seconds_mean": {
            "value": round(statistics.mean(r["wall"] for r in runs), 1), "unit": "s",
            "note": f"one run of that command, a whole process with {THREADS} threads"},
    }


def cross_validate(overrides: tuple[str, ...], problems: tuple[str, ...] = PROBLEMS,
                   folds: int = 5, seed: int = 0, parallel: int = 2) -> dict[str, float]:
    """``{problem: accuracy}`` by ``folds``-fold cross-validation on the training cases
    (fold k held out as validation, ``+data.val_fold=[k,folds]``; last weights scored)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-uea-cv-") as tmp:
        for name in problems:
            def one(k: int, name: str = name) -> dict[str, Any]:
                return train_seed(None, seed, dict(os.environ), Path(tmp) / f"{name}{k}",
                                  (*plain_overrides(name), *overrides,
                                   f"+data.val_fold=[{k},{folds}]", "test=false"))

            t0 = time.perf_counter()
            with ThreadPoolExecutor(parallel) as pool:
                runs = list(pool.map(one, range(folds)))
            vals = [r["metrics"].get("val/acc", float("nan")) for r in runs]
            out[name] = statistics.mean(vals)
            print(f"  {name}: CV {out[name]:.4f} (folds {', '.join(f'{v:.3f}' for v in vals)}; "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.uea_dev",
        description="cv: cross-validated training-set accuracy of the plain data=uea command "
                    "(plus OVERRIDES) on every problem; nothing is recorded")
    parser.add_argument("command", choices=["cv"])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    res = cross_validate(tuple(args.overrides), tuple(args.problems.split(",")), args.folds)
    print(f"{' '.join(args.overrides) or '(defaults)'}: CV mean {statistics.mean(res.values()):.4f} "
          + " ".join(f"{k} {v:.3f}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
