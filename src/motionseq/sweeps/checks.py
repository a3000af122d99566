"""Checks before a multirun starts: every swept key exists in the config, and the SLURM
launcher agrees with the trainer. Each failure is a :class:`SweepConfigError` that names
the fix."""

from __future__ import annotations

import difflib
from typing import Any

from omegaconf import DictConfig, OmegaConf

from motionseq.errors import ConfigError
from motionseq.sweeps.overrides import is_hydra_key, parse_overrides, select

__all__ = ["SweepConfigError", "check_search_space", "check_launcher"]


class SweepConfigError(ConfigError):
    """A sweep set up wrongly (a swept key not in the config, launcher and trainer at odds)."""


def _swept_overrides(cfg: DictConfig) -> list[Any]:
    """Sweep overrides of the command line plus the sweeper's ``params``."""
    task = [str(x) for x in (select(cfg, "hydra.overrides.task") or [])]
    parsed = [o for o in parse_overrides(task) if o.is_sweep_override()]
    params = select(cfg, "hydra.sweeper.params")
    if isinstance(params, DictConfig):
        parsed += parse_overrides([f"{k}={v}" for k, v in params.items()])
    return parsed


def check_search_space(cfg: DictConfig) -> None:
    """SweepConfigError naming the key and its closest matches when a swept key (on the
    command line or in ``hydra.sweeper.params``) is not in the config. Keys added with
    ``+``, groups and keys under a swept group are not checked."""
    overrides = _swept_overrides(cfg)
    choices = select(cfg, "hydra.runtime.choices")
    groups = set(choices.keys()) if isinstance(choices, DictConfig) else set()
    swept_groups = {o.key_or_group for o in overrides if o.key_or_group in groups}
    missing = object()
    for o in overrides:
        key = o.key_or_group
        if (o.is_add() or o.is_force_add() or o.is_delete() or key in groups
                or is_hydra_key(key) or key.split(".")[0] in swept_groups):
            continue
        try:
            found = OmegaConf.select(cfg, key, default=missing,
                                     throw_on_resolution_failure=False)
        except Exception:
            found = missing
        if found is not missing:
            continue
        parent, _, leaf = key.rpartition(".")
        node = select(cfg, parent) if parent else cfg
        siblings = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        close = difflib.get_close_matches(leaf, siblings, n=3)
        hint = (f"; did you mean {', '.join((parent + '.' if parent else '') + c for c in close)}"
                if close else (f"; {parent or 'the config'} has {', '.join(siblings[:12])}"
                               if siblings else ""))
        raise SweepConfigError(
            f"the sweep searches over {key}, which is not in the config{hint}. Fix the key in "
            f"the search space (hydra.sweeper.params or the command line), or add it with "
            f"+{key}=... when it is meant to be new")


def check_launcher(cfg: DictConfig) -> None:
    """SweepConfigError when the SLURM launcher asks for GPUs for a CPU trainer, or for
    another number of tasks per node than the trainer's processes per node."""
    target = str(select(cfg, "hydra.launcher._target_") or "")
    if "SlurmLauncher" not in target:
        return
    gpus = select(cfg, "hydra.launcher.gpus_per_node")
    tasks = select(cfg, "hydra.launcher.tasks_per_node")
    accelerator = str(select(cfg, "trainer.accelerator") or "cpu")
    devices = select(cfg, "trainer.devices")
    if accelerator == "cpu" and isinstance(gpus, int) and gpus > 0:
        raise SweepConfigError(
            f"hydra.launcher.gpus_per_node={gpus} but trainer.accelerator=cpu: use "
            f"trainer=gpu or trainer=ddp, or set hydra.launcher.gpus_per_node=0")
    if isinstance(devices, int) and isinstance(tasks, int) and tasks != devices:
        raise SweepConfigError(
            f"hydra.launcher.tasks_per_node={tasks} but trainer.devices={devices}: Lightning "
            f"runs one process per device, so SLURM must start as many tasks per node")
