"""Loading self-contained checkpoints: one file rebuilds the model, its feature settings,
class names and normalisation, with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path
from typing import Any

import torch

from motionseq.errors import CheckpointError
from motionseq.modules.base import CHECKPOINT_FORMAT, CHECKPOINT_KEY, MotionModule


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, loaded safely; CheckpointError that says what to do otherwise."""
    path = Path(path)
    if not path.is_file():
        hint = ""
        if path.parent.is_dir():
            found = sorted(p.name for p in path.parent.glob("*.ckpt"))
            hint = f"; checkpoints in that folder: {', '.join(found)}" if found else ""
        raise CheckpointError(f"checkpoint not found: {path}{hint}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or not a PyTorch checkpoint "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Use another "
            f"checkpoint, e.g. the run's checkpoints/last.ckpt, or train again"
        ) from e
    except Exception as e:  # e.g. pickled objects that weights_only refuses
        raise CheckpointError(f"cannot load checkpoint {path} safely: {e}") from e
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a motionseq checkpoint (no {CHECKPOINT_KEY!r} section); pass a "
            f".ckpt written by motionseq-train"
        )
    fmt = ckpt[CHECKPOINT_KEY].get("format")
    if fmt != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {fmt}, this motionseq reads format "
            f"{CHECKPOINT_FORMAT}; re-train or use the motionseq version that wrote it"
        )
    return ckpt


def module_from_checkpoint(path: str | Path) -> MotionModule:
    """Rebuild the LightningModule a checkpoint was written by, weights included, in eval mode."""
    ckpt = read_checkpoint(path)
    meta = ckpt[CHECKPOINT_KEY]
    module_name, _, cls_name = meta["target"].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as e:
        raise CheckpointError(f"{path} names an unknown model class {meta['target']!r}") from e
    if not (isinstance(cls, type) and issubclass(cls, MotionModule)):
        raise CheckpointError(f"{path} names {meta['target']!r}, which is not a motionseq model")
    try:
        module = cls(**meta["hparams"])
    except TypeError as e:
        raise CheckpointError(
            f"{path} was written with settings this version cannot build ({e}); re-train"
        ) from e
    missing, unexpected = [], []
    try:
        result = module.load_state_dict(ckpt["state_dict"], strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    except RuntimeError as e:  # shape mismatches
        raise CheckpointError(f"the weights in {path} do not fit the model it describes: {e}") from e
    if missing or unexpected:
        raise CheckpointError(
            f"the weights in {path} do not fit the model it describes (missing: "
            f"{missing[:5]}, unexpected: {unexpected[:5]})"
        )
    return module.eval()
