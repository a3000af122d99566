"""Sweeps: an Optuna search that continues its study when run again, a grid with parallel
local trials, the summary (table, plot, best experiment), search-space and launcher checks."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from motionseq.errors import ConfigError
from motionseq.sweeps.best_experiment import BEST_EXPERIMENT
from motionseq.sweeps.checks import SweepConfigError, check_launcher
from motionseq.sweeps.report import SUMMARY_CSV, SUMMARY_MD, SUMMARY_PNG, main, write_summary
from motionseq.sweeps.summary import summarize_sweep

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
# one batch of train, val and test on a few short synthetic clips
TINY = ["experiment=classify_workouts", "debug=fast_dev_run", "data.source.train_per_class=16",
        "data.source.test_per_class=6", "data.source.max_frames=60"]


def _train(args: list[str], root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOTIONSEQ_ROOT": str(root), "PYTHONPATH": str(REPO / "src"),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def _rows(sweep: Path) -> list[dict[str, str]]:
    with open(sweep / SUMMARY_CSV, newline="") as fh:
        return list(csv.DictReader(fh))


def _study_trials(storage: str, name: str) -> list:
    import optuna

    return optuna.load_study(study_name=name, storage=storage).trials


def _compose_experiment(text: str, tmp_path: Path) -> OmegaConf:
    """Compose train.yaml with ``text`` as conf/experiment/best.yaml (in a copy of conf/)."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "experiment" / "best.yaml").write_text(text)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(config_name="train", overrides=["experiment=best"],
                       return_hydra_config=True)


@pytest.mark.slow
def test_optuna_search_summary_and_resume(tmp_path):
    """A 2-trial search; the same command again adds 2 trials to the same study."""
    args = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", *TINY]
    first = _train([*args, f"hydra.sweep.dir={tmp_path / 's1'}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    sweep = tmp_path / "s1"
    rows = _rows(sweep)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert {"model.cell", "model.hidden", "model.optimizer.lr", "val/acc", "test/acc"} <= set(
        rows[0])
    values = [float(r["val/acc"]) for r in rows]
    assert values == sorted(values, reverse=True)  # val/acc: max is best, best first
    md = (sweep / SUMMARY_MD).read_text()
    assert "| rank | job | model.cell" in md and "2 trials: 2 ok, 0 failed" in md
    assert (sweep / SUMMARY_PNG).stat().st_size > 1000
    # the objective each trial returned is the metric in its metrics.json
    job = sweep / rows[0]["job"]
    assert float(rows[0]["val/acc"]) == json.loads((job / "metrics.json").read_text())["val/acc"]
    # the run dir records the resolved config, the overrides, the commit and the seed
    info = json.loads((job / "run_info.json").read_text())
    assert info["git_commit"] and info["seed"] == 42
    assert any(o.startswith("model.hidden=") for o in info["overrides"])
    assert (job / "config.yaml").is_file() and (job / ".hydra" / "overrides.yaml").is_file()

    # the best trial as an experiment file: it composes to the best trial's settings
    best = (sweep / BEST_EXPERIMENT).read_text()
    assert best.startswith("# @package _global_")
    assert "debug" not in best.split("defaults:")[1]  # search and debug settings left out
    cfg = _compose_experiment(best, tmp_path)
    won = dict(o.split("=", 1) for o in info["overrides"])
    assert str(cfg.model.hidden) == won["model.hidden"] and cfg.model.cell == won["model.cell"]
    assert cfg.data.source.train_per_class == 16 and "fast_dev_run" not in cfg.trainer

    study = json.loads((sweep / "optuna_study.json").read_text())
    assert study["storage"].startswith("sqlite:///") and study["study_name"]
    trials = _study_trials(study["storage"], study["study_name"])
    assert len(trials) == 2

    # run again (as after a kill): the study continues with new trials, not repeated ones
    second = _train([*args, f"hydra.sweep.dir={tmp_path / 's2'}"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    trials = _study_trials(study["storage"], study["study_name"])
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
    assert trials[2].params != trials[0].params  # the sampler was not restarted from scratch
    assert "4 trials over all its runs" in (tmp_path / "s2" / SUMMARY_MD).read_text()


@pytest.mark.slow
def test_grid_with_parallel_trials_lists_the_failed_one(tmp_path):
    """A 2-point grid plus a broken point, two trials at a time (joblib)."""
    sweep = tmp_path / "grid"
    proc = _train(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY,
                   "model.hidden=8,16,-1", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode != 0  # a failed trial fails the multirun ...
    rows = _rows(sweep)  # ... but the summary lists it
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]
    assert rows[2]["model.hidden"] == "-1" and "hidden" in rows[2]["error"]
    assert {rows[0]["model.hidden"], rows[1]["model.hidden"]} == {"8", "16"}
    assert "failed: ConfigError" in (sweep / SUMMARY_MD).read_text()
    best = yaml.safe_load((sweep / BEST_EXPERIMENT).read_text())
    assert best["model"]["hidden"] == int(rows[0]["model.hidden"])
    # the console script redoes it, with the plot
    assert main([str(sweep)]) == 0
    assert (sweep / SUMMARY_PNG).is_file()


def test_search_key_not_in_config_stops_before_any_job(tmp_path):
    proc = _train(["-m", *TINY, "model.hiden=16,32", f"hydra.sweep.dir={tmp_path / 's'}"],
                  tmp_path)
    assert proc.returncode == 2
    assert "model.hiden" in proc.stderr and "did you mean model.hidden" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "s").glob("*/metrics.json"))


def test_optuna_params_key_not_in_config(tmp_path):
    """A search space in its own hparams_search file, with a misspelt key."""
    extra = tmp_path / "extra" / "hparams_search"
    extra.mkdir(parents=True)
    (extra / "typo.yaml").write_text(
        "# @package _global_\ndefaults:\n  - optuna\nhydra:\n  sweeper:\n    params:\n"
        "      model.optimizer.lrr: interval(0.001, 0.01)\n")
    proc = _train(["-m", f"--config-dir={tmp_path / 'extra'}", "hparams_search=typo", *TINY,
                   f"hydra.sweep.dir={tmp_path / 's'}"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "model.optimizer.lrr" in proc.stderr and "did you mean model.optimizer.lr" in proc.stderr
    assert "Study name" not in proc.stdout + proc.stderr  # stopped before the study


# --- the summary on a sweep directory made by hand -------------------------------------------

def _job(sweep: Path, job: str, overrides: list[str], metrics: dict | None,
         monitor: str = "val/ade", mode: str = "min", error: str | None = None) -> None:
    d = sweep / job
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (d / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(
        {"hydra": {"runtime": {"choices": {"model": "forecaster", "data": "crowds",
                                           "experiment": "forecast_crowds", "debug": None}}}}))
    (d / "config.yaml").write_text(yaml.safe_dump(
        {"optimized_metric": monitor, "model": {"monitor_mode": mode}}))
    if metrics is not None:
        (d / "metrics.json").write_text(json.dumps(metrics))
    if error is not None:
        (d / "job_status.json").write_text(json.dumps({"status": "FAILED", "error": error}))


def test_summary_ranks_min_metrics_and_keeps_failed_trials(tmp_path):
    sweep = tmp_path / "sweep"
    base = ["experiment=forecast_crowds", "data.source.train_scenes=2"]
    _job(sweep, "0", [*base, "model.hidden=32", "model.optimizer.lr=0.001"],
         {"val/ade": 0.50, "test/ade": 0.55})
    _job(sweep, "1", [*base, "model.hidden=64", "model.optimizer.lr=0.01"],
         {"val/ade": 0.30, "test/ade": 0.35})
    _job(sweep, "2", [*base, "model.hidden=128", "model.optimizer.lr=0.003"], None,
         error="RuntimeError: out of memory")
    _job(sweep, "3", [*base, "model.hidden=256", "model.optimizer.lr=0.0003"],
         {"val/ade": float("nan")})
    _job(sweep, "10", [*base, "model.hidden=16", "model=forecaster_cvae",
                       "model.optimizer.lr=0.002"], {"val/ade": 0.40, "test/ade": 0.41})
    summary = write_summary(sweep)
    assert summary.metric == "val/ade" and summary.mode == "min"
    assert [t.job for t in summary.trials] == ["1", "10", "0", "2", "3"]
    assert [t.status for t in summary.trials] == ["ok", "ok", "ok", "failed", "failed"]
    assert summary.trials[3].error == "RuntimeError: out of memory"
    assert "NaN" in summary.trials[4].error or "nan" in summary.trials[4].error
    assert summary.swept == ["model.hidden", "model.optimizer.lr", "model"]
    assert summary.fixed == base
    rows = _rows(sweep)
    assert [r["job"] for r in rows] == ["1", "10", "0", "2", "3"]
    assert rows[0]["rank"] == "1" and rows[3]["rank"] == "" and rows[0]["test/ade"] == "0.35"
    md = (sweep / SUMMARY_MD).read_text()
    assert "| 1 | 1 | 64 | 0.01 |  | 0.3000 | 0.3500 | ok |" in md
    assert "failed: RuntimeError: out of memory" in md
    assert (sweep / SUMMARY_PNG).is_file()
    best = (sweep / BEST_EXPERIMENT).read_text()
    assert "  - forecast_crowds\n" in best and "_self_" in best
    body = yaml.safe_load(best)
    assert body["model"] == {"hidden": 64, "optimizer": {"lr": 0.01}}
    assert body["data"] == {"source": {"train_scenes": 2}}
    assert summarize_sweep(sweep, mode="max").best.job == "0"


def test_best_experiment_overrides_groups(tmp_path):
    sweep = tmp_path / "sweep"
    _job(sweep, "0", ["experiment=classify_workouts", "model=classifier_bigru",
                      "model.hidden=48", "hparams_search=optuna", "hydra.launcher.n_jobs=2"],
         {"val/acc": 0.9}, monitor="val/acc", mode="max")
    (sweep / "0" / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(
        {"hydra": {"runtime": {"choices": {"model": "classifier_bigru", "data": "workouts",
                                           "experiment": "classify_workouts",
                                           "hparams_search": "optuna"}}}}))
    write_summary(sweep, plot=False)
    text = (sweep / BEST_EXPERIMENT).read_text()
    assert "  - override /model: classifier_bigru" in text
    assert "hparams_search=optuna hydra.launcher.n_jobs=2" in text  # named as left out
    cfg = _compose_experiment(text, tmp_path)
    assert cfg.model.hidden == 48 and cfg.model.bidirectional is True  # classifier_bigru
    assert cfg.hydra.runtime.choices.model == "classifier_bigru"
    assert cfg.tags == ["workouts", "classifier"]  # from classify_workouts


def test_summary_of_an_empty_folder_says_what_to_pass(tmp_path, capsys):
    with pytest.raises(ConfigError, match="no trials"):
        summarize_sweep(tmp_path)
    assert main([str(tmp_path)]) == 2
    assert "multiruns" in capsys.readouterr().err


# --- launchers -------------------------------------------------------------------------------

def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def test_slurm_launcher_follows_the_trainer():
    cfg = _compose(["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4",
                    "trainer.num_nodes=2", "hydra.launcher.partition=gpu"])
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert (launcher["gpus_per_node"], launcher["tasks_per_node"], launcher["nodes"]) == (4, 4, 2)
    assert launcher["partition"] == "gpu"
    check_launcher(cfg)
    gpu = _compose(["hydra/launcher=slurm", "trainer=gpu"])
    assert OmegaConf.select(gpu, "hydra.launcher.nodes") == 1
    check_launcher(gpu)
    with pytest.raises(SweepConfigError, match="gpus_per_node=0"):
        check_launcher(_compose(["hydra/launcher=slurm"]))  # trainer=cpu
    with pytest.raises(SweepConfigError, match="tasks_per_node"):
        check_launcher(_compose(["hydra/launcher=slurm", "trainer=ddp",
                                 "hydra.launcher.tasks_per_node=1"]))


def test_optuna_config_follows_the_model():
    cfg = _compose(["hparams_search=optuna", "experiment=forecast_crowds"])
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
    assert sweeper["direction"] == "minimize"  # val/ade
    assert sweeper["study_name"] == "train-crowds-forecaster"
    assert sweeper["storage"].startswith("sqlite:///") and sweeper["storage"].endswith(".db")
    assert sweeper["sampler"]["_target_"].endswith("TPESampler")
    assert sweeper["sampler"]["seed"] == 42
    for key in sweeper["params"]:  # every searched key exists for both model families
        assert OmegaConf.select(cfg, key) is not None, key
    cls = _compose(["hparams_search=optuna"])
    assert cls.hydra.sweeper.direction == "maximize"  # val/acc
    joblib = _compose(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert joblib.hydra.launcher._target_.endswith("JoblibLauncher")
