"""wandb never prompts: offline by default with no terminal and no API key, a clear stop when
set online without a key; the config, plots and best checkpoint reach the wandb run;
logger=many writes csv, TensorBoard and wandb at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from motionseq.errors import ConfigError
from motionseq.tasks.logging_extras import check_wandb, wandb_mode

REPO = Path(__file__).resolve().parents[1]
TINY = ["experiment=classify_workouts", "data.source.train_per_class=16",
        "data.source.test_per_class=6", "data.source.max_frames=60"]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No wandb key or mode, HOME (netrc, wandb settings) in the test's folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), MOTIONSEQ_ROOT=str(tmp_path), PYTHONPATH=str(REPO / "src"),
               OMP_NUM_THREADS="1", **extra)
    env.pop("NETRC", None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 300
         ) -> subprocess.CompletedProcess:
    # stdin from /dev/null and pipes for output: no terminal anywhere, as in CI or a batch job
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_mode_defaults_to_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert wandb_mode() == "offline" and check_wandb() == "offline"
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert check_wandb() == "disabled"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert check_wandb(offline=True) == "offline"  # the logger's offline=true wins
    with pytest.raises(ConfigError, match="wandb login"):
        check_wandb()
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert check_wandb() == "online"  # `wandb login` wrote the key
    (tmp_path / "netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    assert check_wandb() == "online"
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    with pytest.raises(ConfigError, match="not a wandb mode"):
        check_wandb()


def test_logger_many_composes_three_loggers():
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["logger=many"])
    assert sorted(cfg.logger) == ["csv", "tensorboard", "wandb"]
    assert cfg.logger.wandb._target_ == "motionseq.tasks.logging_extras.wandb_logger"
    assert cfg.logger.wandb.log_model is False


def test_training_logs_offline_without_terminal_or_key(tmp_path):
    """logger=many: csv, TensorBoard and an offline wandb run, no prompt, no key."""
    run = tmp_path / "run"
    proc = _run([str(REPO / "scripts" / "train.py"), *TINY, "trainer.max_epochs=1",
                 "logger=many", f"hydra.run.dir={run}"], _clean_env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1 and list(offline[0].glob("run-*.wandb"))
    assert (run / "csv" / "metrics.csv").is_file()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert "wandb login" not in proc.stdout + proc.stderr  # never asked
    # the run directory records the resolved config, the overrides, the commit and the seed
    assert "hidden:" in (run / "config.yaml").read_text()
    assert "logger=many" in (run / ".hydra" / "overrides.yaml").read_text()
    info = json.loads((run / "run_info.json").read_text())
    assert info["git_commit"] and info["seed"] == 42 and "logger=many" in info["overrides"]


def test_online_without_key_stops_with_the_fix(tmp_path):
    proc = _run([str(REPO / "scripts" / "train.py"), *TINY, "logger=wandb",
                 f"hydra.run.dir={tmp_path / 'run'}"], _clean_env(tmp_path, WANDB_MODE="online"),
                tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "wandb login" in proc.stderr and "WANDB_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before training


def test_config_plots_and_checkpoint_reach_the_offline_run(tmp_path):
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from omegaconf import OmegaConf
        from motionseq.tasks.logging_extras import log_run_extras, wandb_logger

        run = Path(sys.argv[1])
        (run / "plots").mkdir(parents=True)
        plt.imsave(run / "plots" / "confusion_matrix.png", np.eye(6))
        (run / "epoch_003.ckpt").write_bytes(b"weights" * 100)
        (run / "config.yaml").write_text("model:\\n  hidden: 8\\n")
        logger = wandb_logger(project="motionseq", save_dir=str(run))
        logger.log_metrics({"val/acc": 0.5}, step=0)
        cfg = OmegaConf.create({"model": {"hidden": 8, "width": "${model.hidden}"}})
        log_run_extras([logger], cfg, run, run / "epoch_003.ckpt", {"test/acc": 0.75})
        import wandb
        print("finished:", wandb.run is None)
    """)
    run = tmp_path / "run"
    proc = _run(["-c", script, str(run)], _clean_env(tmp_path), tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished: True" in proc.stdout
    offline = next((run / "wandb").glob("offline-run-*"))
    images = list((offline / "files" / "media" / "images").rglob("confusion_matrix*.png"))
    assert images
    record = next(offline.glob("run-*.wandb")).read_bytes()
    run_id = offline.name.rsplit("-", 1)[1]
    assert f"model-{run_id}".encode() in record  # the checkpoint artifact
    assert b"model.ckpt" in record and b"test/acc" in record
    assert b"width" in record  # the resolved config
