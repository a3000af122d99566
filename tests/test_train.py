"""Configs compose and instantiate; both model families train end to end; evaluation from
the checkpoint alone reproduces the test metric in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from motionseq.tasks.train import build, train

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
# small, fast data for tests
TINY = {
    "workouts": ["data.source.train_per_class=16", "data.source.test_per_class=6",
                 "data.source.max_frames=60"],
    "crowds": ["data.source.train_scenes=2", "data.source.val_scenes=1",
               "data.source.test_scenes=1"],
}


def compose_cfg(name: str, overrides: list[str], out: Path, data_dir: Path | None = None
                ) -> DictConfig:
    """Compose conf/<name>.yaml as the scripts do, with the run directory set to ``out``."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
        HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        cfg.paths.log_dir = str(out / "logs")
        if data_dir is not None:
            cfg.paths.data_dir = str(data_dir)
        del cfg["hydra"]
    return cfg


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


def _family(cfg: DictConfig) -> str:
    if "JointPaths" in cfg.data.source._target_:
        return "joint_paths"
    for name in ("EthUcy", "PennAction", "Uea"):
        if name in cfg.data.source._target_:
            return name.lower()
    return "crowds" if "Trajectory" in cfg.data._target_ else "workouts"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(experiment, tmp_path, data_dir, request):
    cfg = compose_cfg("train", [f"experiment={experiment}"], tmp_path, data_dir)
    family = _family(cfg)
    if family == "ethucy":  # real data: read from the shared copy, skip when it is absent
        tiny = [f"data.source.root={request.getfixturevalue('shared_data') / 'ethucy'}",
                "data.scene=hotel"]
    elif family == "pennaction":
        tiny = [f"data.source.root={request.getfixturevalue('shared_data') / 'penn_action'}",
                "data.source.limit_per_class=4", "data.source.actions=[squat,pushup]"]
    elif family == "joint_paths":
        tiny = [f"data.source.poses.root={request.getfixturevalue('shared_data') / 'penn_action'}",
                "data.source.poses.limit_per_class=2"]
    elif family == "uea":
        tiny = [f"data.source.root={request.getfixturevalue('shared_data')}"]
    else:
        tiny = TINY[family]
    cfg = compose_cfg("train", [f"experiment={experiment}", *tiny], tmp_path, data_dir)
    datamodule, model = build(cfg)
    batch = next(iter(datamodule.train_dataloader()))
    assert model.training_step(batch, 0) is not None


@pytest.mark.parametrize("model", sorted(p.stem for p in (CONF / "model").glob("*.yaml")))
def test_every_model_config_instantiates(model, tmp_path, data_dir):
    data = "crowds" if model.startswith("forecaster") else "workouts"
    cfg = compose_cfg("train", [f"model={model}", f"data={data}", *TINY[data]], tmp_path, data_dir)
    _, module = build(cfg)
    assert module.hparams.data_config["_target_"] == cfg.data._target_


@pytest.mark.parametrize("experiment", ["classify_workouts", "forecast_crowds"])
def test_fast_dev_run(experiment, tmp_path, data_dir):
    cfg = compose_cfg("train", [f"experiment={experiment}", "debug=fast_dev_run"], tmp_path,
                      data_dir)
    metrics = train(cfg)
    key = "test/acc" if experiment == "classify_workouts" else "test/ade"
    assert key in metrics and metrics[key] == metrics[key]  # present and not NaN
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "run_info.json").is_file()
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["seed"] == 42 and info["git_commit"]


def _run_script(script: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOTIONSEQ_ROOT": str(cwd), "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("experiment,metric", [("classify_workouts", "test/acc"),
                                               ("forecast_crowds", "test/ade")])
def test_eval_after_train_reproduces_test_metric(experiment, metric, tmp_path, data_dir):
    family = "workouts" if experiment == "classify_workouts" else "crowds"
    cfg = compose_cfg("train", [f"experiment={experiment}", *TINY[family],
                                "trainer.max_epochs=2", "logger=csv"], tmp_path / "train",
                      data_dir)
    result = train(cfg)
    ckpt = result["checkpoint"]
    assert ckpt and Path(ckpt).is_file()
    # a fresh process, the checkpoint alone (the data config travels inside it)
    proc = _run_script("eval.py", [f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'eval'}"],
                       tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated[metric] == result[metric]
    assert (tmp_path / "train" / "plots").is_dir()


@pytest.mark.slow
def test_ddp_sim_trains_in_two_processes(tmp_path):
    """trainer=ddp_sim: the DDP code path (2 CPU processes, gloo) a multi-GPU user runs."""
    run_dir = tmp_path / "run"
    proc = _run_script("train.py", ["experiment=classify_workouts", *TINY["workouts"],
                                    "trainer=ddp_sim", "trainer.max_epochs=2", "logger=csv",
                                    f"hydra.run.dir={run_dir}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert list((run_dir / "checkpoints").glob("epoch_*.ckpt"))
    assert "world_size=2" in proc.stdout + proc.stderr or "distributed_backend=gloo" in (
        proc.stdout + proc.stderr)


@pytest.mark.slow
def test_multirun_sweep_runs_every_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _run_script("train.py", ["-m", "experiment=forecast_crowds", *TINY["crowds"],
                                    "debug=fast_dev_run", "model.cell=rnn,gru",
                                    f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cells = []
    for job in ("0", "1"):
        assert "test/ade" in json.loads((sweep / job / "metrics.json").read_text())
        cells.append(json.loads((sweep / job / "run_info.json").read_text())["overrides"])
    assert any("model.cell=rnn" in o for o in cells[0]) and any("model.cell=gru" in o
                                                                  for o in cells[1])
