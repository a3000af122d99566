"""``init_from=CKPT``: fine-tune an action classifier on a few clips of your own.

What the start checkpoint fixes: the network (cell, sizes, pooling...), the feature path
(layout, velocities...) and the feature normalisation, so the pretrained weights read the
same inputs. What the run's config keeps: the data, the optimizer and its schedule, the
trainer. Classes: the start checkpoint's classes stay (their rows of the output layer are
copied; the start checkpoint's own training source replays ``finetune.replay_per_class``
examples of each kept class, so they are not forgotten), and the data's new classes get
fresh rows. ``finetune.balance`` repeats the user's clips of each class up to
``replay_per_class`` (each draw augmented afresh where the data config augments), so a few
real clips weigh as much as a replayed class. ``finetune.keep_classes=false`` keeps only
the data's classes. ``finetune.head_only=true`` trains the output head alone (the encoder
stays frozen). ``finetune.epochs`` (a fixed schedule whose last weights are kept, on every
clip unless ``data.val_fraction`` is set: a handful of clips leaves too small a validation
split to select on) and ``finetune.lr`` replace the trainer's and optimizer's settings;
null keeps those.
"""

from __future__ import annotations

import logging
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf, open_dict

from motionseq.errors import CheckpointError, ConfigError
from motionseq.modules.checkpoint import CHECKPOINT_KEY, read_checkpoint

log = logging.getLogger(__name__)

__all__ = ["apply_init_from", "load_start_weights"]

CLASSIFIER = "motionseq.modules.classifier.ActionClassifier"
# model settings that belong to the training recipe, not to the network's shape
_RECIPE_KEYS = {"_target_", "optimizer", "scheduler", "monitor", "monitor_mode",
                "label_smoothing", "known_keep", "open_set", "temperature", "known_threshold",
                "class_names", "features", "input_size", "data_config"}


def apply_init_from(cfg: DictConfig) -> dict[str, Any] | None:
    """With ``cfg.init_from`` set: read the start checkpoint and make ``cfg`` build a
    compatible model and data (see the module doc). Returns the checkpoint, or None."""
    path = cfg.get("init_from")
    if not path:
        return None
    ckpt = read_checkpoint(path)
    meta = ckpt[CHECKPOINT_KEY]
    if meta["target"] != CLASSIFIER or cfg.model.get("_target_") != CLASSIFIER:
        raise CheckpointError(
            f"init_from={path}: fine-tuning starts an action classifier from an action "
            f"classifier checkpoint; this one is a {meta['target'].rsplit('.', 1)[-1]} and "
            f"the config builds {str(cfg.model.get('_target_')).rsplit('.', 1)[-1]}")
    hp = meta["hparams"]
    ft = cfg.get("finetune") or {}
    keep = bool(ft.get("keep_classes", True))
    with open_dict(cfg):
        epochs = ft.get("epochs")
        if epochs:
            # a handful of clips gives a validation split too small to select or stop on:
            # a fixed schedule, the last weights kept
            cfg.trainer.max_epochs = int(epochs)
            if cfg.get("callbacks"):
                cfg.callbacks.pop("early_stopping", None)
                if cfg.callbacks.get("model_checkpoint"):
                    cfg.callbacks.model_checkpoint.monitor = None
        if ft.get("lr") and cfg.model.get("optimizer"):
            cfg.model.optimizer.lr = float(ft.lr)
        cfg.data.features = {"_target_": "motionseq.data.features.PoseFeatures",
                             **hp["features"]}
        for key, value in hp.items():
            if key not in _RECIPE_KEYS:
                cfg.model[key] = value
        cfg.model.conv_pool = int(hp.get("conv_pool", 1))  # the start network's, as it was
        # a fixed schedule keeps its last weights: validation would only take clips from
        # training (an explicit data.val_fraction still holds some out)
        if cfg.data.get("val_fraction") == "auto":
            cfg.data.val_fraction = 0.0 if epochs else 0.15
        balance = bool(ft.get("balance", True))
        replay = (hp.get("data_config") or {}).get("source") if keep else None
        if keep and not replay:
            log.warning("init_from: the start checkpoint does not name its data source; "
                        "its classes the new data lacks are kept but not replayed")
        if keep:
            cfg.data.class_names = list(hp["class_names"])
        if replay or balance:
            per_class = int(ft.get("replay_per_class", 30))
            if replay:
                replay = dict(replay)
                # a generated source makes only what is replayed
                if "train_per_class" in replay:
                    replay.update(train_per_class=per_class, test_per_class=1)
            # the validation share is carved from the user's clips before they are
            # repeated, so no copy of a validation clip trains
            val = float(cfg.data.get("val_fraction") or 0.0)
            cfg.data.source = {
                "_target_": "motionseq.data.replay.ReplaySource",
                "source": OmegaConf.to_container(cfg.data.source),
                "replay": replay, "classes": list(hp["class_names"]) if replay else [],
                "per_class": per_class, "replay_all": bool(ft.get("replay_all", True)),
                "balance": balance, "val_fraction": val,
                "seed": int(cfg.data.get("seed") or 0)}
            cfg.data.val_fraction = 0.0
    return ckpt


def load_start_weights(model: pl.LightningModule, ckpt: dict[str, Any],
                       head_only: bool = False) -> None:
    """Copy the start checkpoint's weights into ``model``: everything but the output layer
    as it is (normalisation included), the output layer row by row for the classes both
    share (new classes keep their fresh rows). ``head_only`` freezes the encoder."""
    old_names = list(ckpt[CHECKPOINT_KEY]["hparams"]["class_names"])
    new_names = list(model.class_names)
    state = model.state_dict()
    old = ckpt["state_dict"]
    last = max((k for k in state if k.startswith("head.net.") and k.endswith(".weight")),
               key=lambda k: int(k.split(".")[2]))
    out_keys = {last, last.replace(".weight", ".bias")}
    for key, value in old.items():
        if key not in state:
            raise CheckpointError(f"init_from: the start checkpoint's {key} has no place in "
                                  f"this model")
        if key in out_keys:
            for i, name in enumerate(new_names):
                if name in old_names:
                    state[key][i] = value[old_names.index(name)]
        elif state[key].shape != value.shape:
            raise CheckpointError(f"init_from: {key} is {tuple(value.shape)} in the start "
                                  f"checkpoint and {tuple(state[key].shape)} here")
        else:
            state[key] = value
    model.load_state_dict(state)
    shared = [n for n in new_names if n in old_names]
    log.info("init_from: %d classes start from the checkpoint (%s), %d are new (%s)",
             len(shared), ", ".join(shared), len(new_names) - len(shared),
             ", ".join(n for n in new_names if n not in old_names) or "none")
    if head_only:
        if not hasattr(model, "encoder"):
            raise ConfigError("finetune.head_only needs a model with an encoder")
        for p in model.encoder.parameters():
            p.requires_grad_(False)
