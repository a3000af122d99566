"""Per-frame action recognition over a stream of poses.

:class:`StreamPredictor` takes one frame's pose at a time (a row of a
:class:`~motionseq.sequence.PoseSequence`: keypoints ``[J, C]`` and visibility ``[J]``, NaN
where unknown) and returns the current :class:`Prediction`. Two modes:

- ``window``: a ring buffer of the last ``window`` frames; each prediction runs the model
  on :meth:`PoseFeatures.from_arrays <motionseq.data.features.PoseFeatures.from_arrays>` of
  exactly those frames, i.e. the training feature path on the last N frames.
- ``carried``: one recurrent step per frame on a carried state (O(1) work per frame). The
  frame's feature row comes from the same ``from_arrays`` on at most four frames: the
  previous and current ones plus the last frames where the body centre and scale were
  known, which is all a row depends on (the features are causal), so it equals the row of
  the whole stream. With ``restart`` two staggered states are kept and each starts afresh
  after ``window`` frames, so the model always reads between ``window / 2`` and ``window``
  frames, as long as the clips it was trained on; without it one state reads the whole
  stream. While the stream is shorter than ``window`` both modes give the same
  probabilities.

Carried state is exact only for a unidirectional encoder without a convolution front end
and with causal features (no ``resample``); otherwise the predictor falls back to windows
and logs why.

Window mode can run the model through another runtime: ``runner`` is any callable from the
window's raw features ``[n, F]`` to class probabilities ``[C]``, e.g. an exported ONNX
model (:class:`~motionseq.live.export.OnnxClassifier`). The features stay this module's
(the one feature path); only the model call changes.

Smoothing: an exponential moving average over the probabilities, and hysteresis: the shown
label changes only after another label (or :data:`UNKNOWN`) has led for ``hold`` frames in
a row. :data:`UNKNOWN` is shown while the smoothed confidence is below ``min_confidence``
or fewer than ``min_frames`` frames with a person were seen; :data:`NO_PERSON` after
``absent_frames`` frames in a row without anybody, and after ``window`` such frames the
state is reset so that the next person starts afresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from motionseq.data.features import FeatureStream, PoseFeatures
from motionseq.errors import CheckpointError, ConfigError, DataError
from motionseq.live.step import StepEncoder, plain_head, step_unavailable
from motionseq.modules.openset import BACKGROUND, NO_KNOWN_ACTION, known_probability_score
from motionseq.skeleton import can_map, get_layout, joint_mapping

__all__ = ["NO_KNOWN_ACTION", "NO_PERSON", "UNKNOWN", "Prediction", "StreamPredictor"]

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
NO_PERSON = "no person"
Mode = Literal["window", "carried", "auto"]


@dataclass
class Prediction:
    """The predictor's answer after one frame.

    Attributes:
        label: a class name, :data:`UNKNOWN` or :data:`NO_PERSON` (after hysteresis).
        probabilities: ``[C]`` smoothed class probabilities (zeros before the first step).
        raw: ``[C]`` this frame's model probabilities, or None when the model did not run
            (nobody in the frame, window mode).
        person: whether this frame shows a person.
        frames: frames pushed since the last reset.
        latency_ms: time spent in :meth:`StreamPredictor.push` for this frame (features,
            model, smoothing).
    """

    label: str
    probabilities: np.ndarray
    raw: np.ndarray | None
    person: bool
    frames: int
    latency_ms: float

    def top(self, k: int = 3, classes: list[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` most probable ``(class, smoothed probability)`` pairs."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        names = classes or [str(i) for i in range(len(self.probabilities))]
        return [(names[i], float(self.probabilities[i])) for i in order]


class StreamPredictor:
    """Frame-by-frame predictions of an action classifier.

    Args:
        model: a trained :class:`~motionseq.modules.classifier.ActionClassifier` (its
            hparams carry the feature settings and class names).
        source_layout: layout of the pushed poses (``mediapipe33`` from PoseExtractor);
            mapped into the model's layout when that is a different one.
        fps: frame rate of the stream (velocities are per second).
        mode: ``window``, ``carried`` or ``auto`` (carried when the model allows it).
        window: ring buffer frames (window mode) and the restart period (carried mode).
        restart: carried mode: two staggered states restarted every ``window`` frames
            (True) or one state over the whole stream (False).
        stride: window mode: run the model every ``stride`` frames (smoothing holds the
            last probabilities in between).
        smoothing: EMA weight of each new frame's probabilities, in (0, 1]; 1 = none.
        hold: frames a new label must lead before it is shown (hysteresis).
        min_confidence: below this known-action score of the smoothed probabilities the
            label is :data:`NO_KNOWN_ACTION`; None: the checkpoint's ``known_threshold``
            (0.5 for a checkpoint without one).
        min_frames: frames with a person needed before a label is shown.
        absent_frames: frames without a person before :data:`NO_PERSON` is shown.
        runner: window mode: a callable from the window's raw features ``[n, F]`` float32
            to class probabilities ``[C]`` that replaces the PyTorch model (e.g.
            :class:`~motionseq.live.export.OnnxClassifier`); it implies window mode,
            unless ``step_runner`` is given too.
        step_runner: carried mode in another runtime: called with the number of state
            slots, returns a stepper like :class:`~motionseq.live.step.StepEncoder` whose
            ``step`` gives class probabilities (e.g.
            :class:`~motionseq.live.export_step.OnnxStepCell`).

    Raises:
        ConfigError: bad settings; CheckpointError: a model this stream cannot feed (raw
            layout, or a layout the poses cannot be mapped into).
    """

    def __init__(self, model, source_layout: str = "mediapipe33", fps: float = 30.0,
                 mode: Mode = "auto", window: int = 64, restart: bool = True, stride: int = 1,
                 smoothing: float = 0.3, hold: int = 5, min_confidence: float | None = None,
                 min_frames: int = 8, absent_frames: int = 3,
                 runner: Callable[[np.ndarray], np.ndarray] | None = None,
                 step_runner: Callable[[int], Any] | None = None) -> None:
        if mode not in ("window", "carried", "auto"):
            raise ConfigError(f"stream mode must be window, carried or auto, got {mode!r}")
        if window < 2 or stride < 1 or hold < 1 or min_frames < 1 or absent_frames < 1:
            raise ConfigError("stream settings need window >= 2 and stride, hold, min_frames, "
                              f"absent_frames >= 1; got window={window}, stride={stride}, "
                              f"hold={hold}, min_frames={min_frames}, "
                              f"absent_frames={absent_frames}")
        if not 0.0 < smoothing <= 1.0:
            raise ConfigError(f"smoothing is the EMA weight of a new frame, in (0, 1]; got "
                              f"{smoothing}")
        if not (np.isfinite(fps) and fps > 0):
            raise ConfigError(f"fps must be a positive number, got {fps}")
        self.model = model.eval()
        hp = model.hparams
        self.classes: list[str] = list(model.class_names)
        self.features = PoseFeatures(**(hp.get("features") or {}))
        self._check_layout(source_layout)
        self.fps, self.window, self.stride = float(fps), int(window), int(stride)
        self.smoothing, self.hold = float(smoothing), int(hold)
        if min_confidence is None:
            min_confidence = hp.get("known_threshold")
            if min_confidence is not None and hp.get("open_set") == "energy":
                # energy with a background class is log(mass / p(background)): the same
                # threshold on the mass the smoothed probabilities give; none without one
                min_confidence = 1.0 / (1.0 + np.exp(-min_confidence)) \
                    if BACKGROUND in self.classes else None
            min_confidence = 0.5 if min_confidence is None else min_confidence
        self.min_confidence, self.min_frames = float(min_confidence), int(min_frames)
        self._known_idx = np.flatnonzero([c != BACKGROUND for c in self.classes])
        self._has_background = self._known_idx.size < len(self.classes)
        self._open_set = str(hp.get("open_set") or "mass")
        self.absent_frames = int(absent_frames)
        self.restart = bool(restart)
        self.runner = runner
        self._step_runner = step_runner
        self.mode = self._choose_mode(mode)
        lay = get_layout(self.features.layout)
        self._mean = model.feat_mean.detach().cpu().numpy().astype(np.float32)
        self._std = model.feat_std.detach().cpu().numpy().astype(np.float32)
        slots = 2 if self.restart else 1
        self._cell = None
        self._head = plain_head(model.head)
        if self.mode == "carried":
            # ONNX Runtime steps the exported step model (its head included) when given
            self._cell = step_runner(slots) if step_runner is not None else \
                StepEncoder(model.encoder, slots=slots)
        self._j = lay.num_joints
        self._c: int | None = None  # channels per joint, from the first frame
        self.reset()

    # ------------------------------------------------------------------ setup

    def _check_layout(self, source_layout: str) -> None:
        feats = self.features
        if feats.generic:
            raise CheckpointError(
                f"this classifier was trained on layout-free ({feats.layout!r}) data; the "
                f"live view feeds body poses, so it needs a classifier trained on a pose "
                f"layout (e.g. data=workouts)")
        self.source_layout = source_layout
        if source_layout == feats.layout:
            self._map = None
            return
        if not can_map(source_layout, feats.layout):
            missing = [get_layout(feats.layout).joints[i] for i, m in
                       enumerate(joint_mapping(source_layout, feats.layout)) if m < 0]
            raise CheckpointError(
                f"the classifier expects the {feats.layout!r} layout but the live poses are "
                f"{source_layout!r}, which lacks {', '.join(missing[:6])}; use a classifier "
                f"trained on {source_layout!r} poses or on a layout they map into")
        self._map = joint_mapping(source_layout, feats.layout)
        log.info("poses are mapped from %s to the classifier's %s layout", source_layout,
                 feats.layout)

    def _choose_mode(self, mode: Mode) -> str:
        if mode == "window":
            return "window"
        why = ("the model runs in another runtime, which reads whole windows"
               if self.runner is not None and self._step_runner is None
               else step_unavailable(self.model.encoder))
        if why is None and self.features.resample is not None:
            why = "the features are resampled to a fixed length (not causal)"
        if why is None:
            return "carried"
        if mode == "carried":
            log.warning("carried-state streaming is impossible: %s; using window mode "
                        "(the model reads the last %d frames every frame)", why, self.window)
        else:
            log.info("window mode (last %d frames): carried state is impossible because %s",
                     self.window, why)
        return "window"

    def reset(self) -> None:
        """Forget every frame: the buffer, recurrent states, smoothing and the label."""
        self._kp: np.ndarray | None = None  # ring buffer [window, J, C]
        self._vis = np.zeros((self.window, self._j), np.float32)
        self._n = 0  # frames pushed since reset
        self._with_person = 0
        self._absent = 0
        self._ema: np.ndarray | None = None
        self._label = UNKNOWN
        self._pending: str | None = None
        self._pending_n = 0
        # carried mode: one feature row per frame, as the whole stream's features have it
        self._rows = FeatureStream(self.features) if self.mode == "carried" else None
        self._since_restart = [0, 0]
        self.last_row: np.ndarray | None = None  # carried mode: the last feature row [F]
        if self._cell is not None:
            self._cell.reset()

    # ------------------------------------------------------------------ frames in

    def _to_model_layout(self, keypoints: np.ndarray, visibility: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """One frame in the model's layout, float32, visibility 0 where a joint is unknown
        (as :class:`PoseSequence` stores it)."""
        kp = np.asarray(keypoints, np.float32)
        vis = np.asarray(visibility, np.float32)
        if self._map is not None:
            ok = self._map >= 0
            out = np.full((len(self._map), kp.shape[1]), np.nan, np.float32)
            out[ok] = kp[self._map[ok]]
            v = np.zeros(len(self._map), np.float32)
            v[ok] = vis[self._map[ok]]
            kp, vis = out, v
        if kp.shape[0] != self._j or kp.ndim != 2:
            raise DataError(f"a frame of {self.features.layout!r} poses is [{self._j}, C], "
                            f"got {kp.shape}")
        vis = np.where(np.isnan(kp).any(axis=1), 0.0, vis).astype(np.float32)
        return kp, vis

    def push(self, keypoints: np.ndarray | None, visibility: np.ndarray | None = None
             ) -> Prediction:
        """Add one frame: ``keypoints [J, C]`` and ``visibility [J]`` in the source layout
        (None or all-NaN: nobody in the frame); returns the prediction after it."""
        t0 = time.perf_counter()
        if keypoints is None:
            c = self._c or 3
            keypoints = np.full((get_layout(self.source_layout).num_joints, c), np.nan)
            visibility = None
        kp_src = np.asarray(keypoints, np.float32)
        if visibility is None:
            visibility = np.where(np.isfinite(kp_src).all(axis=-1), 1.0, 0.0)
        kp, vis = self._to_model_layout(kp_src, visibility)
        if self._c is None:
            self._c = kp.shape[1]
            if self.features.use_z and self._c < 3:
                raise DataError("the classifier uses z (use_z=true) but the poses are 2D")
        person = bool(np.isfinite(kp[:, :2]).all(axis=1).any())
        self._absent = 0 if person else self._absent + 1
        if self._absent == self.window:  # long gone: the next person starts afresh
            self.reset()
            self._absent = self.window
        if self._kp is None:
            self._kp = np.full((self.window, self._j, self._c), np.nan, np.float32)
        slot = self._n % self.window
        self._kp[slot], self._vis[slot] = kp, vis
        self._n += 1
        self._with_person += person
        if self.mode == "carried":
            # The state steps through person-less frames too, as the window reads them.
            raw = self._carried_step(kp, vis)
            raw_used = raw if person else None
        else:
            run = person and (self._n - 1) % self.stride == 0
            raw_used = raw = self._window_step() if run else None
        if raw_used is not None:
            self._ema = raw_used.copy() if self._ema is None else \
                (1.0 - self.smoothing) * self._ema + self.smoothing * raw_used
        label = self._update_label()
        probs = self._ema if self._ema is not None else np.zeros(len(self.classes), np.float32)
        return Prediction(label, probs.astype(np.float32), raw, person, self._n,
                          (time.perf_counter() - t0) * 1000.0)

    # ------------------------------------------------------------------ the model

    def window_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The ring buffer in time order: ``keypoints [n, J, C]``, ``visibility [n, J]``
        (model layout), ``n = min(frames pushed, window)``."""
        n = min(self._n, self.window)
        if self._kp is None or n == 0:
            return np.zeros((0, self._j, self._c or 3), np.float32), np.zeros((0, self._j),
                                                                              np.float32)
        end = self._n % self.window
        if n < self.window:
            return self._kp[:n].copy(), self._vis[:n].copy()
        order = np.r_[end:self.window, 0:end]
        return self._kp[order], self._vis[order]

    def window_features(self) -> np.ndarray:
        """Features ``[n, F]`` of the frames in the buffer: exactly PoseFeatures on them."""
        kp, vis = self.window_arrays()
        return self.features.from_arrays(kp, vis, self.fps)

    def _probabilities(self, summary: torch.Tensor) -> np.ndarray:
        return torch.softmax(self._head(summary), dim=-1).numpy()

    def _window_step(self) -> np.ndarray:
        if self.runner is not None:
            return np.asarray(self.runner(self.window_features()), np.float32)
        x = torch.from_numpy(self.window_features())[None]
        with torch.inference_mode():
            return torch.softmax(self.model(x), dim=-1)[0].numpy()

    def _carried_step(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        self.last_row = self._rows.push(kp, vis, self.fps)
        x = (self.last_row - self._mean) / self._std
        cell = self._cell
        if self.restart:
            # Slot 1 starts half a window after slot 0; a slot restarts after a window.
            half = self.window // 2
            t = self._n - 1
            if t == half:
                cell.reset(1)
                self._since_restart[1] = 0
            for s in (0, 1):
                if self._since_restart[s] >= self.window:
                    cell.reset(s)
                    self._since_restart[s] = 0
        summaries = cell.step(x)
        self._since_restart[0] += 1
        self._since_restart[1] += 1
        # Read the slot that has seen the most frames (slot 1 only counts once started).
        use = 0
        if self.restart and self._n - 1 >= self.window // 2 \
                and self._since_restart[1] > self._since_restart[0]:
            use = 1
        if getattr(cell, "returns_probabilities", False):
            return np.asarray(summaries[use], np.float32)
        return self._probabilities(summaries[use:use + 1])[0]

    # ------------------------------------------------------------------ smoothing

    def _update_label(self) -> str:
        if self._absent >= self.absent_frames:
            self._pending, self._pending_n = None, 0
            self._label = NO_PERSON
            return NO_PERSON
        if self._ema is None or self._with_person < self.min_frames:
            lead = UNKNOWN
        else:
            known = self._known_idx
            if known.size:
                p = self._ema[known]
                i = int(known[p.argmax()])
                score = float(known_probability_score(p, self._has_background,
                                                      self._open_set))
            else:
                i, score = 0, 0.0
            lead = self.classes[i] if score >= self.min_confidence else NO_KNOWN_ACTION
        if self._label == NO_PERSON:  # somebody is back: start from unknown
            self._label = UNKNOWN
        if lead == self._label:
            self._pending, self._pending_n = None, 0
        elif lead == self._pending:
            self._pending_n += 1
        else:
            self._pending, self._pending_n = lead, 1
        if self._pending is not None and self._pending_n >= self.hold:
            self._label, self._pending, self._pending_n = self._pending, None, 0
        return self._label

    @property
    def label(self) -> str:
        return self._label
