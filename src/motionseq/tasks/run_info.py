"""What every run directory records: the resolved config, the overrides, the git commit,
the seed and package versions; and the process settings every task starts with."""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from motionseq.fileio import atomic_write


def configure_environment() -> None:
    """Process-wide defaults: wandb stays offline and silent unless the user says otherwise
    (it must never prompt), and matplotlib draws to files only."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")
    os.environ.setdefault("MPLBACKEND", "Agg")
    quiet_library_noise()


class _DropAdverts(logging.Filter):
    """Drops Lightning's advertising tips (nothing a user of this project can act on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("💡 Tip")


def quiet_library_noise() -> None:
    """Silence what the libraries print that a user cannot act on: Lightning's cloud
    logging tip and its own use of a deprecated torch API (``LeafSpec``). Warnings that say
    something about the run itself are kept."""
    for name in ("lightning_fabric.utilities.rank_zero", "pytorch_lightning.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropAdverts) for f in logger.filters):
            logger.addFilter(_DropAdverts())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def git_commit(cwd: str | Path | None = None) -> str:
    """``HEAD``'s hash (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def hydra_overrides() -> list[str]:
    """The command-line overrides of the current Hydra job ([] outside Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except Exception:  # not running under @hydra.main
        return []


@rank_zero_only
def write_run_info(run_dir: str | Path, cfg: DictConfig, extra: dict[str, Any] | None = None
                   ) -> Path:
    """Write ``config.yaml`` (resolved) and ``run_info.json`` into the run directory."""
    import pytorch_lightning
    import torch

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.to_yaml(cfg, resolve=True)
    atomic_write(run_dir / "config.yaml", lambda p: p.write_text(resolved))
    info = {
        "command": " ".join(sys.argv),
        "overrides": hydra_overrides(),
        "git_commit": git_commit(Path(__file__).parent),
        "seed": cfg.get("seed"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
        "host": platform.node(),
        **(extra or {}),
    }
    return atomic_write(run_dir / "run_info.json",
                        lambda p: p.write_text(json.dumps(info, indent=2) + "\n"))


@rank_zero_only
def write_metrics(run_dir: str | Path, metrics: dict[str, Any], name: str = "metrics.json"
                  ) -> Path:
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    return atomic_write(Path(run_dir) / name, lambda p: p.write_text(text))
