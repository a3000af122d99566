"""Export a trained action classifier to ONNX or TorchScript, with a JSON sidecar that
holds everything needed to feed it without motionseq's training code.

The exported graph takes the *raw* feature tensor and the valid lengths:

- ``x`` ``[B, T, F]`` float32: :class:`~motionseq.data.features.PoseFeatures` of the pose
  frames (the sidecar's ``features`` section says how they are computed), padded with
  anything after each sequence's length;
- ``lengths`` ``[B]`` int64: valid frames per sequence, ``1 <= lengths <= T``;

and gives ``logits`` and ``probabilities`` (softmax), each ``[B, C]`` in the order of the
sidecar's ``class_names``. The training-set normaliser ``(x - mean) / std`` is part of the
graph (its values are also in the sidecar, for reference), so nothing but the features is
computed outside.

PyTorch's packed sequences do not export, so :class:`ExportableClassifier` reads padded
batches without packing: a unidirectional recurrent layer runs over the padding *after*
each sequence, which cannot change the earlier steps, and the summary is gathered at the
last valid step (or pooled under a mask); a bidirectional layer reverses each sequence
within its own length for the backward direction, so that direction too starts at the
sequence's last valid frame. Its outputs equal the classifier's on the same batch (tested
within 1e-5 for ONNX Runtime and TorchScript).

``motionseq-export ckpt=PATH format=onnx|torchscript [out=PATH] [opset=17]`` writes
``out`` (default: beside the checkpoint, ``.onnx`` or ``.pt``) and ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from motionseq.cli import bool_arg, flag_words
from motionseq.errors import CheckpointError, ConfigError, MotionseqError
from motionseq.live.step import step_unavailable

__all__ = ["FORMATS", "ExportableClassifier", "OnnxClassifier", "export", "feature_channel_names",
           "main", "read_sidecar", "sidecar_path"]

log = logging.getLogger(__name__)

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
SIDECAR_FORMAT = 1
DEFAULT_OPSET = 17
INPUTS, OUTPUTS = ("x", "lengths"), ("logits", "probabilities")

FEATURE_RECIPE = (
    "Per frame t (keypoints [J, C] image-normalised, NaN where unknown; visibility [J]): "
    "centre = mean of the layout's known center_joints, scale = |mean of the known scale_joints - centre| "
    "over x, y (where the scale joints are unknown: the distance to the mean of the first "
    "known scale_fallbacks joints divided by its ratio); a frame where either is unknown reuses the last known one (before the "
    "first: centre = mean of the known joints, scale = 1). positions = (joint - centre) / "
    "scale over the first D coordinates (D = 3 with use_z, else 2), joint-major; "
    "velocities = (positions[t] - positions[t-1]) * fps, 0 at t = 0 and where the joint is "
    "unknown in either frame; visibility = the joint's visibility (1 with features visibility=known), 0 where unknown; unknown "
    "joints are 0 in every channel. Channels: positions, then velocities, then visibility "
    "(channel_names lists them). Layout raw: the values as they are (no centre or scale), "
    "their velocities and a mask. With resample: N, the frames are first linearly "
    "interpolated to N over the same duration (fps scaled accordingly).")


# ---------------------------------------------------------------------- the graph

class ExportableClassifier(nn.Module):
    """An :class:`~motionseq.modules.classifier.ActionClassifier` without packed sequences:
    ``(x [B, T, F] raw features, lengths [B] int64) -> (logits [B, C], probabilities
    [B, C])``, equal to the classifier on the same batch.

    The weights are shared with ``model`` (not copied), except the backward direction of a
    bidirectional encoder, which is rebuilt layer by layer as unidirectional layers.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        enc = model.encoder
        rnn = enc.rnn
        if getattr(rnn, "proj_size", 0):
            raise ConfigError("LSTM projections (proj_size) are not supported by the export")
        self.pooling = enc.pooling
        self.conv = enc.conv
        self.attention = enc.attention
        self.head = model.head
        self.register_buffer("mean", model.feat_mean.detach().clone())
        self.register_buffer("std", model.feat_std.detach().clone())
        if not rnn.bidirectional:
            self.rnn = rnn
            self.layers = None
        else:
            self.rnn = None
            self.layers = nn.ModuleList(
                nn.ModuleList([_one_layer(rnn, k, ""), _one_layer(rnn, k, "_reverse")])
                for k in range(rnn.num_layers))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        steps = torch.arange(x.shape[1], device=x.device)
        mask = steps[None, :] < lengths[:, None]  # [B, T]
        x = (x - self.mean) / self.std
        if self.conv is not None:
            x = self.conv(x, mask)
        if self.layers is None:
            out, _ = self.rnn(x)
            if self.pooling == "last":
                summary_last = _at(out, lengths - 1)
        else:
            # index t of each sequence read backwards within its length (padding in place)
            rev = torch.where(mask, lengths[:, None] - 1 - steps[None, :], steps[None, :])
            out = x
            for fwd, bwd in self.layers:
                o_f, _ = fwd(out)
                o_b, _ = bwd(_take(out, rev))
                out = torch.cat([o_f, _take(o_b, rev)], dim=-1)
            if self.pooling == "last":
                h = out.shape[-1] // 2
                # forward direction: its last valid step; backward: step 0 (its final state)
                summary_last = torch.cat([_at(out[..., :h], lengths - 1), out[:, 0, h:]],
                                         dim=-1)
        if self.pooling == "last":
            summary = summary_last
        elif self.pooling == "mean":
            m = mask[..., None].to(out.dtype)
            summary = (out * m).sum(1) / m.sum(1)
        elif self.pooling == "max":
            summary = out.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        else:
            summary = self.attention(out.masked_fill(~mask[..., None], 0.0), mask)
        logits = self.head(summary)
        return logits, torch.softmax(logits, dim=-1)


def _one_layer(rnn: nn.RNNBase, k: int, suffix: str) -> nn.RNNBase:
    """Layer ``k`` of ``rnn`` in one direction (``""`` or ``"_reverse"``) as its own
    batch-first single-layer module, weights copied."""
    kw: dict[str, Any] = {}
    if isinstance(rnn, nn.RNN):
        kw["nonlinearity"] = rnn.nonlinearity
    in_size = rnn.input_size if k == 0 else 2 * rnn.hidden_size
    layer = type(rnn)(in_size, rnn.hidden_size, num_layers=1, batch_first=True,
                      bias=rnn.bias, **kw)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            src = getattr(rnn, f"{name}_l{k}{suffix}", None)
            if src is not None:
                getattr(layer, f"{name}_l0").copy_(src)
    return layer.eval()


def _at(out: Tensor, index: Tensor) -> Tensor:
    """``out [B, T, D]`` at step ``index [B]`` of each row -> ``[B, D]``."""
    idx = index.reshape(-1, 1, 1).expand(-1, 1, out.shape[2])
    return out.gather(1, idx).squeeze(1)


def _take(x: Tensor, index: Tensor) -> Tensor:
    """``x [B, T, D]`` reordered in time per row by ``index [B, T]``."""
    return x.gather(1, index[..., None].expand(-1, -1, x.shape[2]))


# ---------------------------------------------------------------------- the sidecar

def feature_channel_names(features) -> list[str]:
    """Names of the ``F`` feature channels of a
    :class:`~motionseq.data.features.PoseFeatures`, in order."""
    from motionseq.skeleton import get_layout

    if features.generic:
        if features.channels is None:
            raise ConfigError("the raw layout's channel count is not known yet")
        n = int(features.channels)
        values = [f"value{i}" for i in range(n)]
        names = list(values)
        if features.velocities:
            names += [f"{v}.velocity" for v in values]
        if features.visibility:
            names += [f"{v}.mask" for v in values]
        return names
    joints = get_layout(features.layout).joints
    axes = ("x", "y", "z")[:3 if features.use_z else 2]
    names = [f"{j}.{a}" for j in joints for a in axes]
    if features.velocities:
        names += [f"{j}.v{a}" for j in joints for a in axes]
    if features.visibility:
        names += [f"{j}.visibility" for j in joints]
    if features.centre_velocity:
        names += [f"centre.v{a}" for a in axes]
    return names


def _sidecar(model, ckpt: Path, fmt: str, model_file: str, opset: int | None,
             check: dict[str, Any] | None) -> dict[str, Any]:
    from motionseq.data.features import PoseFeatures
    from motionseq.skeleton import get_layout

    hp = dict(model.hparams)
    feats = PoseFeatures(**(hp.get("features") or {}))
    lay = get_layout(feats.layout)
    classes = list(model.class_names)
    f = feats.dim
    return {
        "format": SIDECAR_FORMAT,
        "model_file": model_file,
        "runtime": fmt,
        "opset": opset,
        "checkpoint": str(ckpt),
        "task": "action classification (many-to-one)",
        "class_names": classes,
        "inputs": {
            "x": {"shape": ["batch", "time", f], "dtype": "float32",
                  "what": "raw features (not normalised: the graph applies the normaliser); "
                          "steps after a sequence's length are ignored"},
            "lengths": {"shape": ["batch"], "dtype": "int64",
                        "what": "valid frames per sequence, 1 <= lengths <= time"},
        },
        "outputs": {
            "logits": {"shape": ["batch", len(classes)], "dtype": "float32"},
            "probabilities": {"shape": ["batch", len(classes)], "dtype": "float32",
                              "what": "softmax of the logits, in class_names order"},
        },
        "features": {**feats.to_dict(), "dim": f, "channel_names": feature_channel_names(feats),
                     "recipe": FEATURE_RECIPE,
                     "velocity_unit": "per second: pass the stream's frame rate as fps"},
        "layout": {"name": lay.name, "joints": list(lay.joints),
                   "edges": [list(e) for e in lay.edges],
                   "center_joints": list(lay.center_joints),
                   "scale_joints": list(lay.scale_joints),
                   "scale_fallbacks": [[list(j), r] for j, r in lay.scale_fallbacks]},
        "normalizer": {"in_graph": True,
                       "mean": [float(v) for v in model.feat_mean.detach().cpu()],
                       "std": [float(v) for v in model.feat_std.detach().cpu()]},
        "model": {k: hp.get(k) for k in ("cell", "hidden", "layers", "bidirectional",
                                         "pooling", "head_hidden", "conv_channels",
                                         "conv_kernel", "conv_layers", "conv_norm")},
        "check": check,
        "torch_version": torch.__version__,
    }


def sidecar_path(model_path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    p = Path(model_path)
    return p.with_name(p.name + ".json")


def read_sidecar(model_path: str | Path) -> dict[str, Any]:
    """The sidecar of an exported model; CheckpointError when it is missing or not one."""
    path = sidecar_path(model_path)
    if not path.is_file():
        raise CheckpointError(f"{path} not found: an exported model needs the JSON written "
                              f"beside it by motionseq-export")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read {path}: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise CheckpointError(f"{path} is not a motionseq-export sidecar of format "
                              f"{SIDECAR_FORMAT}; export the model again")
    return meta


# ---------------------------------------------------------------------- export

def _classifier(ckpt: str | Path):
    from motionseq.modules.checkpoint import module_from_checkpoint
    from motionseq.modules.classifier import ActionClassifier

    model = module_from_checkpoint(ckpt)
    if not isinstance(model, ActionClassifier):
        raise CheckpointError(
            f"{ckpt} holds a {type(model).__name__}; motionseq-export writes action "
            f"classifiers (a checkpoint of make train with data=workouts, penn_action, ...)")
    return model


def example_batch(dim: int, lengths: tuple[int, ...] = (12, 5, 9), seed: int = 0
                  ) -> tuple[Tensor, Tensor]:
    """A padded random batch ``(x [B, max(lengths), dim], lengths [B])``, zeros after each
    length (as a collate pads)."""
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    x = torch.randn(len(lengths), t, dim, generator=g)
    lens = torch.tensor(lengths, dtype=torch.int64)
    x[torch.arange(t)[None, :] >= lens[:, None]] = 0.0
    return x, lens


def export(ckpt: str | Path, fmt: str = "onnx", out: str | Path | None = None,
           opset: int = DEFAULT_OPSET, check: bool = True) -> Path:
    """Export the action classifier in ``ckpt`` as ``fmt`` (``onnx`` or ``torchscript``)
    to ``out`` (default: beside the checkpoint) and write ``<out>.json``. With ``check``
    the written model is run on a padded batch and compared with the checkpoint's model
    (ONNX needs onnxruntime for that; without it the check is skipped). Returns ``out``.

    Raises:
        ConfigError: an unknown format, an output name that does not fit it, or ONNX
            without the onnx package; CheckpointError: a missing or unreadable checkpoint, or one that is no action
            classifier; MotionseqError: the exported model disagrees with PyTorch.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401  (PyTorch's exporter writes the model with it)
        except ImportError:
            raise ConfigError("ONNX export needs the onnx package: pip install onnx "
                              "(or format=torchscript)") from None
    ckpt = Path(ckpt)
    model = _classifier(ckpt)
    out = Path(out) if out else ckpt.with_suffix(FORMATS[fmt])
    if fmt == "onnx" and out.suffix.lower() != ".onnx":
        raise ConfigError(f"an ONNX model's file name ends in .onnx, got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    graph = ExportableClassifier(model).eval()
    x, lengths = example_batch(model.hparams["input_size"])
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "onnx":
            _export_onnx(graph, (x, lengths), tmp, opset)
            exported: Any = tmp
        else:
            exported = _trace(graph, (x, lengths))
        result = _check(model, fmt, exported) if check else None
        meta = _sidecar(model, ckpt, fmt, out.name, opset if fmt == "onnx" else None, result)
        text = json.dumps(meta, indent=1)
        if fmt == "torchscript":  # the sidecar also travels inside the file
            torch.jit.save(exported, str(tmp), _extra_files={"motionseq.json": text})
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar_path(out).write_text(text + "\n")
    if fmt == "onnx" and step_unavailable(model.encoder) is None:
        # the one-frame step with its state as inputs/outputs, for carried streaming
        from motionseq.live.export_step import export_step, step_model_path

        step = step_model_path(out)
        tmp = step.with_name(f".{step.name}.tmp")
        try:
            export_step(model, tmp, opset)
            tmp.replace(step)
        finally:
            tmp.unlink(missing_ok=True)
    return out


def _export_onnx(graph: nn.Module, args: tuple[Tensor, Tensor], path: Path, opset: int
                 ) -> None:
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript-based exporter (dynamo=False) handles nn.LSTM/GRU/RNN over
        # dynamic batch and time axes without onnxscript; its deprecation notice and the
        # batch_first/None-state notes about recurrent layers are expected here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, args, str(path), dynamo=False, input_names=list(INPUTS),
            output_names=list(OUTPUTS), opset_version=opset,
            dynamic_axes={"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                          "logits": {0: "batch"}, "probabilities": {0: "batch"}})


def _trace(graph: nn.Module, args: tuple[Tensor, Tensor]) -> torch.jit.ScriptModule:
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        return torch.jit.trace(graph, args, check_trace=False)


def _check(model, fmt: str, exported: Any, tol: float = 1e-4) -> dict[str, Any] | None:
    """Run the exported model on a padded batch of other sizes than the traced one and
    compare its logits with the classifier's."""
    x, lengths = example_batch(model.hparams["input_size"], (7, 20, 1, 15), seed=1)
    with torch.inference_mode():
        ref = model(x, lengths).numpy()
    if fmt == "onnx":
        try:
            runner = OnnxClassifier(exported)
        except ImportError:
            log.warning("onnxruntime is not installed: the exported model was not checked")
            return None
        got = runner.logits(x.numpy(), lengths.numpy())
    else:
        with torch.inference_mode():
            got = exported(x, lengths)[0].numpy()
    diff = float(np.abs(got - ref).max())
    if not diff <= tol:
        raise MotionseqError(f"the exported {fmt} model differs from the checkpoint's model "
                             f"by {diff:.3g} (> {tol:g}) on a test batch; please report this")
    return {"max_abs_logit_diff": diff, "batch_lengths": lengths.tolist()}


# ---------------------------------------------------------------------- running it

def cpu_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime session on the CPU for the live loop: ``threads`` intra-op threads
    (1 keeps it off the cores MediaPipe and drawing use), no busy-waiting threads, quiet."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """An exported classifier run by ONNX Runtime on the CPU.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (1 keeps it off the cores MediaPipe and drawing use).

    Raises:
        ImportError: onnxruntime is not installed.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.path = Path(path)
        self.session = cpu_session(path, threads)

    def run(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(logits [B, C], probabilities [B, C])`` of ``x [B, T, F]`` raw features."""
        logits, probs = self.session.run(
            list(OUTPUTS), {"x": np.ascontiguousarray(x, np.float32),
                            "lengths": np.asarray(lengths, np.int64)})
        return logits, probs

    def logits(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.run(x, lengths)[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``[C]`` of one sequence ``x [T, F]`` (the live window)."""
        return self.run(x[None], np.array([x.shape[0]], np.int64))[1][0]


# ---------------------------------------------------------------------- console script

def main(argv: list[str] | None = None) -> int:
    """Console script ``motionseq-export ckpt=PATH format=onnx|torchscript [out=PATH]``."""
    parser = argparse.ArgumentParser(
        prog="motionseq-export",
        description="Export a trained action classifier to ONNX or TorchScript, with a JSON "
                    "sidecar (<out>.json) holding the feature settings, class names, layout "
                    "and normaliser. The model takes raw features x [B, T, F] and lengths [B] "
                    "and gives logits and probabilities [B, C]. Arguments may be written "
                    "key=value (ckpt=model.ckpt format=onnx) or as --flags.")
    parser.add_argument("--ckpt", required=True, help="a classifier checkpoint of make train")
    parser.add_argument("--format", default="onnx", help="onnx (default) or torchscript")
    parser.add_argument("--out", help="output file (default: beside the checkpoint, .onnx or "
                                      ".pt)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset")
    parser.add_argument("--check", type=bool_arg, default=True,
                        help="compare the written model with PyTorch on a test batch")
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(flag_words(words))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        path = export(args.ckpt, args.format, args.out, args.opset, args.check)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    meta = read_sidecar(path)
    check = meta.get("check")
    print(f"wrote {path} and {sidecar_path(path).name}: {len(meta['class_names'])} classes, "
          f"x [batch, time, {meta['features']['dim']}] raw features of the "
          f"{meta['layout']['name']!r} layout"
          + (f"; max |logit difference| to PyTorch {check['max_abs_logit_diff']:.2g}"
             if check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
