"""The end-of-run summary a person reads: metrics, baselines, and where the files are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytorch_lightning.utilities import rank_zero_only

_ORDER = ("test/acc", "test/f1", "test/ade", "test/fde", "test/cv_ade", "test/cv_fde",
          "test/loss", "val/acc", "val/f1", "val/ade", "val/fde", "val/loss")


def metric_floats(metrics: dict[str, Any]) -> dict[str, float]:
    """Scalar tensors and numbers → plain floats, sorted with test metrics first."""
    out = {}
    for k, v in metrics.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    ranked = sorted(out, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), k))
    return {k: out[k] for k in ranked}


@rank_zero_only
def print_summary(title: str, metrics: dict[str, float], files: dict[str, str | Path | None]
                  ) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        if k.startswith(("test/", "val/")) and not k.endswith("_step"):
            table.add_row(k, f"{v:.4f}")
    if "test/ade" in metrics and "test/cv_ade" in metrics:
        table.add_row("ADE vs constant velocity",
                      f"{metrics['test/ade']:.3f} vs {metrics['test/cv_ade']:.3f}")
        table.add_row("FDE vs constant velocity",
                      f"{metrics['test/fde']:.3f} vs {metrics['test/cv_fde']:.3f}")
    console = Console()
    console.print(table)
    for name, path in files.items():
        if path:
            console.print(f"{name}: {path}")
