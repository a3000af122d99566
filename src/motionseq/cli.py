"""Console scripts (``motionseq-train``, ``motionseq-eval``): Hydra apps over the task
functions. Errors the user can fix print as one message, not a stack trace."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from motionseq.errors import MotionseqError


def flag_words(argv: list[str]) -> list[str]:
    """``key=value`` words become ``--key=value`` (``_`` and ``-`` both accepted), so the
    argparse console scripts take the same ``key=value`` style as the Hydra ones."""
    out = []
    for a in argv:
        if not a.startswith("-") and "=" in a:
            key, value = a.split("=", 1)
            a = f"--{key.replace('_', '-')}={value}"
        out.append(a)
    return out


def bool_arg(text: str) -> bool:
    """argparse type for true/false words."""
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def config_dir() -> str:
    """The ``conf/`` folder: ``$MOTIONSEQ_CONFIG_DIR``, else the checkout this package was
    installed from (``pip install -e .``), else ``./conf``."""
    env = os.environ.get("MOTIONSEQ_CONFIG_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[2] / "conf", Path.cwd() / "conf"]
    for c in candidates:
        if (c / "train.yaml").is_file():
            return str(c.resolve())
    sys.exit("motionseq: cannot find the conf/ folder; run from the project root or set "
             "MOTIONSEQ_CONFIG_DIR=/path/to/conf")


def run_hydra(task: Callable[[DictConfig], Any], config_name: str) -> None:
    """Run ``task`` as a Hydra app on ``conf/<config_name>.yaml`` with ``sys.argv`` overrides."""
    import hydra

    @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
    def main(cfg: DictConfig) -> Any:
        try:
            result = task(cfg)
        except MotionseqError as e:
            from hydra.core.hydra_config import HydraConfig

            if HydraConfig.get().mode.name == "MULTIRUN":
                raise  # let the sweeper record the failed trial
            print(f"\nerror: {e}", file=sys.stderr)
            sys.exit(2)
        metric = cfg.get("optimized_metric")
        return result.get(metric) if metric and isinstance(result, dict) else result

    main()


def train_main() -> None:
    from motionseq.tasks.train import train

    run_hydra(train, "train")


def eval_main() -> None:
    from motionseq.tasks.eval import evaluate

    run_hydra(evaluate, "eval")
