"""The model summary printed when training starts: layers, parameters and size.

Lightning's rich summary also prints a FLOPs column that reads 0 for every recurrent
layer ("Total FLOPs: 0") and counts of modules in train and eval mode; neither tells a user
anything they can act on here, so this one leaves them out.
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.callbacks import RichModelSummary
from pytorch_lightning.utilities.model_summary.model_summary import (
    get_formatted_model_size,
    get_human_readable_count,
)

_DROPPED = ("Mode", "FLOPs")


class ModelSummary(RichModelSummary):
    """:class:`RichModelSummary` without the FLOPs and mode columns and totals."""

    @staticmethod
    def summarize(summary_data: list[tuple[str, list[str]]], total_parameters: int,
                  trainable_parameters: int, model_size: float,
                  total_training_modes: dict[str, int] | None = None,
                  total_flops: int = 0, **summarize_kwargs: Any) -> None:
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if name not in _DROPPED]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        table.add_column(" ", style="dim")
        for name, _ in columns[1:]:
            table.add_column(name, justify="right" if name != "Name" and name != "Type"
                             else "left", no_wrap=name == "Name")
        for row in zip(*(values for _, values in columns), strict=True):
            table.add_row(*row)
        console = get_console()
        console.print(table)
        frozen = total_parameters - trainable_parameters
        console.print(
            f"[bold]Trainable params[/]: {get_human_readable_count(int(trainable_parameters))}  "
            f"[bold]Non-trainable[/]: {get_human_readable_count(int(frozen))}  "
            f"[bold]Size[/]: {get_formatted_model_size(model_size)} MB")
