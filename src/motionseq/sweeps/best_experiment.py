"""The best trial of a sweep as a ready experiment config (``best_experiment.yaml``,
``# @package _global_``): copy it to ``conf/experiment/<name>.yaml`` and train with
``experiment=<name>``."""

from __future__ import annotations

from omegaconf import OmegaConf, open_dict

from motionseq.sweeps.overrides import is_hydra_key, override_key, parse_overrides
from motionseq.sweeps.summary import SweepSummary

__all__ = ["BEST_EXPERIMENT", "best_experiment_text"]

BEST_EXPERIMENT = "best_experiment.yaml"
# groups that set up the search or a debug mode, not the trained model: not part of
# the best experiment
_NOT_IN_EXPERIMENT = ("hparams_search", "debug")


def best_experiment_text(summary: SweepSummary) -> str | None:
    """The best trial's overrides as an experiment config (None when no trial is ok).

    Group choices become ``override /group: option`` entries (``experiment=X`` includes X
    first, so its settings hold unless the trial changed them), values become the body;
    hydra settings and the ``hparams_search``/``debug`` groups are left out."""
    best = summary.best
    if best is None:
        return None
    defaults: list[str] = []
    body = OmegaConf.create({})
    left_out: list[str] = []
    for o in parse_overrides(best.overrides):
        key, text = override_key(o), f"{override_key(o)}={o.get_value_element_as_str()}"
        group = o.key_or_group
        if is_hydra_key(key) or group in _NOT_IN_EXPERIMENT:
            left_out.append(text)
            continue
        if o.is_delete():
            left_out.append(text)
            continue
        value = o.value()
        if group in best.groups or group == "experiment":
            target = f"{group}@{o.package}" if o.package else group
            if group == "experiment":
                if value is not None:
                    defaults.insert(0, f"  - {value}")
            elif value is None:
                left_out.append(text)
            else:
                defaults.append(f"  - override /{target}: {value}")
            continue
        with open_dict(body):
            OmegaConf.update(body, group, value, merge=False, force_add=True)
    lines = ["# @package _global_",
             f"# The best trial of the sweep {summary.sweep_dir} (job {best.job}): "
             f"{summary.metric} = {best.metric:.6g} ({summary.mode} is best).",
             f"# Its overrides: {' '.join(best.overrides) or '(none)'}",
             "# Use it: copy this file to conf/experiment/<name>.yaml, then",
             "#   python scripts/train.py experiment=<name>"]
    if left_out:
        lines.append(f"# Left out (search and debug settings): {' '.join(left_out)}")
    lines += ["defaults:", *defaults, "  - _self_", ""]
    if len(body):
        lines.append(OmegaConf.to_yaml(body).rstrip())
    return "\n".join(lines) + "\n"
