"""The ETH/UCY table: each scene's trained forecaster beside constant velocity and a linear
fit on exactly the same test windows, per scene and as the mean of the scenes.

``motionseq-ethucy SWEEP_DIR`` (``make eval-ethucy ARGS=SWEEP_DIR``) reads the runs of a
multirun such as ``make train ARGS="-m experiment=forecast_ethucy
data.scene=eth,hotel,univ,zara1,zara2"``, evaluates each scene's best checkpoint on its
test split and writes ``ethucy_table.json``, ``ethucy_table.md`` and one plot of sample
predictions per scene into SWEEP_DIR.

For a multimodal checkpoint (a module with ``sample``) the ``model`` column is its single
most-likely forecast and a ``best-of-K`` column adds the minimum ADE and FDE over ``K``
samples (20 as published work reports), drawn from a fixed seed so the table repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from motionseq.data.ethucy import SCENES, read_scene
from motionseq.data.trajectories import make_windows
from motionseq.errors import CheckpointError, ConfigError, DataError, MotionseqError
from motionseq.fileio import atomic_write
from motionseq.models.baselines import constant_velocity, linear_fit
from motionseq.modules.checkpoint import module_from_checkpoint
from motionseq.modules.metrics import best_of_k, displacement_errors

MODELS = ("model", "cv", "linear")
BEST_OF = 20
SAMPLE_SEED = 0


def find_scene_runs(sweep_dir: str | Path) -> dict[str, Path]:
    """``{scene: best checkpoint}`` for every ETH/UCY run below ``sweep_dir``."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise DataError(f"sweep folder not found: {sweep_dir}")
    runs: dict[str, Path] = {}
    for config in _run_configs(sweep_dir):
        cfg = OmegaConf.load(config)
        scene = OmegaConf.select(cfg, "data.scene")
        if scene is None or "EthUcy" not in str(OmegaConf.select(cfg, "data.source._target_")):
            continue
        ckpts = sorted((config.parent / "checkpoints").glob("epoch_*.ckpt"))
        if not ckpts:
            raise CheckpointError(f"{config.parent} has no best checkpoint (epoch_*.ckpt); "
                                  f"did that run finish?")
        if scene in runs:
            raise DataError(f"two runs for scene {scene!r} in {sweep_dir}: {runs[scene]} and "
                            f"{ckpts[-1]}; pass one sweep folder")
        runs[scene] = ckpts[-1]
    if not runs:
        raise DataError(f"no ETH/UCY runs (config.yaml with data=ethucy) below {sweep_dir}; "
                        f'train them with make train ARGS="-m experiment=forecast_ethucy '
                        f'data.scene=eth,hotel,univ,zara1,zara2"')
    return runs


def group_chunks(group: np.ndarray, size: int) -> list[slice]:
    """Slices of at most ``size`` rows that never split a group (rows of a group
    contiguous); a group larger than ``size`` is a slice of its own."""
    n = len(group)
    bounds = np.r_[np.flatnonzero(np.r_[True, group[1:] != group[:-1]]), n]
    out, a = [], 0
    while a < n:
        ends = bounds[(bounds > a) & (bounds <= a + size)]
        b = int(ends[-1]) if len(ends) else int(bounds[bounds > a][0])
        out.append(slice(a, b))
        a = b
    return out


@torch.no_grad()
def predict(model: torch.nn.Module, obs: np.ndarray, group: np.ndarray | None = None,
            batch_size: int = 4096) -> np.ndarray:
    """The model's forecasts ``[N, pred_len, 2]`` for observed paths ``[N, obs_len, 2]``;
    ``group [N]`` (contiguous) tells a social model which agents were present together."""
    g = np.zeros(len(obs), np.int64) if group is None else group
    parts = []
    for sl in group_chunks(g, batch_size):
        x = torch.from_numpy(obs[sl])
        parts.append((model(x, torch.from_numpy(g[sl])) if group is not None else model(x))
                     .numpy())
    return np.concatenate(parts)


@torch.no_grad()
def best_of_k_errors(model: torch.nn.Module, obs: np.ndarray, fut: np.ndarray, k: int = BEST_OF,
                     seed: int = SAMPLE_SEED, batch_size: int = 1024,
                     group: np.ndarray | None = None) -> tuple[float, float]:
    """``(minADE, minFDE)`` in metres over ``k`` samples of ``model.sample`` per window,
    ADE and FDE each minimised separately over the samples, as published tables do."""
    generator = torch.Generator().manual_seed(seed)
    g = np.zeros(len(obs), np.int64) if group is None else group
    ade_sum = fde_sum = 0.0
    for sl in group_chunks(g, batch_size):
        kwargs = {} if group is None else {"group": torch.from_numpy(g[sl])}
        samples = model.sample(torch.from_numpy(obs[sl]), k, generator=generator, **kwargs)
        a, f = best_of_k(samples, torch.from_numpy(fut[sl]))
        n = samples.shape[0]
        ade_sum, fde_sum = ade_sum + float(a) * n, fde_sum + float(f) * n
    return ade_sum / len(obs), fde_sum / len(obs)


def errors(pred: np.ndarray, fut: np.ndarray) -> tuple[float, float]:
    """``(ADE, FDE)`` in metres."""
    e = displacement_errors(torch.from_numpy(pred), torch.from_numpy(fut))
    return float(e.mean()), float(e[:, -1].mean())


def load_forecaster(ckpt: str | Path, mirror_average: bool | None = None) -> torch.nn.Module:
    """The checkpoint's forecaster; ``mirror_average`` True or False overrides its own
    setting (``model.mirror_average``), None keeps it."""
    model = module_from_checkpoint(ckpt)
    if mirror_average is not None:
        if not hasattr(model, "set_mirror_average"):
            raise ConfigError(f"{ckpt} holds a {type(model).__name__}, which has no mirror "
                              f"average")
        model.set_mirror_average(mirror_average)
    return model


def validation_errors(ckpt: str | Path, root: str | Path, scene: str,
                      mirror_average: bool | None = None,
                      val_scene: str | None = None) -> dict[str, float]:
    """``{"val_ade", "val_fde"}`` of the checkpoint on the validation windows of ``scene``'s
    split (from its training scenes, or the held-out ``val_scene``): the figures settings
    are chosen on."""
    return _validate(load_forecaster(ckpt, mirror_average), root, scene, val_scene)


def _validate(model: torch.nn.Module, root: str | Path, scene: str,
              val_scene: str | None = None) -> dict[str, float]:
    """:func:`validation_errors` of a loaded forecaster."""
    v = make_windows(read_scene(root, scene, splits=("val",), val_scene=val_scene)["val"],
                     model.hparams.obs_len, model.hparams.pred_len)
    group = v.groups() if getattr(model, "social", False) else None
    ade, fde = errors(predict(model, v.obs, group), v.fut)
    return {"val_ade": ade, "val_fde": fde}


def evaluate_scene(ckpt: str | Path, root: str | Path, scene: str,
                   plot_path: Path | None = None, samples: int = 6,
                   mirror_average: bool | None = None) -> dict[str, Any]:
    """ADE/FDE of the checkpoint, constant velocity and a linear fit on ``scene``'s test
    windows; plots ``samples`` predictions to ``plot_path`` when given."""
    return _evaluate(load_forecaster(ckpt, mirror_average), ckpt, root, scene, plot_path,
                     samples)


def _evaluate(model: torch.nn.Module, ckpt: str | Path, root: str | Path, scene: str,
              plot_path: Path | None = None, samples: int = 6) -> dict[str, Any]:
    """:func:`evaluate_scene` of a loaded forecaster (``ckpt``: where it came from)."""
    hp = model.hparams
    tracks = read_scene(root, scene, splits=("test",))["test"]
    w = make_windows(tracks, hp.obs_len, hp.pred_len)
    if len(w) == 0:
        raise DataError(f"scene {scene!r} has no {hp.obs_len + hp.pred_len}-step test windows")
    obs_t = torch.from_numpy(w.obs)
    group = w.groups() if getattr(model, "social", False) else None
    preds = {"model": predict(model, w.obs, group),
             "cv": constant_velocity(obs_t, hp.pred_len).numpy(),
             "linear": linear_fit(obs_t, hp.pred_len).numpy()}
    row: dict[str, Any] = {"windows": len(w), "checkpoint": str(ckpt)}
    for name, pred in preds.items():
        row[f"{name}_ade"], row[f"{name}_fde"] = errors(pred, w.fut)
    if hasattr(model, "sample"):
        row["best_ade"], row["best_fde"] = best_of_k_errors(model, w.obs, w.fut, group=group)
        row["best_k"] = BEST_OF
    if plot_path is not None:
        from motionseq.plots import plot_trajectories

        # the windows where the model gains most and loses most against constant velocity
        gain = (np.linalg.norm(preds["cv"] - w.fut, axis=-1).mean(1)
                - np.linalg.norm(preds["model"] - w.fut, axis=-1).mean(1))
        order = np.argsort(gain)
        pick = np.r_[order[-(samples - samples // 2):], order[:samples // 2]]
        plot_trajectories(w.obs[pick], w.fut[pick], preds["model"][pick], plot_path,
                          baseline=preds["cv"][pick])
    return row


def mean_row(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The unweighted mean over scenes, as published tables report it."""
    models = MODELS + (("best",) if all("best_ade" in r for r in rows.values()) else ())
    models += ("val",) if all("val_ade" in r for r in rows.values()) else ()
    keys = [f"{m}_{k}" for m in models for k in ("ade", "fde")]
    return {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}


def render_markdown(table: dict[str, Any]) -> str:
    m = table["mean"]
    models = MODELS + (("best",) if "best_ade" in m else ())
    heads = ["model ADE/FDE", "constant velocity", "linear fit"]
    if "best_ade" in m:
        heads = ["model (most likely)", "constant velocity", "linear fit", f"best of {BEST_OF}"]
    lines = ["| scene | windows | " + " | ".join(heads) + " |",
             "|---|---:|" + "---|" * len(heads)]
    for scene, r in table["scenes"].items():
        lines.append(f"| {scene} | {r['windows']} | " + " | ".join(
            f"{r[f'{k}_ade']:.3f}/{r[f'{k}_fde']:.3f}" for k in models) + " |")
    lines.append("| **mean** | | " + " | ".join(
        f"**{m[f'{k}_ade']:.3f}/{m[f'{k}_fde']:.3f}**" for k in models) + " |")
    note = "" if table["complete"] else (
        f"\nOnly {len(table['scenes'])} of the 5 scenes: the mean is not comparable with "
        f"published five-scene means.\n")
    return ("# ETH/UCY (observe 8, predict 12; ADE/FDE in metres)\n\n" + "\n".join(lines)
            + "\n" + note + f"\nEvaluated in {table['eval_seconds']:.1f} s.\n")


def ethucy_table(sweep_dir: str | Path, root: str | Path, plots: bool = True,
                 val: bool = False, mirror_average: bool | None = None) -> dict[str, Any]:
    """Evaluate every scene run below ``sweep_dir``; write and return the table. ``val``
    adds each checkpoint's validation ADE/FDE (timed apart from the test evaluation);
    ``mirror_average`` (True/False) overrides the checkpoints' own setting."""
    sweep_dir = Path(sweep_dir)
    runs = find_scene_runs(sweep_dir)
    seconds = 0.0
    rows = {}
    for scene in [s for s in SCENES if s in runs]:
        plot = sweep_dir / "plots" / f"ethucy_{scene}.png" if plots else None
        t0 = time.perf_counter()
        model = load_forecaster(runs[scene], mirror_average)  # once for test and val
        rows[scene] = _evaluate(model, runs[scene], root, scene, plot)
        seconds += time.perf_counter() - t0
        if val:
            rows[scene].update(_validate(model, root, scene))
    table = {"scenes": rows, "mean": mean_row(rows), "complete": len(rows) == len(SCENES),
             "eval_seconds": seconds}
    text = json.dumps(table, indent=2) + "\n"
    atomic_write(sweep_dir / "ethucy_table.json", lambda p: p.write_text(text))
    md = render_markdown(table)
    atomic_write(sweep_dir / "ethucy_table.md", lambda p: p.write_text(md))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motionseq-ethucy",
        description="ETH/UCY table of a multirun over scenes: model vs constant velocity "
                    "and linear fit on the same test windows.")
    parser.add_argument("sweep_dir", help="e.g. logs/train/multiruns/<time>")
    parser.add_argument("--root", default=None,
                        help="ETH/UCY folder (default: the one the runs were trained on)")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    try:
        root = args.root or _trained_root(args.sweep_dir)
        table = ethucy_table(args.sweep_dir, root, plots=not args.no_plots)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(render_markdown(table))
    print(f"written: {Path(args.sweep_dir) / 'ethucy_table.md'} (and .json, plots/)")
    return 0


def _run_configs(sweep_dir: Path) -> list[Path]:
    """The resolved ``config.yaml`` of each run (not Hydra's own copies in ``.hydra/``)."""
    return [p for p in sorted(sweep_dir.glob("**/config.yaml")) if p.parent.name != ".hydra"]


def _trained_root(sweep_dir: str | Path) -> str:
    """The ETH/UCY root recorded in the first run's resolved config."""
    for config in _run_configs(Path(sweep_dir)):
        root = OmegaConf.select(OmegaConf.load(config), "data.source.root")
        if root is not None:
            return str(root)
    raise DataError(f"no run config below {sweep_dir}; pass --root")
