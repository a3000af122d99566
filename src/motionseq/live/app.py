"""The live loop: source → pose → action, repetitions and joint paths → drawing → window
or files. ``motionseq-webcam`` / ``scripts/webcam.py`` run :func:`run` on
``conf/webcam.yaml``.

Two views, chosen by the checkpoint (``view=auto``):

- ``pose`` (an action classifier): :class:`~motionseq.extract.pose.PoseExtractor` per
  frame → :class:`~motionseq.live.stream.StreamPredictor`, one
  :class:`~motionseq.live.reps.RepCounter` per exercise, :class:`~motionseq.live.joints.JointPaths`;
  the skeleton, the label with its top-3 probabilities, the count of the recognised
  exercise and the predicted joint paths are drawn.
- ``people`` (a trajectory forecaster, for a static street camera): the tracker of the
  path extractor and the forecaster (:class:`~motionseq.live.people.PeopleForecaster`);
  boxes, ids, trails and forecast paths are drawn.

Each frame goes through two stages on two threads, besides the capture thread: detection
(the pose model, or nothing in the people view) runs on the newest frame while the loop
annotates the frame before it (classifier, repetitions, paths, drawing, output), so a
frame costs about the slower of the two instead of their sum, and the capture-to-picture
latency stays that of one frame.

With a window the keys are ``q`` quit, ``p`` pause, ``r`` reset (counters and state),
``s`` snapshot. ``headless=true`` writes the annotated video (``out``) and a JSONL file
(``jsonl``) with one line per frame instead.

``runtime=onnx`` runs the classifier with ONNX Runtime, frame by frame with its state carried
when the export wrote a step model (``model.step.onnx``), else in window mode: the model exported
by :mod:`motionseq.live.export` from the checkpoint (``onnx=PATH`` reuses one written
before; otherwise it is exported into the run folder first). The joint forecaster has its
own ``joints.runtime`` (default ``onnx``: exported into the run folder and run by ONNX
Runtime, :mod:`motionseq.live.export_joints`; ``torch`` runs the checkpoint's module).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from motionseq.errors import CheckpointError, ConfigError, DataError
from motionseq.live import overlay
from motionseq.live.capture import Capture, Frame

__all__ = ["find_newest_classifier", "has_display", "main", "run", "torch_threads"]

log = logging.getLogger(__name__)

WINDOW = "motionseq"
VIEWS = ("auto", "pose", "people")
RUNTIMES = ("torch", "onnx")
# The speed figures drawn on the picture change at most this often (seconds): readable,
# and their text is drawn from the overlay's cache in between.
STATS_REFRESH_S = 0.5
LIVE_TORCH_THREADS = 1  # PyTorch threads while the loop runs (see torch_threads)


# ---------------------------------------------------------------------- set-up helpers

def _newest_checkpoint(log_dir: str | Path, accept: Callable[[dict[str, Any]], bool]
                       ) -> Path | None:
    """The best checkpoint of the most recent run under ``log_dir`` whose motionseq section
    ``accept`` takes (``last.ckpt`` when the run has no other); None when there is none."""
    from motionseq.modules.base import CHECKPOINT_KEY
    from motionseq.modules.checkpoint import read_checkpoint

    root = Path(log_dir)
    found = list(root.glob("**/checkpoints/*.ckpt")) if root.is_dir() else []
    newest: dict[Path, float] = {}
    for p in found:
        newest[p.parent] = max(newest.get(p.parent, 0.0), p.stat().st_mtime)
    # The newest run first; in a run, its best checkpoint before last.ckpt.
    found.sort(key=lambda p: (newest[p.parent], p.name != "last.ckpt", p.stat().st_mtime),
               reverse=True)
    for path in found:
        try:
            meta = read_checkpoint(path)[CHECKPOINT_KEY]
        except CheckpointError:
            continue
        if accept(meta):
            return path
    return None


def find_newest_classifier(log_dir: str | Path) -> Path:
    """The best checkpoint of the most recent action-classifier run under ``log_dir``."""
    found = _newest_checkpoint(log_dir, lambda m: m["target"].endswith(".ActionClassifier"))
    if found is None:
        raise CheckpointError(
            f"no trained action classifier under {log_dir} (looked for "
            f"**/checkpoints/*.ckpt); train one with `make train`, or pass ckpt=PATH")
    return found


def find_newest_joint_forecaster(log_dir: str | Path) -> Path | None:
    """The best checkpoint of the most recent ``experiment=forecast_joints`` run (a
    trajectory forecaster trained on joint paths) under ``log_dir``; None when none."""
    def joints(meta: dict[str, Any]) -> bool:
        source = ((meta["hparams"].get("data_config") or {}).get("source") or {})
        return (meta["target"].endswith(".TrajectoryForecaster")
                and str(source.get("_target_", "")).endswith(".JointPathsSource"))

    return _newest_checkpoint(log_dir, joints)


def has_display() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _no_display_error(detail: str = "") -> ConfigError:
    return ConfigError(
        "no display to open a window on" + (f" ({detail})" if detail else
                                            " ($DISPLAY is not set)")
        + "; run with headless=true to write the annotated video (out=...) and a JSONL of "
        "the predictions (jsonl=...) instead")


def _round(a: np.ndarray | None, digits: int = 4) -> Any:
    """A JSON-ready nested list with NaN as null."""
    if a is None:
        return None
    a = np.round(np.asarray(a, dtype=np.float64), digits)
    nan = np.isnan(a)
    if nan.any():
        obj = a.astype(object)
        obj[nan] = None
        return obj.tolist()
    return a.tolist()


class _Outputs:
    """The annotated video and the JSONL, written to temporary names beside their targets
    and renamed when the run ends (also after q or Ctrl-C); removed after an error."""

    def __init__(self, out: str | None, jsonl: str | None, fps: float) -> None:
        from motionseq.extract.paths import VIDEO_FOURCC

        self.out = Path(out) if out else None
        self.jsonl = Path(jsonl) if jsonl else None
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._fh = None
        self._fourcc = None
        if self.out is not None:
            self._fourcc = VIDEO_FOURCC.get(self.out.suffix.lower())
            if self._fourcc is None:
                raise ConfigError(f"out must end in {', '.join(VIDEO_FOURCC)}, got "
                                  f"{self.out.name}")
            self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.jsonl is not None:
            self.jsonl.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self._tmp(self.jsonl), "w")

    @staticmethod
    def _tmp(path: Path) -> Path:
        return path.with_name(f".{path.stem}.tmp{path.suffix}")

    def write(self, image: np.ndarray, record: dict[str, Any]) -> None:
        if self.out is not None:
            if self._writer is None:
                h, w = image.shape[:2]
                self._writer = cv2.VideoWriter(str(self._tmp(self.out)),
                                               cv2.VideoWriter_fourcc(*self._fourcc),
                                               self.fps, (w, h))
                if not self._writer.isOpened():
                    raise DataError(f"cannot write video {self.out} with codec "
                                    f"{self._fourcc}; try out=....avi")
            self._writer.write(image)
        if self._fh is not None:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self, keep: bool) -> None:
        if self._writer is not None:
            self._writer.release()
        if self._fh is not None:
            self._fh.close()
        for path, made in ((self.out, self._writer is not None),
                           (self.jsonl, self._fh is not None)):
            if path is None or not made:
                continue
            tmp = self._tmp(path)
            if keep:
                os.replace(tmp, path)
            else:
                tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------- the two views

class PoseView:
    """Pose, action, repetitions and joint paths of the person in front of the camera."""

    def __init__(self, cfg: DictConfig, model, fps: float, runner=None) -> None:
        from motionseq.extract.pose import LAYOUT, PoseExtractor, PoseOptions
        from motionseq.live.joints import JointPaths, load_joint_forecaster
        from motionseq.live.reps import RepCounters
        from motionseq.live.stream import StreamPredictor
        from motionseq.skeleton import get_layout

        self.predictor = StreamPredictor(model, source_layout=LAYOUT, fps=fps, runner=runner,
                                         step_runner=getattr(runner, "step_runner", None),
                                         **OmegaConf.to_container(cfg.stream))
        self.classes = self.predictor.classes
        reps = cfg.get("reps") or {}
        self.reps = RepCounters(OmegaConf.to_container(reps.exercises) if reps.get(
            "exercises") is not None else None, LAYOUT, fps) if reps.get("enabled", True) \
            else None
        joints = cfg.get("joints") or {}
        names = list(joints.get("names") or [])
        path = joints.get("ckpt")
        if names and path == "auto":
            path = find_newest_joint_forecaster(cfg.paths.log_dir)
            if path is None:
                log.info("joint paths: no forecast_joints run under %s, extrapolating lines "
                         "(train one: make train ARGS=\"experiment=forecast_joints\")",
                         cfg.paths.log_dir)
        forecaster = load_joint_forecaster(str(path)) if names and path else None
        if forecaster is not None and _runtime(joints, "joints.runtime") == "onnx":
            forecaster = _onnx_joint_forecaster(cfg, forecaster)
        self.paths = JointPaths(names, LAYOUT, fps, joints.get("horizon_s", 0.7),
                                joints.get("fit_s", 0.2), joints.get("points", 8),
                                cfg.draw.min_visibility, forecaster) if names else None
        self.edges = get_layout(LAYOUT).edges
        self.min_visibility = float(cfg.draw.min_visibility)
        self.extractor = PoseExtractor(PoseOptions(**OmegaConf.to_container(cfg.pose)))
        log.info("pose view: %s mode, classes %s; joint paths: %s", self.predictor.mode,
                 ", ".join(self.classes), self.paths.kind if self.paths is not None else "off")
        self.model_ms = math.nan
        self.pose_ms = math.nan

    def reset(self) -> None:
        """Forget the stream: classifier state, counters, paths (see :meth:`reset_detector`)."""
        self.predictor.reset()
        if self.reps is not None:
            self.reps.reset()
        if self.paths is not None:
            self.paths.reset()

    def reset_detector(self) -> None:
        """Forget the tracked person (on the thread that runs :meth:`detect`)."""
        self.extractor.reset()

    def close(self) -> None:
        self.extractor.close()

    def detect(self, frame: Frame) -> tuple[Any, float]:
        """The frame's pose and the milliseconds it took; runs one frame ahead of
        :meth:`annotate`, on the detection thread."""
        t0 = time.perf_counter()
        found = self.extractor.process(frame.image, int(round(frame.timestamp * 1000)) + 1)
        return found, (time.perf_counter() - t0) * 1000.0

    def step(self, frame: Frame) -> tuple[np.ndarray, dict[str, Any]]:
        """:meth:`detect` then :meth:`annotate`."""
        return self.annotate(frame, self.detect(frame))

    def annotate(self, frame: Frame, detected: tuple[Any, float]
                 ) -> tuple[np.ndarray, dict[str, Any]]:
        """Action, repetitions and paths of the detected pose, drawn on the frame; the
        frame's JSONL record."""
        img = frame.image
        found, self.pose_ms = detected
        kp, vis = found if found is not None else (None, None)
        pred = self.predictor.push(kp, vis)
        self.model_ms = pred.latency_ms
        h, w = img.shape[:2]
        counts = self.reps.push(kp, vis, frame.timestamp, w / h) if self.reps else {}
        paths = self.paths.push(kp, vis, w / h, frame.timestamp) if self.paths is not None \
            else {}
        top = pred.top(3, self.classes) if pred.probabilities.any() else []
        shown = self.reps.count(pred.label) if self.reps is not None else None
        overlay.draw_skeleton(img, kp, vis, self.edges, self.min_visibility)
        overlay.draw_paths(img, paths)
        overlay.draw_panel(img, pred.label, top,
                           (pred.label, shown) if shown is not None else None)
        record = {
            "frame": frame.index, "time": round(frame.timestamp, 4),
            "keypoints": None if kp is None else _round(np.c_[kp, vis]),
            "label": pred.label,
            "probabilities": {c: round(float(p), 5) for c, p in
                              zip(self.classes, pred.probabilities, strict=True)},
            "reps": {"exercise": pred.label if shown is not None else None, "count": shown,
                     "all": counts},
            "paths": {j: _round(p) for j, p in paths.items()},
            "model_ms": round(pred.latency_ms, 3), "pose_ms": round(self.pose_ms, 2),
        }
        return img, record


class PeopleView:
    """Tracked people with ids and forecast paths (static camera)."""

    def __init__(self, cfg: DictConfig, model, fps: float, size: tuple[int, int]) -> None:
        from motionseq.extract.paths import load_homography
        from motionseq.live.people import PeopleForecaster

        p = cfg.people
        H = load_homography(p.homography) if p.get("homography") else None
        self.forecaster = PeopleForecaster(
            model, fps, size if all(size) else None, detector=p.detector,
            min_height=p.min_height, homography=H, person_height_m=p.person_height_m,
            trail=p.trail)
        log.info("people view: forecasts of %d steps from %d observed, every %d frames",
                 self.forecaster.pred_len, self.forecaster.obs_len, self.forecaster.step)
        self.model_ms = math.nan

    def reset(self) -> None:
        pass  # tracks are what the view shows; nothing to forget

    def reset_detector(self) -> None:
        pass

    def close(self) -> None:
        pass

    def detect(self, frame: Frame) -> None:
        # Tracking and drawing share the tracks' history, so both run in annotate.
        return None

    def annotate(self, frame: Frame, detected: None) -> tuple[np.ndarray, dict[str, Any]]:
        return self.step(frame)

    def step(self, frame: Frame) -> tuple[np.ndarray, dict[str, Any]]:
        t0 = time.perf_counter()
        people = self.forecaster.update(frame.index, frame.image)
        self.model_ms = (time.perf_counter() - t0) * 1000.0
        img = overlay.draw_people(frame.image, people.history, frame.index, people.forecasts)
        record = {
            "frame": frame.index, "time": round(frame.timestamp, 4),
            "people": [{"id": i, "box": _round(b, 1)} for i, b in people.boxes.items()],
            "paths": {str(i): _round(p, 1) for i, p in people.forecasts.items()},
            "model_ms": round(self.model_ms, 3),
        }
        return img, record


# ---------------------------------------------------------------------- the loop

def _load(cfg: DictConfig):
    from motionseq.modules.checkpoint import module_from_checkpoint
    from motionseq.modules.classifier import ActionClassifier
    from motionseq.modules.forecaster import TrajectoryForecaster

    view = cfg.get("view", "auto")
    if view not in VIEWS:
        raise ConfigError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    ckpt = cfg.get("ckpt")
    if ckpt is None:
        if view == "people":
            raise ConfigError("the people view needs ckpt=PATH of a trajectory forecaster "
                              "(e.g. from make train ARGS=experiment=forecast_ethucy)")
        ckpt = find_newest_classifier(cfg.paths.log_dir)
        log.info("using the newest classifier: %s", ckpt)
    model = module_from_checkpoint(ckpt)
    kind = "pose" if isinstance(model, ActionClassifier) else \
        "people" if isinstance(model, TrajectoryForecaster) else None
    if kind is None:
        raise CheckpointError(f"{ckpt} holds a {type(model).__name__}; the live view takes an "
                              f"action classifier or a trajectory forecaster")
    if view != "auto" and view != kind:
        raise CheckpointError(f"view={view} but {ckpt} holds a {type(model).__name__} (the "
                              f"{kind} view); leave view=auto")
    return model, kind, str(ckpt)


def _runtime(section, key: str) -> str:
    """``section``'s ``runtime`` (torch when unset), checked; ``key`` names it in the error."""
    runtime = section.get("runtime") or "torch"
    if runtime not in RUNTIMES:
        raise ConfigError(f"{key} must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    return runtime


def _onnx_joint_forecaster(cfg: DictConfig, forecaster):
    """The joint forecaster exported into the run folder and run by ONNX Runtime."""
    from motionseq.live.export_joints import OnnxJointForecaster, export_joint_forecaster

    path = export_joint_forecaster(forecaster, Path(cfg.paths.output_dir) / "joints.onnx")
    log.info("exported the joint forecaster to %s", path)
    return OnnxJointForecaster(path, dict(forecaster.hparams),
                               threads=int(cfg.get("onnx_threads") or 1))


def _onnx_runner(cfg: DictConfig, model, ckpt: str, kind: str):
    """The ONNX Runtime model for ``runtime=onnx`` (None for ``runtime=torch``)."""
    if _runtime(cfg, "runtime") == "torch":
        return None
    if kind != "pose":
        raise ConfigError("runtime=onnx runs action classifiers; the people view runs its "
                          "forecaster with runtime=torch")
    from motionseq.live.export import OnnxClassifier, export, read_sidecar

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError("runtime=onnx needs ONNX Runtime: pip install onnxruntime (or "
                          "leave runtime=torch)") from None
    path = cfg.get("onnx")
    if path:
        if not Path(path).is_file():
            raise CheckpointError(f"ONNX model not found: {path}")
        meta = read_sidecar(path)
        feats = dict(model.hparams.get("features") or {})
        same = meta.get("class_names") == list(model.class_names) and all(
            meta.get("features", {}).get(k) == v for k, v in feats.items())
        if not same:
            raise CheckpointError(
                f"{path} was exported from another classifier than {ckpt} (its classes or "
                f"features differ); export this one: motionseq-export ckpt={ckpt} "
                f"format=onnx out={path}")
    else:
        path = export(ckpt, "onnx", Path(cfg.paths.output_dir) / "model.onnx")
        log.info("exported the classifier to %s", path)
    threads = int(cfg.get("onnx_threads") or 1)
    runner = OnnxClassifier(path, threads=threads)
    from motionseq.live.export_step import OnnxStepCell, step_model_path

    step = step_model_path(path)
    if step.is_file():  # carried state, frame by frame in ONNX Runtime
        rnn = model.encoder.rnn
        runner.step_runner = lambda slots: OnnxStepCell(step, rnn.num_layers,
                                                        rnn.hidden_size, slots, threads)
    return runner


@contextlib.contextmanager
def torch_threads(n: int | None):
    """PyTorch's intra-op threads set to ``n`` (None: unchanged) for the block.

    The per-frame model work is tiny: a second thread cannot speed it up, while its
    synchronisation (and spinning after each op) takes a core from MediaPipe, and on a
    busy machine a step waits for a descheduled thread (milliseconds instead of
    tenths)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run the live view on ``cfg`` (``conf/webcam.yaml``); returns a summary: frames,
    seconds, fps, dropped frames, latency (capture to annotated frame, median and p95,
    ms), the outputs and the view. PyTorch runs on ``torch_threads`` threads (default
    :data:`LIVE_TORCH_THREADS`) meanwhile."""
    with torch_threads(cfg.get("torch_threads", LIVE_TORCH_THREADS)):
        return _run(cfg)


def _run(cfg: DictConfig) -> dict[str, Any]:
    headless = bool(cfg.get("headless", False))
    if not headless and not has_display():
        raise _no_display_error()
    model, kind, ckpt = _load(cfg)
    cap_cfg = cfg.get("capture") or {}
    cap = Capture(cfg.source, fps=cfg.get("fps"), start=cfg.get("start", 0),
                  stop=cfg.get("stop"), queue_size=cap_cfg.get("queue_size", 2),
                  drop_stale=cap_cfg.get("drop_stale"), timeout=cap_cfg.get("timeout_s", 5.0),
                  realtime=bool(cap_cfg.get("realtime", False)))
    view = outputs = runner = detector = None
    ok = False
    latencies: list[float] = []
    n = 0
    t_start = time.perf_counter()
    try:
        runner = _onnx_runner(cfg, model, ckpt, kind)
        view = PoseView(cfg, model, cap.fps, runner) if kind == "pose" else \
            PeopleView(cfg, model, cap.fps, (cap.width, cap.height))
        outputs = _Outputs(cfg.get("out") if headless else None,
                           cfg.get("jsonl") if headless else None, cap.fps)
        snapshots = Path(cfg.get("snapshots") or ".")
        fps_ema, last = None, None
        stats, stats_at = None, 0.0
        model_name = "track+forecast" if kind == "people" else \
            "onnx model" if runner is not None else "model"
        paused = False
        cap.start()
        # Two stages: a detection thread reads the newest frame and runs the pose model
        # on it while this thread annotates the frame before (classifier, repetitions,
        # paths, drawing, output), so their times overlap instead of adding up.
        detector = ThreadPoolExecutor(1, thread_name_prefix="detect")

        def detect_next() -> tuple[Frame, Any] | None:
            frame = cap.read()
            return None if frame is None else (frame, view.detect(frame))

        pending = detector.submit(detect_next)
        while True:
            if paused:
                key = cv2.waitKey(30) & 0xFF
                paused = key != ord("p") and key != ord("q")
                if key == ord("q"):
                    break
                continue
            item = pending.result()  # capture and pose errors are raised here
            if item is None:
                break
            pending = detector.submit(detect_next)
            frame, detected = item
            img, record = view.annotate(frame, detected)
            now = time.perf_counter()
            if last is not None:
                rate = 1.0 / max(now - last, 1e-6)
                fps_ema = rate if fps_ema is None else 0.9 * fps_ema + 0.1 * rate
            last = now
            if stats is None or now - stats_at >= STATS_REFRESH_S:
                note = f"pose {view.pose_ms:.0f} ms" if kind == "pose" else ""
                if cap.dropped:
                    note += f"{'  ' if note else ''}dropped {cap.dropped}"
                stats, stats_at = (fps_ema, view.model_ms, note), now
            overlay.draw_stats(img, *stats, model_name)
            latencies.append((time.perf_counter() - frame.captured) * 1000.0)
            record["latency_ms"] = round(latencies[-1], 2)
            outputs.write(img, record)
            n += 1
            if not headless:
                key = _show(img)
                if key == ord("q"):
                    break
                if key == ord("p"):
                    paused = True
                elif key == ord("r"):
                    view.reset()
                    detector.submit(view.reset_detector)  # after the frame in flight
                    log.info("reset")
                elif key == ord("s"):
                    from motionseq.live.track_forecast import save_frame

                    path = save_frame(snapshots / f"snapshot_{frame.index:06d}.png", img)
                    log.info("snapshot: %s", path)
        ok = True
    except KeyboardInterrupt:
        ok = True  # a camera session ends with Ctrl-C: keep what was written
        log.info("stopped after %d frames", n)
    finally:
        cap.close()  # also ends a read waiting on the detection thread
        if detector is not None:
            detector.shutdown(wait=True, cancel_futures=True)
        if view is not None:
            view.close()
        if outputs is not None:
            outputs.close(keep=ok)
        if not headless:
            cv2.destroyAllWindows()
    seconds = time.perf_counter() - t_start
    if n == 0:
        raise DataError(f"{cap.name}: no frames were read")
    lat = np.array(latencies)
    summary = {
        "view": kind, "checkpoint": ckpt, "runtime": "onnx" if runner is not None else "torch",
        "source": cap.name, "frames": n,
        "seconds": round(seconds, 3), "fps": round(n / seconds, 2), "dropped": cap.dropped,
        "latency_ms_median": round(float(np.median(lat)), 2),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
        "out": str(outputs.out) if outputs.out else None,
        "jsonl": str(outputs.jsonl) if outputs.jsonl else None,
    }
    print(f"{n} frames in {seconds:.1f} s ({summary['fps']} frames/s, {cap.dropped} dropped); "
          f"capture to picture {summary['latency_ms_median']} ms median, "
          f"{summary['latency_ms_p95']} ms p95")
    for key in ("out", "jsonl"):
        if summary[key]:
            print(f"{key}: {summary[key]}")
    return summary


def _show(img: np.ndarray) -> int:
    try:
        cv2.imshow(WINDOW, img)
        return cv2.waitKey(1) & 0xFF
    except cv2.error as e:  # an OpenCV built without a GUI
        raise _no_display_error(str(e).strip().splitlines()[-1]) from None


def main() -> None:
    """Console script ``motionseq-webcam``: Hydra over ``conf/webcam.yaml``."""
    from motionseq.cli import run_hydra

    run_hydra(run, "webcam")
