"""Loading self-contained checkpoints: one file rebuilds the model, its feature settings,
class names and normalisation, with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import importlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import Checkpoint

from motionseq.errors import CheckpointError
from motionseq.fileio import _UMASK
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
    truncated = (f"cannot read checkpoint {path}: the file is truncated or not a PyTorch "
                 f"checkpoint{{}}. Use another checkpoint, e.g. the run's checkpoints/last.ckpt, "
                 f"or train again")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive, its index at the end
        raise CheckpointError(truncated.format(""))
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        raise CheckpointError(truncated.format(f" ({type(e).__name__}: {first})")) from e
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


class AtomicCheckpointIO(TorchCheckpointIO):
    """How the trainer writes and reads checkpoints: written whole or not at all, read
    with ``weights_only=True``.

    A checkpoint goes to a temporary file in the same folder, is flushed to disk and then
    renamed over the target, so a process killed mid-save leaves the previous file (e.g.
    ``last.ckpt``) intact; Lightning's own writer truncates the target first. Reading goes
    through :func:`read_checkpoint`: safe loading and errors that say what to do.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path,
                        storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(checkpoint, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        # temporary files of saves that were killed before their rename
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)

    def load_checkpoint(self, path: str | Path, map_location: Any | None = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return read_checkpoint(path)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` survive a machine crash (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LastCheckpoint(Checkpoint):
    """Keeps ``<dirpath>/last.ckpt`` fresh for resuming (``ckpt_path=last``): rewritten
    every ``every_n_train_steps`` optimizer steps (0: never mid-epoch) and at the end of
    every training epoch, after validation, early stopping and the best checkpoint.

    ``ModelCheckpoint(save_last=True)`` rewrites its last file at an epoch end only when
    the best checkpoint changed there, so a run killed later would lose whole epochs.

    Epoch-interval learning-rate schedulers: Lightning steps them after the epoch-end
    hooks, so a checkpoint written at an epoch end holds them before that epoch's step, and
    it skips the step at the end of an epoch a run resumed in. Both would leave a resumed
    run one scheduler step behind; this callback records the pending step (with the metrics
    a plateau scheduler reads) and takes it on resume, and takes the skipped one.
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int = 100,
                 filename: str = "last.ckpt") -> None:
        if every_n_train_steps < 0:
            raise CheckpointError(f"every_n_train_steps must be >= 0, got {every_n_train_steps}")
        self.path = Path(dirpath) / filename
        self.every_n_train_steps = every_n_train_steps
        self._saved_at: tuple[int, int] | None = None  # (global step, epoch-end flag)
        self._trainer: pl.Trainer | None = None
        self._pending: dict[str, Any] | None = None  # an epoch-end step to take on resume

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def state_dict(self) -> dict[str, Any]:
        """Whether the checkpoint being written is at an epoch end, before the epoch's
        scheduler step (with the metrics plateau schedulers read), or not."""
        t = self._trainer
        at_end = (t is not None and t.state.fn == "fit" and not t.sanity_checking
                  and t.fit_loop.epoch_loop._num_ready_batches_reached())
        if not at_end:
            return {"pending_epoch_step": None}
        metrics = {c.monitor: float(t.callback_metrics[c.monitor])
                   for c in t.lr_scheduler_configs
                   if c.reduce_on_plateau and c.monitor in t.callback_metrics}
        return {"pending_epoch_step": {"metrics": metrics}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict.get("pending_epoch_step")

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pending, self._pending = self._pending, None
        if pending is None or trainer.fit_loop.restarting:
            return  # mid-epoch: the step comes at the end of this epoch
        for config in trainer.lr_scheduler_configs:
            if config.interval != "epoch":
                continue
            if config.reduce_on_plateau:
                value = pending["metrics"].get(config.monitor)
                if value is not None:
                    config.scheduler.step(value)
            else:
                config.scheduler.step()

    @property
    def state_key(self) -> str:
        return self._generate_state_key(path=str(self.path))

    def _save(self, trainer: pl.Trainer, epoch_end: bool) -> None:
        if (trainer.sanity_checking or trainer.fast_dev_run
                or trainer.state.fn != "fit" or self._saved_at == (trainer.global_step, epoch_end)):
            return
        for logger in trainer.loggers:  # what was logged so far is on disk with it
            logger.save()
        trainer.save_checkpoint(self.path, weights_only=False)
        self._saved_at = (trainer.global_step, epoch_end)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        n = self.every_n_train_steps
        if n and trainer.global_step % n == 0 and trainer.global_step > 0:
            self._save(trainer, epoch_end=False)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer, epoch_end=True)
        loop = trainer.fit_loop
        if loop.restarting and loop.epoch_loop._num_ready_batches_reached():
            # the epoch this run resumed in: Lightning will not step the schedulers
            loop.epoch_loop.update_lr_schedulers("epoch", update_plateau_schedulers=True)
