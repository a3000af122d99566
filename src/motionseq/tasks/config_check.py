"""One clear line for a setting of the wrong type or range, before anything is built.

Hydra accepts any value for any key (``trainer.max_epochs=-3``, ``data.batch_size=0``,
``model.hidden=abc``); left alone, each fails deep inside PyTorch or Lightning with a stack
trace. :func:`check_config` checks the settings people type most often and raises a
:class:`~motionseq.errors.ConfigError` that names the key, the value and a valid example.
Keys a config does not have are skipped; ``auto`` is accepted where the data chooses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from motionseq.errors import ConfigError

AUTO = "auto"


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def positive_int(v: Any) -> bool:
    return _int(v) and v >= 1


def epochs(v: Any) -> bool:  # -1: no limit
    return _int(v) and v >= -1


def non_negative_int(v: Any) -> bool:
    return _int(v) and v >= 0


def probability(v: Any) -> bool:  # [0, 1)
    return _num(v) and 0 <= v < 1


def fraction(v: Any) -> bool:  # [0, 1]
    return _num(v) and 0 <= v <= 1


def positive(v: Any) -> bool:
    return _num(v) and v > 0


def non_negative(v: Any) -> bool:
    return _num(v) and v >= 0


def batches(v: Any) -> bool:  # Lightning's limit_*_batches: a fraction or a count
    return (_int(v) and v >= 0) or (_num(v) and 0 <= v <= 1)


# key -> (test, what it must be, an example); None values are allowed where null is a setting
RULES: dict[str, tuple[Callable[[Any], bool], str, str, bool]] = {
    "trainer.max_epochs": (epochs, "an integer >= 1 (or -1: no limit)", "20", False),
    "trainer.max_steps": (epochs, "an integer >= 1 (or -1: no limit)", "2000", False),
    "trainer.min_epochs": (non_negative_int, "an integer >= 0", "1", True),
    "trainer.log_every_n_steps": (positive_int, "an integer >= 1", "10", False),
    "trainer.check_val_every_n_epoch": (positive_int, "an integer >= 1", "1", True),
    "trainer.gradient_clip_val": (non_negative, "a number >= 0 (or null)", "1.0", True),
    "trainer.limit_train_batches": (batches, "a fraction in [0, 1] or a batch count", "0.5",
                                    True),
    "trainer.limit_val_batches": (batches, "a fraction in [0, 1] or a batch count", "0.5",
                                  True),
    "trainer.limit_test_batches": (batches, "a fraction in [0, 1] or a batch count", "0.5",
                                   True),
    "data.batch_size": (positive_int, "an integer >= 1", "32", False),
    "data.num_workers": (non_negative_int, "an integer >= 0", "0", False),
    "data.val_fraction": (probability, "a fraction in [0, 1)", "0.15", False),
    "data.seed": (non_negative_int, "an integer >= 0", "0", False),
    "seed": (non_negative_int, "an integer >= 0", "42", False),
    "model.hidden": (positive_int, "an integer >= 1", "128", False),
    "model.layers": (positive_int, "an integer >= 1", "2", False),
    "model.dropout": (probability, "a probability in [0, 1)", "0.1", False),
    "model.label_smoothing": (probability, "a probability in [0, 1)", "0.1", False),
    "model.head_hidden": (non_negative_int, "an integer >= 0", "0", False),
    "model.conv_pool": (positive_int, "an integer >= 1", "1", False),
    "model.known_keep": (fraction, "a fraction in [0, 1] (or null)", "0.98", True),
    "model.optimizer.lr": (positive, "a number > 0", "0.001", False),
    "model.optimizer.weight_decay": (non_negative, "a number >= 0", "0.0001", False),
}


def check_config(cfg: DictConfig) -> None:
    """ConfigError naming the first setting of the wrong type or range in ``cfg``."""
    problems = []
    for key, (test, must, example, nullable) in RULES.items():
        try:
            value = OmegaConf.select(cfg, key, throw_on_missing=False, default="<absent>")
        except Exception:  # an interpolation that does not resolve: Hydra says so itself
            continue
        if isinstance(value, str) and value in ("<absent>", AUTO):
            continue
        if value is None and nullable:
            continue
        if not test(value):
            problems.append(f"{key}={value!r}: must be {must}, e.g. {key}={example}")
    if problems:
        raise ConfigError("invalid setting" + ("s" if len(problems) > 1 else "") + ":\n  "
                          + "\n  ".join(problems))
