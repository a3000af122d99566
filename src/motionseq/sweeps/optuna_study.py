"""An Optuna search's study: its storage prepared before a multirun (so a search run
again continues it) and its totals over all runs read for the summary."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict, read_write

from motionseq.sweeps.overrides import select

__all__ = ["STUDY_FILE", "prepare_optuna", "optuna_study_info"]

log = logging.getLogger(__name__)

STUDY_FILE = "optuna_study.json"  # the storage and study name of an Optuna search


def _optuna_storage(cfg: DictConfig) -> tuple[str | None, str | None]:
    target = str(select(cfg, "hydra.sweeper._target_") or "")
    if "optuna" not in target.lower():
        return None, None
    storage = select(cfg, "hydra.sweeper.storage")
    name = select(cfg, "hydra.sweeper.study_name")
    return (str(storage) if storage else None), (str(name) if name else None)


def prepare_optuna(cfg: DictConfig) -> dict[str, Any] | None:
    """For an Optuna search with a storage: make the sqlite file's folder, and when the
    study already holds trials (a search run again to continue it), offset the sampler's
    seed by their number, so its first random trials do not repeat the earlier run's.
    Returns ``{"storage", "study_name"}`` or None."""
    storage, name = _optuna_storage(cfg)
    if not storage:
        return None
    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if not name:
        return {"storage": storage, "study_name": name}
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the storage's schema setup
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        done = len(optuna.load_study(study_name=name, storage=storage).trials)
    except KeyError:  # a new study
        done = 0
    except Exception as e:
        log.warning("cannot read the Optuna study %s in %s: %s", name, storage, e)
        done = 0
    seed = select(cfg, "hydra.sweeper.sampler.seed")
    if done and isinstance(seed, int):
        with read_write(cfg), open_dict(cfg):
            cfg.hydra.sweeper.sampler.seed = seed + done
        log.info("continuing the Optuna study %s (%d trials so far); sampler seed %d",
                 name, done, seed + done)
    return {"storage": storage, "study_name": name}


def optuna_study_info(study: dict[str, Any]) -> dict[str, Any] | None:
    """Totals of an Optuna study (all its runs), or None when it cannot be read."""
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        s = optuna.load_study(study_name=study["study_name"], storage=study["storage"])
        states = Counter(t.state.name for t in s.trials)
        info: dict[str, Any] = {"study_name": s.study_name, "storage": study["storage"],
                                "trials": len(s.trials), "states": dict(states)}
        if states.get("COMPLETE"):
            info.update(best_value=s.best_value, best_params=s.best_params)
        return info
    except Exception as e:  # the summary of the runs on disk does not depend on it
        log.warning("cannot read the Optuna study %s: %s", study.get("study_name"), e)
        return None
