"""Distributed training is correct, not only running: one run directory written by rank 0,
every evaluation item counted once (test metrics equal one process's evaluation of the
same checkpoint), and 2 processes x batch B/2 train to the weights 1 process x batch B
reaches. The trainer configs refuse what this machine cannot run, with the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motionseq.data.datasets import EpochSampler, ShardSampler
from motionseq.errors import ConfigError
from motionseq.tasks.eval import evaluate
from motionseq.tasks.train import build, build_trainer
from tests.test_train import TINY, compose_cfg

REPO = Path(__file__).resolve().parents[1]
# three classes of five test clips: 15 test items, which two processes cannot split evenly
ODD_TEST = ["data.source.train_per_class=12", "data.source.test_per_class=5",
            "data.source.max_frames=50", "data.source.classes=[squat,push_up,lunge]"]


def _train_script(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOTIONSEQ_ROOT": str(cwd), "PYTHONPATH": str(REPO / "src"),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


# --------------------------------------------------------------------------- samplers

def _rank_batches(sampler: EpochSampler, batch: int) -> list[list[int]]:
    order = list(sampler)
    return [order[i:i + batch] for i in range(0, len(order), batch)]


@pytest.mark.parametrize("n,batch", [(40, 4), (37, 4), (9, 8)])
def test_epoch_sampler_splits_each_global_batch_between_ranks(n, batch):
    world = 2
    single = EpochSampler(n, batch * world, seed=3)
    ranks = [EpochSampler(n, batch, seed=3, rank=r, world=world) for r in range(world)]
    for epoch in (0, 1):
        for s in (single, *ranks):
            s.set_epoch(epoch)
        per_rank = [_rank_batches(s, batch) for s in ranks]
        assert len(per_rank[0]) == len(per_rank[1])  # DDP needs equal step counts
        merged = [sorted(a + b) for a, b in zip(*per_rank, strict=True)]
        if n % world == 0:  # no padding: exactly the single process's global batches
            assert merged == [sorted(b) for b in _rank_batches(single, batch * world)]
        for a, b in zip(*per_rank, strict=True):
            assert len(a) == len(b)
        seen = sorted(i for batches in per_rank for b in batches for i in b)
        assert set(seen) == set(range(n)) and len(seen) == n + (-n % world)
    single.set_epoch(0)
    first = list(single)
    single.set_epoch(1)
    assert list(single) != first  # a new order every epoch ...
    single.set_epoch(0)
    assert list(single) == first  # ... that depends on the epoch alone


def test_epoch_sampler_skips_trained_batches_once():
    s = EpochSampler(20, 4, seed=0)
    s.set_epoch(2)
    full = list(s)
    s.skip = 8
    assert list(s) == full[8:]
    assert list(s) == full  # the next pass starts at the beginning again
    keyed = EpochSampler(5, 2, seed=0, keys=True)
    keyed.set_epoch(4)
    assert all(k[1] == 4 for k in keyed) and sorted(k[0] for k in keyed) == list(range(5))


@pytest.mark.parametrize("n,world", [(15, 2), (2, 3), (100, 4)])
def test_shard_sampler_counts_every_item_once(n, world):
    shards = [list(ShardSampler(n, r, world)) for r in range(world)]
    assert sorted(i for s in shards for i in s) == list(range(n))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


# --------------------------------------------------------------------------- configs

@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without GPU")
@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_gpu_trainers_without_gpu_say_what_to_use(trainer, tmp_path):
    cfg = compose_cfg("train", [f"trainer={trainer}"], tmp_path)
    with pytest.raises(ConfigError, match="trainer=cpu.*ddp_sim"):
        build_trainer(cfg)


def test_more_gpus_than_there_are_is_refused(tmp_path, monkeypatch):
    from motionseq.tasks.train import check_trainer

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "an old card")
    for key in ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "SLURM_NTASKS"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match="devices=4 but this machine has 2 GPUs.*devices=2"):
        check_trainer(compose_cfg("train", ["trainer=ddp"], tmp_path).trainer)
    check_trainer(compose_cfg("train", ["trainer=ddp", "trainer.devices=2"], tmp_path).trainer)
    with pytest.raises(ConfigError, match="16-mixed"):
        check_trainer(compose_cfg("train", ["trainer=gpu", "trainer.precision=bf16-mixed"],
                                  tmp_path).trainer)
    monkeypatch.setenv("SLURM_NTASKS", "8")  # under srun each task may see one GPU
    check_trainer(compose_cfg("train", ["trainer=ddp"], tmp_path).trainer)


def test_trainer_configs_compose_with_their_options(tmp_path):
    gpu = compose_cfg("train", ["trainer=gpu", "trainer.precision=bf16-mixed"], tmp_path)
    assert gpu.trainer.precision == "bf16-mixed" and gpu.trainer.devices == 1
    ddp = compose_cfg("train", ["trainer=ddp", "trainer.devices=8", "trainer.num_nodes=2"],
                      tmp_path)
    assert (ddp.trainer.strategy, ddp.trainer.devices, ddp.trainer.num_nodes) == ("ddp", 8, 2)
    sim = compose_cfg("train", ["trainer=ddp_sim"], tmp_path)
    assert sim.trainer.devices == 2 and sim.trainer.strategy.process_group_backend == "gloo"
    cpu = compose_cfg("train", ["trainer.precision=16-mixed"], tmp_path)
    with pytest.raises(ConfigError, match="bf16-mixed"):
        build_trainer(cpu)
    bf16 = compose_cfg("train", ["trainer.precision=bf16-mixed"], tmp_path)
    assert build_trainer(bf16).precision == "bf16-mixed"  # CPUs run bfloat16 autocast


# --------------------------------------------------------------------------- ddp_sim runs

@pytest.mark.slow
def test_ddp_sim_one_run_dir_rank0_output_and_exact_test_metrics(tmp_path):
    """No hydra.run.dir given: the run directory comes from the clock, and both ranks
    must still use the one rank 0 made. Test metrics over 15 items on 2 processes equal a
    single process's evaluation of the same checkpoint (a padding sampler counts 16)."""
    proc = _train_script(["experiment=classify_workouts", *ODD_TEST, "trainer=ddp_sim",
                          "trainer.max_epochs=2", "logger=csv"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((tmp_path / "logs" / "train" / "runs").iterdir())
    assert len(runs) == 1, runs
    run = runs[0]
    assert (run / "train_ddp_process_1.log").is_file()  # rank 1 logged into the same folder
    out = proc.stdout + proc.stderr
    assert out.count("run directory:") == 1  # one summary, from rank 0
    assert (run / "plots" / "confusion_matrix.png").is_file()
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "last.ckpt" in ckpts and any(c.startswith("epoch_") for c in ckpts), ckpts
    assert not [c for c in ckpts if c.startswith(".")]  # no temporary files left
    metrics = json.loads((run / "metrics.json").read_text())
    best = next(p for p in (run / "checkpoints").glob("epoch_*.ckpt"))
    single = evaluate(compose_cfg("eval", [f"ckpt_path={best}"], tmp_path / "eval"))
    assert single["test/acc"] == metrics["test/acc"]
    assert single["test/f1"] == pytest.approx(metrics["test/f1"], abs=1e-6)
    assert single["test/loss"] == pytest.approx(metrics["test/loss"], rel=1e-5)
    assert 0.0 < metrics["test/acc"] < 1.0  # else equal accuracies would prove nothing


@pytest.mark.slow
def test_two_processes_half_batch_train_the_weights_of_one_process(tmp_path):
    """2 processes x batch 8 and 1 process x batch 16, same seed: the same global batches
    (shuffled, two epochs with a partial last batch), DDP's averaged gradient, so the same
    weights after the same steps. Dropout off, no augmentation."""
    common = ["experiment=classify_workouts", *TINY["workouts"], "model.dropout=0.0",
              "trainer.max_steps=14", "test=false", "logger=none",
              "callbacks.last_checkpoint.every_n_train_steps=0", "callbacks.early_stopping=null"]
    cfg = compose_cfg("train", [*common, "data.batch_size=16"], tmp_path / "probe",
                      tmp_path / "data")
    datamodule, _ = build(cfg)
    n = len(datamodule.datasets["train"])
    assert n % 2 == 0 and n % 16, n  # no padding; the last global batch is partial
    weights = {}
    for name, extra in {"single": ["data.batch_size=16"],
                        "ddp": ["data.batch_size=8", "trainer=ddp_sim"]}.items():
        run = tmp_path / name
        proc = _train_script([*common, *extra, f"hydra.run.dir={run}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
        assert ckpt["global_step"] == 14
        weights[name] = ckpt["state_dict"]
    assert weights["single"].keys() == weights["ddp"].keys()
    worst = max(float((weights["single"][k] - weights["ddp"][k]).abs().max())
                for k in weights["single"])
    assert worst < 1e-4, f"largest weight difference {worst:g}"  # 2.5e-6 measured


@pytest.mark.slow
def test_multirun_of_ddp_jobs_keeps_each_job_in_its_folder(tmp_path):
    """Lightning starts a DDP job's other process with the parent's command line; in a
    multirun that is the whole sweep. Each job's second process must run that job alone,
    in the job's folder, and the next job must start its own processes afresh."""
    sweep = tmp_path / "sweep"
    proc = _train_script(["-m", "experiment=classify_workouts", *TINY["workouts"],
                          "trainer=ddp_sim", "trainer.max_epochs=1", "model.cell=rnn,gru",
                          "callbacks.progress_bar=null", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for job, cell in (("0", "rnn"), ("1", "gru")):
        assert (sweep / job / "train_ddp_process_1.log").is_file()
        assert "test/acc" in json.loads((sweep / job / "metrics.json").read_text())
        assert f"model.cell={cell}" in json.loads(
            (sweep / job / "run_info.json").read_text())["overrides"]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    assert not (tmp_path / "logs").exists()  # no stray single runs or second sweeps


def _launch(launcher: str, args: list[str], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Start 2 training processes the way torchrun or srun does (Lightning then starts
    none itself) and wait for them."""
    env = {**os.environ, "MOTIONSEQ_ROOT": str(cwd), "PYTHONPATH": str(REPO / "src"),
           "OMP_NUM_THREADS": "1"}
    script = str(REPO / "scripts" / "train.py")
    if launcher == "torchrun":
        cmds = [([sys.executable, "-m", "torch.distributed.run", "--standalone",
                  "--nproc_per_node=2", script, *args], env)]
    else:  # what srun sets for a job step of 2 tasks on one node
        slurm = {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "1",
                 "SLURM_JOB_NUM_NODES": "1", "SLURM_NODEID": "0", "SLURM_JOB_ID": "4242",
                 "SLURM_JOB_NAME": "train", "SLURM_NODELIST": "localhost"}
        cmds = [([sys.executable, script, *args],
                 {**env, **slurm, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r)})
                for r in range(2)]
    procs = [subprocess.Popen(c, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c, e in cmds]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "slurm"])
def test_ddp_under_torchrun_and_slurm(launcher, tmp_path):
    """Processes started from outside, each composing its own config: with the run
    directory given once (as the README's commands do) they share it, rank 0 writes."""
    run = tmp_path / "logs" / "train" / "runs" / "4242"
    procs = _launch(launcher, ["experiment=classify_workouts", *TINY["workouts"],
                               "trainer=ddp_sim", "trainer.max_epochs=1",
                               "callbacks.progress_bar=null", f"hydra.run.dir={run}"], tmp_path)
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    out = "".join(p.stdout + p.stderr for p in procs)
    assert "MEMBER: 2/2" in out and out.count("run directory:") == 1
    assert [p.name for p in run.parent.iterdir()] == ["4242"]
    assert "test/acc" in json.loads((run / "metrics.json").read_text())
    assert (run / "checkpoints" / "last.ckpt").is_file()
