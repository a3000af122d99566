"""Export of action classifiers: ONNX Runtime and TorchScript give PyTorch's outputs on
real sequences (a real clip's poses, synthetic workouts of many lengths), the sidecar
describes the input, the console script's errors, and the live predictor running the
ONNX model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motionseq.data.features import PoseFeatures
from motionseq.data.workouts import make_workout
from motionseq.errors import CheckpointError, ConfigError
from motionseq.extract.pose import extract_pose
from motionseq.live.export import (
    OnnxClassifier,
    export,
    feature_channel_names,
    main,
    read_sidecar,
    sidecar_path,
)
from motionseq.live.stream import StreamPredictor
from motionseq.modules.checkpoint import read_checkpoint
from motionseq.modules.classifier import ActionClassifier
from motionseq.modules.forecaster import TrajectoryForecaster
from motionseq.sequence import PoseSequence

pytest.importorskip("onnxruntime")

FEATS = PoseFeatures()
NTU = "ntu_a001_drink_water.avi"
TOL = 1e-5
# (cell, pooling, extra settings): the two poolings the live view uses most, and the
# export paths that differ (bidirectional layers, a convolution front end, attention)
MODELS = {
    "lstm-last": dict(cell="lstm", pooling="last"),
    "lstm-mean": dict(cell="lstm", pooling="mean", layers=2),
    "gru-last-bidirectional": dict(cell="gru", pooling="last", layers=2, bidirectional=True),
    "rnn-max": dict(cell="rnn", pooling="max"),
    "lstm-attention-conv": dict(cell="lstm", pooling="attention", conv_channels=16),
    "lstm-mean-bidirectional": dict(cell="lstm", pooling="mean", bidirectional=True),
    "gru-mean-fcn-batchnorm": dict(cell="gru", pooling="mean", bidirectional=True,
                                   conv_channels=[8, 16, 8], conv_kernel=[7, 5, 3],
                                   conv_layers=3, conv_norm="batch"),
}


def save_checkpoint(model: ActionClassifier | TrajectoryForecaster, path: Path) -> Path:
    """A checkpoint as training writes it (the module's own checkpoint section)."""
    ckpt = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path


def classifier(seed: int = 0, hidden: int = 32, **kw) -> ActionClassifier:
    """A classifier with random weights and a normaliser like a training set's."""
    torch.manual_seed(seed)
    m = ActionClassifier(FEATS.dim, ["squat", "push_up", "drink"], features=FEATS.to_dict(),
                         hidden=hidden, **kw)
    rng = np.random.default_rng(seed)
    m.set_normalizer(rng.normal(0, 0.3, FEATS.dim), rng.uniform(0.5, 2.0, FEATS.dim))
    for mod in m.modules():  # running statistics like a trained batch norm's, not 0 and 1
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.5, mod.num_features)))
            mod.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, mod.num_features)))
    return m.eval()


@pytest.fixture(scope="module")
def ntu_seq(shared_data: Path) -> PoseSequence:
    """The NTU clip's poses through the extractor."""
    return extract_pose(shared_data / "videos" / NTU)


@pytest.fixture(scope="module")
def sequences(ntu_seq: PoseSequence) -> list[np.ndarray]:
    """Feature matrices ``[T, F]`` of real sequences: the NTU clip, three cuts of it, and
    synthetic workouts of 30 to 150 frames."""
    seq = ntu_seq
    out = [FEATS(seq)]
    for a, b in ((0, 17), (40, 41), (20, 90)):
        out.append(FEATS(PoseSequence(seq.keypoints[a:b], seq.visibility[a:b], seq.fps,
                                      seq.layout)))
    rng = np.random.default_rng(7)
    for name in ("squat", "push_up", "jumping_jack", "lunge", "arm_circles", "standing"):
        out.append(FEATS(make_workout(name, rng, min_frames=30, max_frames=150).sequence))
    assert len({len(x) for x in out}) >= 8
    return out


def padded(xs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A padded batch ``[B, T, F]`` (zeros after each length) and its lengths."""
    lengths = np.array([len(x) for x in xs], np.int64)
    batch = np.zeros((len(xs), lengths.max(), xs[0].shape[1]), np.float32)
    for i, x in enumerate(xs):
        batch[i, :len(x)] = x
    return batch, lengths


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", list(MODELS))
def test_exported_model_matches_pytorch_on_real_sequences(name, fmt, sequences, tmp_path):
    model = classifier(**MODELS[name])
    path = export(save_checkpoint(model, tmp_path / "m.ckpt"), fmt)
    assert path == tmp_path / f"m.{'onnx' if fmt == 'onnx' else 'pt'}"
    x, lengths = padded(sequences)
    with torch.inference_mode():
        ref = model(torch.from_numpy(x), torch.from_numpy(lengths))
        ref_logits, ref_probs = ref.numpy(), torch.softmax(ref, -1).numpy()
    if fmt == "onnx":
        run = OnnxClassifier(path).run
    else:
        ts = torch.jit.load(str(path))

        def run(a, b):
            with torch.inference_mode():
                return tuple(t.numpy() for t in ts(torch.from_numpy(a), torch.from_numpy(b)))
    logits, probs = run(x, lengths)
    np.testing.assert_allclose(logits, ref_logits, atol=TOL, rtol=0)
    np.testing.assert_allclose(probs, ref_probs, atol=TOL, rtol=0)
    # one at a time (no padding), and padding filled with garbage changes nothing
    for i in (0, 2, len(sequences) - 1):
        one, _ = run(sequences[i][None], lengths[i:i + 1])
        np.testing.assert_allclose(one[0], ref_logits[i], atol=TOL, rtol=0)
    noisy = x.copy()
    noisy[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 7.0
    np.testing.assert_allclose(run(noisy, lengths)[0], ref_logits, atol=TOL, rtol=0)
    meta = read_sidecar(path)
    assert meta["check"]["max_abs_logit_diff"] <= TOL
    assert meta["model"]["pooling"] == MODELS[name]["pooling"]


def test_sidecar_says_how_to_feed_the_model(tmp_path):
    model = classifier()
    path = export(save_checkpoint(model, tmp_path / "m.ckpt"), "onnx", tmp_path / "out" /
                  "action.onnx")
    assert sidecar_path(path) == tmp_path / "out" / "action.onnx.json"
    meta = read_sidecar(path)
    assert meta["model_file"] == "action.onnx" and meta["runtime"] == "onnx"
    assert meta["class_names"] == ["squat", "push_up", "drink"]
    assert meta["inputs"]["x"]["shape"] == ["batch", "time", FEATS.dim]
    assert list(meta["outputs"]) == ["logits", "probabilities"]
    feats = meta["features"]
    assert PoseFeatures(**{k: feats[k] for k in FEATS.to_dict()}) == FEATS
    assert len(feats["channel_names"]) == feats["dim"] == FEATS.dim
    assert feats["channel_names"][:3] == ["nose.x", "nose.y", "left_eye_inner.x"]
    assert feats["channel_names"][-1] == "right_foot_index.visibility"
    assert meta["layout"]["name"] == "mediapipe33" and len(meta["layout"]["joints"]) == 33
    np.testing.assert_allclose(meta["normalizer"]["std"], model.feat_std.numpy(), rtol=1e-6)
    assert meta["normalizer"]["in_graph"] is True
    # ONNX Runtime alone, fed as the sidecar says, gives the classifier's probabilities
    import onnxruntime as ort

    x = np.random.default_rng(0).normal(size=(2, 11, feats["dim"])).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs = sess.run(["probabilities"], {"x": x, "lengths": np.array([11, 4], np.int64)})[0]
    with torch.inference_mode():
        ref = model.predict_proba(torch.from_numpy(x), torch.tensor([11, 4])).numpy()
    np.testing.assert_allclose(probs, ref, atol=TOL)
    # TorchScript carries the same sidecar inside the file
    ts = export(tmp_path / "m.ckpt", "torchscript")
    extra = {"motionseq.json": ""}
    torch.jit.load(str(ts), _extra_files=extra)
    assert json.loads(extra["motionseq.json"])["class_names"] == meta["class_names"]


def test_channel_names_of_other_feature_settings():
    for f in (PoseFeatures(layout="penn13", use_z=True), PoseFeatures(velocities=False),
              PoseFeatures(layout="raw", channels=6, visibility=False),
              PoseFeatures(layout="penn13", centre_velocity=True)):
        assert len(feature_channel_names(f)) == f.dim


def test_console_script(tmp_path, capsys):
    ckpt = save_checkpoint(classifier(hidden=8), tmp_path / "best.ckpt")
    assert main([f"ckpt={ckpt}", "format=torchscript", f"out={tmp_path / 'x.pt'}"]) == 0
    assert (tmp_path / "x.pt").is_file() and (tmp_path / "x.pt.json").is_file()
    assert main([f"ckpt={ckpt}"]) == 0  # onnx beside the checkpoint by default
    assert (tmp_path / "best.onnx").is_file()
    assert "max |logit difference|" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    ckpt = save_checkpoint(classifier(hidden=8), tmp_path / "m.ckpt")
    with pytest.raises(ConfigError, match="onnx, torchscript"):
        export(ckpt, "tflite")
    with pytest.raises(ConfigError, match="ends in .onnx"):
        export(ckpt, "onnx", tmp_path / "m.bin")
    with pytest.raises(CheckpointError, match="not found.*m.ckpt"):
        export(tmp_path / "missing.ckpt", "onnx")
    fc = save_checkpoint(TrajectoryForecaster(hidden=8), tmp_path / "fc.ckpt")
    assert read_checkpoint(fc)  # a valid checkpoint, but of another task
    with pytest.raises(CheckpointError, match="TrajectoryForecaster.*action classifiers"):
        export(fc, "onnx")
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*tmp"))
    for args, expected in (([f"ckpt={ckpt}", "format=tflite"], "unknown export format"),
                           ([f"ckpt={tmp_path / 'nope.ckpt'}"], "checkpoint not found"),
                           ([f"ckpt={fc}"], "action classifiers")):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err and "Traceback" not in err
    with pytest.raises(CheckpointError, match="sidecar|motionseq-export"):
        read_sidecar(tmp_path / "m.onnx")


def test_stream_predictor_runs_the_onnx_model(ntu_seq, tmp_path):
    """Window mode through ONNX Runtime gives the PyTorch model's probabilities frame by
    frame on the real clip; a runner implies window mode."""
    seq = ntu_seq
    model = classifier(pooling="mean")
    runner = OnnxClassifier(export(save_checkpoint(model, tmp_path / "m.ckpt"), "onnx"))
    torch_sp = StreamPredictor(model, fps=seq.fps, mode="window", window=32)
    onnx_sp = StreamPredictor(model, fps=seq.fps, mode="auto", window=32, runner=runner)
    assert onnx_sp.mode == "window"
    compared = 0
    for t in range(seq.num_frames):
        a = torch_sp.push(seq.keypoints[t], seq.visibility[t])
        b = onnx_sp.push(seq.keypoints[t], seq.visibility[t])
        assert a.label == b.label
        if a.raw is not None:
            np.testing.assert_allclose(b.raw, a.raw, atol=TOL)
            compared += 1
    assert compared == seq.num_frames  # one person in every frame of this clip
