"""The default action model on real people: trained on synthetic workouts only, scored on
real pose tracks.

``make bench ARGS=sim2real`` trains the default recipe (``make train``: ``data=workouts``,
``model=classifier``) for three seeds, each in a fresh one-thread process, and scores each
seed's checkpoint on

- every Penn Action **test-split** clip of the classes the model shares with Penn Action
  (squat, push-up, jumping jacks, sit-up, pull-up, jump rope), whole clip through the
  dataset feature path: overall and per-class accuracy, and a confusion matrix plot;
- every clip of ``../shared/data/workout_clips`` of a class the model knows, poses from
  ``motionseq-extract`` (cached under ``data/cache/workout_clips``) fed frame by frame to
  the live view's :class:`~motionseq.live.stream.StreamPredictor` with the live view's
  settings: a clip counts as right when its most-shown label after the first two seconds is
  its class (the generator was tuned on these clips: a figure we tune on);
- "not one of my classes": the AUROC of the model's known-action score, in-class Penn Action
  test clips against the other nine Penn Action actions and the ``other/`` clips;
- the synthetic test split, for contrast.

While tuning, score one checkpoint on the Penn Action **train** split (never the test
split)::

    python -m bench.sim2real score CKPT [--split train|test]

Data: ``$MOTIONSEQ_PENN_ACTION`` (else ``../shared/data/penn_action``) and
``$MOTIONSEQ_WORKOUT_CLIPS`` (else ``../shared/data/workout_clips``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.accuracy import train_seed

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "data" / "cache" / "workout_clips"
PLOTS = ROOT / "bench" / "plots"
SEEDS = (0, 1, 2)
COMMAND = "make bench ARGS=sim2real"
# Penn Action action -> the default model's class
PENN_TO_WORKOUT = {"squat": "squat", "pushup": "push_up", "jumping_jacks": "jumping_jack",
                   "situp": "sit_up", "pullup": "pull_up", "jump_rope": "jump_rope"}
SKIP_S = 2.0  # the live label is read after the first two seconds of a clip
FLOORS = {"penn": 0.85, "clips": 0.80, "open": 0.85}
GOALS = {"penn": 0.95, "clips": 0.95, "open": 0.95}


def penn_root() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_PENN_ACTION") or SHARED / "penn_action")
    if not (root / "labels").is_dir() and not root.is_dir():
        raise FileNotFoundError(f"Penn Action not found at {root}; set MOTIONSEQ_PENN_ACTION")
    return root


def clips_root() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_WORKOUT_CLIPS") or SHARED / "workout_clips")
    if not root.is_dir():
        raise FileNotFoundError(f"workout clips not found at {root}; set "
                                f"MOTIONSEQ_WORKOUT_CLIPS")
    return root


# --------------------------------------------------------------------------- real data


def clip_poses(workers: int = 2, progress: bool = True) -> dict[str, Any]:
    """``{relative clip path: PoseSequence}`` of every workout clip, extracted with
    ``motionseq-extract`` into :data:`CACHE` (resumable: only new or changed clips run)."""
    from motionseq.extract.batch import extract_batch
    from motionseq.sequence import PoseSequence

    summary = extract_batch(clips_root(), CACHE, workers=workers, progress=progress)
    out = {}
    for row in summary.rows:
        if row["status"] != "ok":
            print(f"workout clip skipped: {row['path']}: {row['reason']}", file=sys.stderr)
            continue
        out[row["path"]] = PoseSequence.load(CACHE / Path(row["path"]).with_suffix(".npz"))
    return out


def penn_split(split: str) -> list[Any]:
    """Every Penn Action clip of ``split`` (``train`` or ``test``), all 15 actions."""
    from motionseq.data.penn_action import PennActionSource

    return PennActionSource(str(penn_root())).load()[split]


# --------------------------------------------------------------------------- scoring


@dataclass
class Scores:
    """One checkpoint's figures on real people (fractions in [0, 1])."""

    penn_acc: float
    penn_per_class: dict[str, float]
    penn_confusion: np.ndarray
    penn_classes: list[str]
    clips_acc: float
    clips_per_class: dict[str, float]
    clips_detail: list[tuple[str, str, str]]  # (clip, truth, most-shown label)
    open_auroc: float
    open_auroc_by: dict[str, float] = field(default_factory=dict)
    in_class_kept: float = float("nan")  # in-class Penn clips above the live threshold
    other_rejected: float = float("nan")  # other/ clips shown as "no known action" live
    other_detail: list[tuple[str, str]] = field(default_factory=list)


def whole_clip_logits(model, seqs: list[Any]) -> np.ndarray:
    """Logits ``[N, C]`` of whole sequences through the dataset feature path."""
    import torch

    from motionseq.data.features import PoseFeatures

    feats = PoseFeatures(**(model.hparams.get("features") or {}))
    out = []
    model.eval()
    with torch.no_grad():
        for seq in seqs:
            x = torch.as_tensor(feats(seq))[None]
            out.append(model(x, torch.tensor([x.shape[1]]))[0].numpy())
    return np.stack(out)


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the ROC curve of scores where ``pos`` should score higher (ties 1/2)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def stream_label(model, seq, settings: dict[str, Any]) -> str:
    """The most-shown live label of ``seq`` after its first :data:`SKIP_S` seconds (``no
    person`` frames not counted; ``unknown`` counts)."""
    from motionseq.live.stream import NO_PERSON, StreamPredictor

    pred = StreamPredictor(model, source_layout=seq.layout, fps=seq.fps, **settings)
    shown: Counter[str] = Counter()
    skip = int(round(SKIP_S * seq.fps))
    for t in range(len(seq)):
        kp, vis = seq.keypoints[t], seq.visibility[t]
        person = bool(np.isfinite(kp).any())
        p = pred.push(kp if person else None, vis if person else None)
        if t >= skip and p.label != NO_PERSON:
            shown[p.label] += 1
    return shown.most_common(1)[0][0] if shown else NO_PERSON


def live_settings() -> dict[str, Any]:
    """The live view's stream settings (``conf/webcam.yaml``)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "conf" / "webcam.yaml")
    return dict(OmegaConf.to_container(cfg.stream))


def score_checkpoint(ckpt: str | Path, split: str = "test", clips: dict | None = None,
                     penn: list | None = None, plot: Path | None = None) -> Scores:
    """Score one classifier checkpoint on real people (see the module doc)."""
    import torch

    from motionseq.modules.checkpoint import module_from_checkpoint
    from motionseq.modules.openset import BACKGROUND, SCORES, known_score, score_logits

    torch.set_num_threads(1)
    model = module_from_checkpoint(ckpt).eval()
    classes = list(model.class_names)
    penn = penn if penn is not None else penn_split(split)
    clips = clips if clips is not None else clip_poses()

    # Penn Action, whole clips
    shared = [s for s in penn if PENN_TO_WORKOUT.get(s.label) in classes]
    others = [s for s in penn if s.label not in PENN_TO_WORKOUT]
    logits_in = whole_clip_logits(model, shared)
    truth = np.array([classes.index(PENN_TO_WORKOUT[s.label]) for s in shared])
    guess = logits_in.argmax(1)
    penn_classes = sorted({classes[t] for t in truth}, key=classes.index)
    per_class = {c: float((guess[truth == classes.index(c)] == classes.index(c)).mean())
                 for c in penn_classes}
    confusion = np.zeros((len(penn_classes), len(classes)), dtype=np.int64)
    for t, g in zip(truth, guess, strict=True):
        confusion[penn_classes.index(classes[t]), g] += 1

    # open set: in-class Penn clips against other Penn actions and the other/ clips
    other_clips = [s for k, s in clips.items() if k.split("/")[0] == "other"]
    logits_out = whole_clip_logits(model, others + other_clips)
    s_in, s_out = known_score(model, logits_in), known_score(model, logits_out)
    by = {"penn_other_actions": auroc(s_in, s_out[:len(others)]),
          "other_clips": auroc(s_in, s_out[len(others):])}
    for method in SCORES:  # every score on the same logits, to compare them
        by[method] = auroc(score_logits(logits_in, classes, method),
                           score_logits(logits_out, classes, method))
    threshold = model.hparams.get("known_threshold")
    kept = float((s_in >= threshold).mean()) if threshold is not None else float("nan")

    # the clips, through the live streaming path
    settings = live_settings()
    detail = []
    for rel, seq in sorted(clips.items()):
        label = rel.split("/")[0]
        if label not in classes or label == BACKGROUND:  # other/ clips: the open set
            continue
        detail.append((rel, label, stream_label(model, seq, settings)))
    from motionseq.modules.openset import NO_KNOWN_ACTION

    other_detail = [(rel, stream_label(model, seq, settings))
                    for rel, seq in sorted(clips.items()) if rel.split("/")[0] == "other"]
    clip_per_class: dict[str, list[bool]] = {}
    for _, label, shown in detail:
        clip_per_class.setdefault(label, []).append(shown == label)
    scores = Scores(
        penn_acc=float((guess == truth).mean()), penn_per_class=per_class,
        penn_confusion=confusion, penn_classes=penn_classes,
        clips_acc=float(np.mean([t == s for _, t, s in detail])) if detail else float("nan"),
        clips_per_class={k: float(np.mean(v)) for k, v in clip_per_class.items()},
        clips_detail=detail, open_auroc=auroc(s_in, s_out), open_auroc_by=by,
        in_class_kept=kept,
        other_rejected=float(np.mean([g == NO_KNOWN_ACTION for _, g in other_detail]))
        if other_detail else float("nan"), other_detail=other_detail)
    if plot is not None:
        plot_confusion(confusion, penn_classes, classes, plot,
                       f"Penn Action {split} split, default model (synthetic training only)")
    return scores


def plot_confusion(cm: np.ndarray, rows: list[str], cols: list[str], path: Path,
                   title: str) -> None:
    """Row-normalised confusion matrix (true rows, predicted columns) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(cols), 1.2 + 0.5 * len(rows)))
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [f"{r} ({cm[i].sum()})" for i, r in enumerate(rows)])
    for i in range(len(rows)):
        for j in range(len(cols)):
            if cm[i, j]:
                ax.text(j, i, f"{frac[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (clips)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(s: Scores) -> str:
    lines = [f"Penn Action acc {s.penn_acc:.3f}  " + "  ".join(
        f"{k} {v:.2f}" for k, v in s.penn_per_class.items()),
        f"clips acc {s.clips_acc:.3f}  " + "  ".join(
        f"{k} {v:.2f}" for k, v in s.clips_per_class.items()),
        f"open-set AUROC {s.open_auroc:.3f}  " + "  ".join(
        f"{k} {v:.3f}" for k, v in s.open_auroc_by.items())
        + f"  in-class kept {s.in_class_kept:.2f}  other/ clips rejected live "
        f"{s.other_rejected:.2f}"]
    lines += [f"  {'ok ' if t == g else 'BAD'} {r}: {g}" for r, t, g in s.clips_detail]
    lines += [f"  other {r}: {g}" for r, g in s.other_detail]
    return "\n".join(lines)


# --------------------------------------------------------------------------- benchmark


def finetune_penn(ckpt: Path, seed: int, tmp: Path, per_class: int = 5) -> dict[str, Any]:
    """Fine-tune ``ckpt`` (``init_from``) on the first ``per_class`` Penn Action train clips
    of each shared class, written as a user's sequence folder with the model's class names;
    test on every Penn Action test clip of those classes. ``{"acc", "wall"}``."""
    from motionseq.data.own import save_sequence_folder
    from motionseq.data.penn_action import PennActionSource
    from motionseq.sequence import PoseSequence

    def renamed(seqs: list[Any]) -> list[Any]:
        return [PoseSequence(s.keypoints, s.visibility, s.fps, s.layout,
                             label=PENN_TO_WORKOUT[s.label], source=s.source) for s in seqs]

    root = penn_root()
    few = PennActionSource(str(root), actions=list(PENN_TO_WORKOUT),
                           limit_per_class=per_class).load()["train"]
    test = PennActionSource(str(root), actions=list(PENN_TO_WORKOUT)).load()["test"]
    folder = save_sequence_folder(tmp / f"penn{per_class}",
                                  {"train": renamed(few), "test": renamed(test)})
    run_dir = tmp / f"finetune{seed}"
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "data=sequences",
           f"data.source.root={folder}", "data.source.layout=penn13", f"init_from={ckpt}",
           f"seed={seed}", "logger=csv", f"hydra.run.dir={run_dir}",
           "callbacks.progress_bar=null"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"acc": float(metrics["test/acc"]), "wall": time.perf_counter() - t0}


def _fig(value: float, unit: str, note: str, goal: str | None = None) -> dict[str, Any]:
    out = {"value": round(float(value), 4), "unit": unit, "note": note, "command": COMMAND}
    if goal:
        out["goal"] = goal
    return out


def run(overrides: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Train three seeds of the default recipe and score them on real people."""
    penn = penn_split("test")
    clips = clip_poses()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-sim2real-") as tmp:
        for seed in SEEDS:
            # the default recipe: experiment=classify_workouts is conf/train.yaml's defaults
            r = train_seed("classify_workouts", seed, dict(os.environ), Path(tmp) / f"seed{seed}",
                           (f"data.source.seed={seed}", *overrides))
            r["synthetic"] = r["test"]
            plot = PLOTS / "sim2real_penn_confusion.png" if seed == SEEDS[0] else None
            r["scores"] = score_checkpoint(r["checkpoint"], "test", clips, penn, plot)
            r["finetune"] = finetune_penn(r["checkpoint"], seed, Path(tmp))
            print(f"seed {seed}: synthetic {r['synthetic']:.3f}  {r['wall']:.0f} s  "
                  f"fine-tuned on 5 Penn clips per class: {r['finetune']['acc']:.3f}\n"
                  f"{report(r['scores'])}", flush=True)
            runs.append(r)
    seeds = ", ".join(map(str, SEEDS))

    def mean(get) -> float:
        return statistics.mean(get(r) for r in runs)

    def std(get) -> float:
        return statistics.stdev(get(r) for r in runs)

    sc = [r["scores"] for r in runs]
    out = {
        "sim2real_penn_acc_mean": _fig(
            mean(lambda r: r["scores"].penn_acc), "fraction",
            f"default model (synthetic workouts only) on every Penn Action test clip of the "
            f"{len(sc[0].penn_classes)} shared classes ({int(sc[0].penn_confusion.sum())} clips), "
            f"mean of seeds {seeds} (std {std(lambda r: r['scores'].penn_acc):.3f}); floor "
            f"{FLOORS['penn']}", f">= {GOALS['penn']}"),
        "sim2real_clips_acc_mean": _fig(
            mean(lambda r: r["scores"].clips_acc), "fraction",
            f"share of the real workout clips of known classes ({len(sc[0].clips_detail)}) "
            f"whose most-shown live label after {SKIP_S:g} s is right, mean of seeds {seeds}; "
            f"the generator was tuned on these clips; floor {FLOORS['clips']}",
            f">= {GOALS['clips']}"),
        "sim2real_open_auroc": _fig(
            mean(lambda r: r["scores"].open_auroc), "AUROC",
            "known-action score: in-class Penn Action test clips against the other Penn "
            f"Action actions and the other/ clips, mean of seeds {seeds}; floor "
            f"{FLOORS['open']}", f">= {GOALS['open']}"),
        **{f"sim2real_open_auroc_{m}": _fig(
            mean(lambda r, m=m: r["scores"].open_auroc_by[m]), "AUROC",
            f"the open-set AUROC above with the {m} score on the same logits (the model's "
            f"setting is model.open_set), mean of seeds") for m in ("msp", "energy")},
        "sim2real_in_class_kept": _fig(
            mean(lambda r: r["scores"].in_class_kept), "fraction",
            "in-class Penn Action test clips whose known-action score is at or above the "
            "live view's threshold (chosen on synthetic validation), mean of seeds"),
        "sim2real_other_rejected": _fig(
            mean(lambda r: r["scores"].other_rejected), "fraction",
            f"the {len(sc[0].other_detail)} other/ clips (walking, yoga, wall sits, mixed) whose "
            "most-shown live label is 'no known action', mean of seeds"),
        "sim2real_synthetic_acc_mean": _fig(
            mean(lambda r: r["synthetic"]), "fraction",
            f"the same checkpoints on the synthetic test split, for contrast, seeds {seeds}"),
        "finetune5_penn_acc": _fig(
            mean(lambda r: r["finetune"]["acc"]), "fraction",
            "each seed's default checkpoint fine-tuned (init_from, defaults) on the first 5 "
            "Penn Action train clips of each shared class as a sequence folder, then every "
            f"Penn Action test clip of those classes, mean of seeds {seeds}; floor 0.93"),
        "finetune5_seconds_mean": _fig(
            mean(lambda r: r["finetune"]["wall"]), "s",
            "one such fine-tuning run (whole one-thread process)"),
        "sim2real_train_seconds_mean": _fig(
            mean(lambda r: r["wall"]), "s",
            f"one `make train` (whole one-thread process) on {os.cpu_count()} CPU cores"),
    }
    for c in sc[0].penn_per_class:
        out[f"sim2real_penn_acc_{c}"] = _fig(
            statistics.mean(s.penn_per_class[c] for s in sc), "fraction",
            f"Penn Action test clips of {c}, mean of seeds {seeds}")
    for c in sc[0].clips_per_class:
        n = sum(1 for _, t, _ in sc[0].clips_detail if t == c)
        out[f"sim2real_clips_acc_{c}"] = _fig(
            statistics.mean(s.clips_per_class[c] for s in sc), "fraction",
            f"real workout clips of {c} ({n}), live label right, mean of seeds {seeds}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sim2real", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sc = sub.add_parser("score", help="score one checkpoint (no results recorded)")
    sc.add_argument("ckpt")
    sc.add_argument("--split", default="train", choices=("train", "test"),
                    help="Penn Action split (tune on train; default train)")
    sc.add_argument("--plot", type=Path, default=None)
    args = ap.parse_args(argv)
    print(report(score_checkpoint(args.ckpt, args.split, plot=args.plot)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
