"""Training survives being killed: a run SIGKILLed mid-epoch and resumed with
``hydra.run.dir=<its run dir> ckpt_path=last`` ends exactly where the uninterrupted run
ends (steps, weights, metrics); checkpoints are written atomically and load with
``weights_only=True``; resuming what cannot be resumed says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from motionseq.errors import CheckpointError
from motionseq.modules.checkpoint import AtomicCheckpointIO
from motionseq.tasks.train import build, check_resumable, resume_checkpoint, train
from tests.test_train import TINY, compose_cfg

REPO = Path(__file__).resolve().parents[1]
# 84 training clips of six classes in batches of 8: 11 steps an epoch, 132 in all; last.ckpt every 10
# steps and at every epoch end. Dropout stays on: the random states must be restored too.
# A plateau scheduler with patience 1 halves the learning rate several times, so a resume
# that loses or repeats an epoch's scheduler step shows in the weights. The weights are
# averaged (model.ema_decay): a resume must carry the average and the raw weights on.
RUN = ["experiment=classify_workouts", *TINY["workouts"], "data.batch_size=8",
       "data.source.classes=[squat,push_up,jumping_jack,lunge,arm_circles,standing]",
       "trainer.max_epochs=12", "trainer.deterministic=true", "logger=csv",
       "callbacks.last_checkpoint.every_n_train_steps=10", "callbacks.progress_bar=null",
       "model.scheduler.patience=1", "model.ema_decay=0.9"]
STEPS_PER_EPOCH = 11


class PauseAt(pl.Callback):
    """Test helper: at optimizer step ``step`` write ``marker`` and wait to be killed."""

    def __init__(self, step: int, marker: str) -> None:
        self.step, self.marker = step, marker

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            Path(self.marker).write_text(str(trainer.global_step))
            time.sleep(600)


def _env(cwd: Path) -> dict[str, str]:
    return {**os.environ, "MOTIONSEQ_ROOT": str(cwd), "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


def _train(args: list[str], cwd: Path, **env: str) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=cwd,
                          env={**_env(cwd), **env}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _train_and_kill(args: list[str], cwd: Path, step: int) -> None:
    """Start a run that pauses after optimizer step ``step``, SIGKILL it there."""
    marker = cwd / f"paused-{step}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "train.py"), *args,
         "+callbacks.pause._target_=tests.test_resume.PauseAt", f"+callbacks.pause.step={step}",
         f"+callbacks.pause.marker={marker}"],
        cwd=cwd, env=_env(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, f"the run ended before step {step}: " \
                                        f"{proc.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "the run never reached the pause"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _csv_rows(run: Path) -> list[dict]:
    import csv

    with (run / "csv" / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _last(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("full")
    _train([*RUN, f"hydra.run.dir={cwd / 'run'}"], cwd)
    return cwd / "run"


@pytest.mark.slow
@pytest.mark.parametrize("kill_at,resume_from", [(42, 40), (45, 44)],
                         ids=["mid-epoch", "epoch-end"])
def test_killed_run_resumes_to_the_uninterrupted_result(kill_at, resume_from, uninterrupted,
                                                        tmp_path):
    run = tmp_path / "run"
    _train_and_kill([*RUN, f"hydra.run.dir={run}"], tmp_path, kill_at)
    left = _last(run)
    assert left["global_step"] == resume_from
    position = left["ActionDataModule"]["train_position"]
    if resume_from % STEPS_PER_EPOCH:  # killed mid-epoch: resume skips the trained batches
        assert position == {"epoch": resume_from // STEPS_PER_EPOCH,
                            "batches": resume_from % STEPS_PER_EPOCH}
    else:
        assert position == {"epoch": resume_from // STEPS_PER_EPOCH, "batches": 0}
    # what a resume needs, in weights_only-safe form
    assert {"optimizer_states", "lr_schedulers", "loops", "callbacks",
            "motionseq_rng"} <= set(left)
    assert not (run / "metrics.json").exists()

    _train([*RUN, f"hydra.run.dir={run}", "ckpt_path=last"], tmp_path)
    full, resumed = _last(uninterrupted), _last(run)
    assert resumed["global_step"] == full["global_step"] == 12 * STEPS_PER_EPOCH
    assert resumed["epoch"] == full["epoch"]
    # the averaged weights (model.ema_decay) and the raw ones the training goes on from
    for part in ("state_dict", "current_model_state"):
        for key, value in full[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)
    expected = json.loads((uninterrupted / "metrics.json").read_text())
    assert json.loads((run / "metrics.json").read_text()) == expected
    # the CSV log holds each step once, as the uninterrupted run's does
    rows = [_csv_rows(r) for r in (uninterrupted, run)]
    assert [(r["epoch"], r["step"]) for r in rows[1]] == [(r["epoch"], r["step"])
                                                          for r in rows[0]]
    # ... with the same values, except the training metrics averaged over the epoch the run
    # resumed in (they average the batches trained after the resume only)
    resumed_epoch = str(resume_from // STEPS_PER_EPOCH)
    for a, b in zip(rows[0], rows[1], strict=True):
        keys = [k for k in a if not (a["epoch"] == resumed_epoch and k.startswith("train/"))]
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}, (a, b)
    info = json.loads((run / "run_info.json").read_text())
    assert info["resumed_from"].endswith("last.ckpt")


# --------------------------------------------------------------------------- atomic writes

_KILLED_WRITER = """
import sys, time, torch
from motionseq.modules.checkpoint import AtomicCheckpointIO
io, path = AtomicCheckpointIO(), sys.argv[1]
io.save_checkpoint({"step": 1, "w": torch.zeros(4)}, path)
real_save = torch.save
def stalled_save(obj, fh):
    real_save(obj, fh)
    fh.flush()
    fh.truncate(fh.tell() // 2)  # half a file on disk ...
    print("writing", flush=True)
    time.sleep(600)              # ... when the kill comes
torch.save = stalled_save
io.save_checkpoint({"step": 2, "w": torch.ones(1 << 20)}, path)
"""


def test_kill_while_saving_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the torn write
    assert torch.load(path, weights_only=True)["step"] == 1
    # the next save replaces the file and clears the torn temporary file
    AtomicCheckpointIO().save_checkpoint({"step": 3}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert torch.load(path, weights_only=True)["step"] == 3


def test_checkpoint_io_reads_weights_only_and_names_bad_files(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch checkpoint"):
        AtomicCheckpointIO().load_checkpoint(bad)
    unsafe = tmp_path / "unsafe.ckpt"
    torch.save({"motionseq": {"format": 1}, "state_dict": {}, "obj": PauseAt(1, "x")}, unsafe)
    with pytest.raises(CheckpointError, match="safely"):
        AtomicCheckpointIO().load_checkpoint(unsafe)


# --------------------------------------------------------------------------- bad resumes

def test_resume_errors_say_what_to_do(tmp_path):
    cfg = compose_cfg("train", [*RUN[:4], "ckpt_path=last"], tmp_path / "fresh")
    with pytest.raises(CheckpointError, match="hydra.run.dir=<that run's directory>"):
        resume_checkpoint(cfg, tmp_path / "fresh")
    cfg = compose_cfg("train", [*RUN[:4], f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        resume_checkpoint(cfg, tmp_path)


def test_resuming_another_experiments_checkpoint_is_refused(tmp_path):
    overrides = ["experiment=classify_workouts", *TINY["workouts"], "trainer.max_epochs=1",
                 "trainer.limit_train_batches=2", "test=false", "logger=none",
                 "callbacks.progress_bar=null"]
    first = train(compose_cfg("train", overrides, tmp_path / "a"))
    last = Path(first["run_dir"]) / "checkpoints" / "last.ckpt"
    assert last.is_file()
    _, same = build(compose_cfg("train", overrides, tmp_path / "b"))
    check_resumable(str(last), same)  # the same experiment: fine
    _, wider = build(compose_cfg("train", [*overrides, "model.hidden=32"], tmp_path / "c"))
    with pytest.raises(CheckpointError, match="(?s)another experiment.*model.hidden"):
        check_resumable(str(last), wider)
    _, forecaster = build(compose_cfg("train", ["experiment=forecast_crowds", *TINY["crowds"]],
                                      tmp_path / "d", tmp_path / "data"))
    with pytest.raises(CheckpointError, match="TrajectoryForecaster"):
        check_resumable(str(last), forecaster)


# --------------------------------------------------------------------------- rotated windows

# The crowds forecaster with train-only rotation, mirroring and jitter of its scene windows
# (319 of them, 46 a batch): 7 steps an epoch, 28 in all, last.ckpt every 5 steps. The draws
# come from (seed, epoch, window), so the resumed run sees the ones the uninterrupted run saw.
ROTATED = ["experiment=forecast_crowds", *TINY["crowds"], "data.rotate=true",
           "data.flip=true", "data.jitter=0.05", "data.batch_size=46",
           "trainer.max_epochs=4", "trainer.deterministic=true", "logger=csv",
           "callbacks.last_checkpoint.every_n_train_steps=5", "callbacks.progress_bar=null"]


@pytest.mark.slow
def test_rotation_augmentation_resumes_exactly_after_a_slurm_requeue(tmp_path):
    full = tmp_path / "full"
    _train([*ROTATED, f"hydra.run.dir={full}"], tmp_path)
    run = tmp_path / "run"
    _train_and_kill([*ROTATED, f"hydra.run.dir={run}"], tmp_path, 12)
    assert _last(run)["global_step"] == 10  # mid-epoch (7 steps an epoch)
    # resumed as a requeued SLURM job is: the same command, no ckpt_path
    _train([*ROTATED, f"hydra.run.dir={run}"], tmp_path, SLURM_RESTART_COUNT="1")
    assert json.loads((run / "run_info.json").read_text())["resumed_from"].endswith("last.ckpt")
    a, b = _last(full), _last(run)
    assert a["global_step"] == b["global_step"] == 28
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key


def test_a_requeued_slurm_job_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    from motionseq.tasks.train import requeued_checkpoint

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    cfg = compose_cfg("train", [], run)
    assert resume_checkpoint(cfg, run) is None  # nothing to resume, not requeued
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert requeued_checkpoint(run) is None  # requeued before any checkpoint: start over
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(b"x")
    assert resume_checkpoint(cfg, run) == str(last)
    hpc = run / "hpc_ckpt_1.ckpt"  # Lightning's checkpoint on SIGUSR1, written later
    hpc.write_bytes(b"x")
    os.utime(last, (time.time() - 60, time.time() - 60))
    assert requeued_checkpoint(run) == str(hpc)
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    assert requeued_checkpoint(run) is None
