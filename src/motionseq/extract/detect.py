"""Person detectors for a static camera, each a callable ``frame -> Detections``.

- :class:`BackgroundDetector`: background subtraction (MOG2 or KNN), shadows dropped,
  morphology, connected components, fragments merged and merged groups split with a
  box-size prior (expected person height by image row, fitted from the detections).
- :class:`HogDetector`: OpenCV's HOG + linear SVM people detector.
- :class:`CombinedDetector`: background blobs, with HOG run inside blobs too large for one
  person to separate the people in them.

Boxes are ``[K, 4]`` float (left, top, width, height) in pixels; scores ``[K]`` in [0, 1].
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from motionseq.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class Detections:
    """``boxes [K, 4]`` (left, top, width, height) px and ``scores [K]``."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if len(self.scores) != len(self.boxes):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.scores)} scores")

    def __len__(self) -> int:
        return len(self.boxes)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a [N, 4]`` with every box in ``b [M, 4]`` (l, t, w, h) -> ``[N, M]``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None]
    iw = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    ious = box_iou(boxes, boxes)
    suppressed = np.zeros(len(order), dtype=bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= ious[i] > iou
    return np.asarray(keep, dtype=np.int64)


class SizePrior:
    """Expected person height in pixels as a line in the foot row: ``h = slope * y + intercept``.

    Fixed when both coefficients are given; otherwise fitted (robust least squares) from
    boxes passed to :meth:`observe` that look like one upright person, and ``ready`` once
    ``min_samples`` are in. ``aspect`` is the expected width / height of a person's box.
    """

    def __init__(self, slope: float | None = None, intercept: float | None = None,
                 aspect: float = 0.36, min_samples: int = 50, max_samples: int = 3000,
                 refit_every: int = 50, min_height: float = 12.0) -> None:
        if (slope is None) != (intercept is None):
            raise ConfigError("give both slope and intercept of the size prior, or neither")
        if not 0.05 < aspect < 2:
            raise ConfigError(f"size prior aspect (width / height) must be in (0.05, 2), "
                              f"got {aspect}")
        self.fixed = slope is not None
        self.coef = (float(slope), float(intercept)) if self.fixed else None
        self.aspect, self.min_samples, self.min_height = aspect, min_samples, min_height
        self.refit_every = refit_every
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._since_fit = 0

    @property
    def ready(self) -> bool:
        return self.coef is not None

    def height(self, foot_y: np.ndarray | float) -> np.ndarray:
        """Expected box height (px) at foot row(s) ``foot_y``; requires ``ready``."""
        if self.coef is None:
            raise RuntimeError("size prior is not fitted yet")
        slope, intercept = self.coef
        return np.maximum(slope * np.asarray(foot_y, dtype=np.float64) + intercept,
                          self.min_height)

    def width(self, foot_y: np.ndarray | float) -> np.ndarray:
        return self.aspect * self.height(foot_y)

    def observe(self, boxes: np.ndarray) -> None:
        """Add single-person-looking boxes ``[K, 4]`` and refit every ``refit_every``."""
        if self.fixed:
            return
        for _l, t, _w, h in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            self._samples.append((t + h, h))
        self._since_fit += len(boxes)
        if len(self._samples) >= self.min_samples and (
                self.coef is None or self._since_fit >= self.refit_every):
            self._fit()

    def _fit(self) -> None:
        s = np.asarray(self._samples)
        y, h = s[:, 0], s[:, 1]
        keep = np.ones(len(s), dtype=bool)
        coef = None
        for _ in range(4):  # drop outliers (partial or merged blobs) and refit
            if keep.sum() < 10:
                break
            coef = np.polyfit(y[keep], h[keep], 1)
            resid = np.abs(h - np.polyval(coef, y)) / np.maximum(np.polyval(coef, y), 1.0)
            keep = resid < max(0.15, float(np.median(resid[keep])) * 2.5)
        if coef is not None and np.polyval(coef, np.median(y)) > self.min_height:
            self.coef = (float(coef[0]), float(coef[1]))
        self._since_fit = 0


class BackgroundDetector:
    """People as foreground blobs of a background model; for a static camera.

    Args:
        method: ``"mog2"`` or ``"knn"`` background subtractor.
        history: frames the background model remembers.
        var_threshold: MOG2 ``varThreshold`` (KNN: ``dist2Threshold`` is ``var_threshold *
            25``); lower finds fainter people and more noise.
        background_ratio: MOG2 ``backgroundRatio`` (the weight a colour needs to count as
            background); unused by KNN.
        shadows: detect shadows and drop them (they are grey in the mask, people white).
        learning_rate: -1 lets the subtractor choose (1 / min(2 * frames seen, history)).
        open_size, close_size: ellipse kernels (w, h) for opening (noise) and closing (to
            join the parts of one body).
        min_area: smallest blob (px) considered.
        min_rel_height, max_rel_height: range of box heights as fractions of the prior's
            expected height (once the prior is fitted).
        min_aspect, max_aspect: width / height range of a one-person box.
        prior: a :class:`SizePrior` (fitted from the blobs when not fixed).
        split: split blobs wider or taller than one person using the prior.
        merge: join fragments (one person cut by a pole, or legs apart from the torso).
        merge_gap: largest gap between fragments, in expected person heights.
        min_height: boxes shorter than this (px) are dropped (people too far away).
        box_aspect: output boxes get width ``box_aspect * height`` (blended half-half with
            the blob width) centred on the blob's mass; None keeps the blob width.
        moving_fraction: foreground fraction above which a frame looks like a moving camera
            (a warning is logged once when most recent frames do).
    """

    def __init__(self, method: str = "mog2", history: int = 500, var_threshold: float = 16.0,
                 background_ratio: float = 0.5, shadows: bool = True, learning_rate: float = -1.0,
                 open_size: tuple[int, int] = (3, 3), close_size: tuple[int, int] = (5, 11),
                 min_area: int = 120, min_rel_height: float = 0.45,
                 max_rel_height: float = 1.6, min_aspect: float = 0.15,
                 max_aspect: float = 0.9, prior: SizePrior | None = None, split: bool = True,
                 merge: bool = True, merge_gap: float = 0.15, box_aspect: float | None = 0.36,
                 min_height: float = 0.0, moving_fraction: float = 0.35) -> None:
        if method == "mog2":
            self.subtractor = cv2.createBackgroundSubtractorMOG2(history, var_threshold, shadows)
            # Below OpenCV's 0.9 a person standing still takes several times longer to fade
            # into the background (about ``-ln(ratio) * history`` frames).
            self.subtractor.setBackgroundRatio(background_ratio)
        elif method == "knn":
            self.subtractor = cv2.createBackgroundSubtractorKNN(history, var_threshold * 25,
                                                                shadows)
        else:
            raise ConfigError(f"background method must be 'mog2' or 'knn', got {method!r}")
        if not 0 < min_aspect < max_aspect:
            raise ConfigError(f"need 0 < min_aspect < max_aspect, got {min_aspect}, {max_aspect}")
        self.method, self.learning_rate = method, learning_rate
        self.open_kernel = _ellipse(open_size)
        self.close_kernel = _ellipse(close_size)
        self.min_area, self.min_rel_height = min_area, min_rel_height
        self.max_rel_height, self.merge_gap = max_rel_height, merge_gap
        self.min_aspect, self.max_aspect = min_aspect, max_aspect
        self.prior = prior if prior is not None else SizePrior()
        self.split, self.merge, self.box_aspect = split, merge, box_aspect
        self.min_height, self.moving_fraction = min_height, moving_fraction
        self._recent_moving: deque[bool] = deque(maxlen=50)
        self._warned = False
        self.frames_seen = 0
        self.last_mask: np.ndarray | None = None

    def foreground(self, frame: np.ndarray) -> np.ndarray:
        """Update the background model; the cleaned ``uint8`` foreground mask (0 / 1)."""
        raw = self.subtractor.apply(frame, learningRate=self.learning_rate)
        mask = (raw == 255).astype(np.uint8)  # shadows are 127
        if self.open_kernel is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.open_kernel)
        if self.close_kernel is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.close_kernel)
        self.frames_seen += 1
        self._check_moving(float(mask.mean()))
        self.last_mask = mask
        return mask

    def _check_moving(self, fraction: float) -> None:
        if self.frames_seen <= 10 or self._warned:  # the model is still forming
            return
        self._recent_moving.append(fraction > self.moving_fraction)
        recent = self._recent_moving
        if len(recent) == recent.maxlen and sum(recent) > 0.6 * len(recent):
            log.warning("the foreground covers over %d%% of most recent frames: the camera "
                        "seems to move (or the light changes); background subtraction needs a "
                        "static camera, try detector='hog'", int(100 * self.moving_fraction))
            self._warned = True

    def __call__(self, frame: np.ndarray) -> Detections:
        mask = self.foreground(frame)
        return self.blobs_to_detections(mask)

    def blobs_to_detections(self, mask: np.ndarray) -> Detections:
        """Person boxes in a foreground mask (also feeds the size prior)."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        blobs = []
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            if area >= self.min_area:
                blobs.append(Blob(stats[i, :4].astype(np.float64),
                                  labels[y:y + h, x:x + w] == i))
        prior = self.prior if self.prior.ready else None
        if self.merge and prior is not None:
            blobs = _merge_fragments(blobs, prior, max_gap=self.merge_gap)
        boxes, scores, singles = [], [], []
        H, W = mask.shape
        for blob in blobs:
            parts = _split_blob(blob, prior) if self.split and prior is not None else [blob]
            for part in parts:
                box = part.box
                aspect = box[2] / max(box[3], 1.0)
                if not self.min_aspect <= aspect <= self.max_aspect or box[3] < self.min_height:
                    continue
                score = part.fill
                if prior is not None:
                    rel = box[3] / float(prior.height(box[1] + box[3]))
                    if not self.min_rel_height <= rel <= self.max_rel_height:
                        continue
                    score *= min(1.0, rel, 1.0 / max(rel, 1e-6))
                if len(parts) == 1 and 0.22 <= aspect <= 0.55 and _inside(box, W, H):
                    singles.append(box)
                boxes.append(self._shape(part))
                scores.append(float(np.clip(score * 2, 0, 1)))
        self.prior.observe(np.asarray(singles).reshape(-1, 4))
        return Detections(np.asarray(boxes).reshape(-1, 4), np.asarray(scores))

    def _shape(self, blob: Blob) -> np.ndarray:
        _, top, width, height = blob.box
        if self.box_aspect is None:
            return blob.box.copy()
        w = 0.5 * width + 0.5 * self.box_aspect * height
        return np.array([blob.cx - w / 2, top, w, height])


class Blob:
    """One foreground region: box (l, t, w, h), its pixels ``[h, w]`` bool, mass centre x."""

    def __init__(self, box: np.ndarray, mask: np.ndarray) -> None:
        w = int(box[2])
        self.box = np.asarray(box, dtype=np.float64)
        self.mask = mask.astype(bool)
        cols = self.mask.sum(axis=0)
        self.area = int(cols.sum())
        self.cx = box[0] + (float((cols * np.arange(w)).sum()) / self.area + 0.5 if self.area
                       else w / 2)

    @property
    def fill(self) -> float:
        return self.area / max(self.box[2] * self.box[3], 1.0)


def _ellipse(size: tuple[int, int] | None) -> np.ndarray | None:
    if size is None or min(size) <= 1:
        return None
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, tuple(int(s) for s in size))


def _inside(box: np.ndarray, width: int, height: int, margin: int = 2) -> bool:
    x, y, w, h = box
    return x > margin and y > margin and x + w < width - margin and y + h < height - margin


def _sub_blob(blob: Blob, x0: int, x1: int, y0: int = 0, y1: int | None = None) -> Blob | None:
    """The part of ``blob`` in crop columns [x0, x1) and rows [y0, y1), trimmed to its pixels."""
    m = blob.mask[y0:y1, x0:x1]
    if not m.any():
        return None
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    x, y = blob.box[0] + x0 + c0, blob.box[1] + y0 + r0
    return Blob(np.array([x, y, c1 - c0, r1 - r0], dtype=np.float64), m[r0:r1, c0:c1])


def _split_blob(blob: Blob, prior: SizePrior, wide: float = 1.6, tall: float = 1.35,
                min_piece: float = 0.5) -> list[Blob]:
    """Cut a blob holding several people: side by side (columns, cut at the thinnest
    columns near equal spacing) or one above the other (a far person's legs hidden by a near
    one: the top part becomes the far person)."""
    _, t, w, h = blob.box
    foot = t + h
    exp_h = float(prior.height(foot))
    if h < min_piece * exp_h:
        return [blob]
    out: list[Blob] = []
    # One above the other: the near person takes the expected height above the foot row.
    if h > tall * exp_h:
        cut = int(round(h - exp_h))
        upper = _sub_blob(blob, 0, int(w), 0, cut)
        lower = _sub_blob(blob, 0, int(w), cut, None)
        if upper is not None and lower is not None and upper.box[3] > min_piece * float(
                prior.height(upper.box[1] + upper.box[3])):
            return _split_blob(upper, prior, wide, tall) + _split_blob(lower, prior, wide, tall)
        return [blob]
    exp_w = float(prior.width(foot))
    k = int(round(w / exp_w))
    if w < wide * exp_w or k < 2:
        return [blob]
    profile = np.convolve(blob.mask.sum(axis=0).astype(np.float64), np.ones(3) / 3, "same")
    cuts, step, reach = [0], w / k, w / (3 * k)
    for j in range(1, k):
        lo, hi = int(j * step - reach), int(j * step + reach) + 1
        lo, hi = max(lo, cuts[-1] + 1), min(hi, int(w) - 1)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(j * step))
    cuts.append(int(w))
    for x0, x1 in zip(cuts[:-1], cuts[1:], strict=True):
        part = _sub_blob(blob, x0, x1)
        if part is not None:
            out.append(part)
    return out


def _merge_fragments(blobs: list[Blob], prior: SizePrior, max_w: float = 1.25,
                     max_h: float = 1.2, max_gap: float = 0.15) -> list[Blob]:
    """Join blobs whose union is no bigger than one person and that (nearly) touch."""
    blobs = list(blobs)
    merged = True
    while merged and len(blobs) > 1:
        merged = False
        best = None
        for i in range(len(blobs)):
            for j in range(i + 1, len(blobs)):
                a, b = blobs[i].box, blobs[j].box
                left, t = min(a[0], b[0]), min(a[1], b[1])
                r, btm = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
                exp_h = float(prior.height(btm))
                gap_x = max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2])
                gap_y = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
                if (r - left <= max_w * prior.aspect * exp_h and btm - t <= max_h * exp_h
                        and max(gap_x, gap_y) <= max_gap * exp_h
                        and max(a[3], b[3]) < 0.9 * exp_h):
                    area = (r - left) * (btm - t)
                    if best is None or area < best[0]:
                        best = (area, i, j, np.array([left, t, r - left, btm - t]))
        if best is not None:
            _, i, j, box = best
            mask = np.zeros((int(box[3]), int(box[2])), dtype=bool)
            for blob in (blobs[i], blobs[j]):
                x, y = int(blob.box[0] - box[0]), int(blob.box[1] - box[1])
                mh, mw = blob.mask.shape
                mask[y:y + mh, x:x + mw] |= blob.mask
            blobs = [b for k, b in enumerate(blobs) if k not in (i, j)]
            blobs.append(Blob(box, mask))
            merged = True
    return blobs


class HogDetector:
    """OpenCV's default HOG people detector (Dalal & Triggs, 64x128 window).

    Args:
        upscale: resize factor applied before detection (the window finds people about 100
            px tall at scale 1; PETS-sized people of 50-100 px need about 2).
        hit_threshold: SVM margin; higher keeps fewer, surer boxes.
        win_stride, padding, scale: ``detectMultiScale`` arguments.
        nms_iou: overlap above which the lower-scoring box is dropped.
        box_shrink: (width, height) fraction of the returned window the person fills.
    """

    def __init__(self, upscale: float = 2.0, hit_threshold: float = 0.0,
                 win_stride: tuple[int, int] = (8, 8), padding: tuple[int, int] = (8, 8),
                 scale: float = 1.05, nms_iou: float = 0.4,
                 box_shrink: tuple[float, float] = (0.53, 0.75)) -> None:
        if upscale <= 0:
            raise ConfigError(f"upscale must be positive, got {upscale}")
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.upscale, self.hit_threshold = upscale, hit_threshold
        self.win_stride, self.padding, self.scale = win_stride, padding, scale
        self.nms_iou, self.box_shrink = nms_iou, box_shrink

    def __call__(self, frame: np.ndarray) -> Detections:
        return self.detect(frame)

    def detect(self, image: np.ndarray, upscale: float | None = None) -> Detections:
        """People in ``image`` (any size; boxes in its pixels)."""
        s = self.upscale if upscale is None else upscale
        img = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR) if s != 1 \
            else image
        if img.shape[0] < 128 or img.shape[1] < 64:
            return Detections()
        rects, weights = self.hog.detectMultiScale(
            img, hitThreshold=self.hit_threshold, winStride=self.win_stride,
            padding=self.padding, scale=self.scale)
        if len(rects) == 0:
            return Detections()
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / s
        sw, sh = self.box_shrink
        boxes = np.c_[boxes[:, 0] + boxes[:, 2] * (1 - sw) / 2,
                      boxes[:, 1] + boxes[:, 3] * (1 - sh) / 2,
                      boxes[:, 2] * sw, boxes[:, 3] * sh]
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        keep = nms(boxes, w, self.nms_iou)
        return Detections(boxes[keep], 1.0 / (1.0 + np.exp(-w[keep])))


class CombinedDetector:
    """Background blobs; HOG inside blobs too big for one person (groups walking together).

    A big blob's HOG people replace the prior-based split when HOG finds at least two that
    lie inside the blob; otherwise the split boxes stay.
    """

    def __init__(self, background: BackgroundDetector | None = None,
                 hog: HogDetector | None = None, big: float = 1.5, person_px: float = 100.0,
                 margin: float = 0.25) -> None:
        self.background = background or BackgroundDetector()
        self.hog = hog or HogDetector(upscale=1.0)
        self.big, self.person_px, self.margin = big, person_px, margin

    def __call__(self, frame: np.ndarray) -> Detections:
        bg = self.background
        mask = bg.foreground(frame)
        dets = bg.blobs_to_detections(mask)
        prior = bg.prior
        if not prior.ready or not len(dets):
            return dets
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        keep = np.ones(len(dets), dtype=bool)
        centres = dets.boxes[:, :2] + dets.boxes[:, 2:] / 2
        extra_boxes, extra_scores = [], []
        img_h, img_w = mask.shape
        for x, y, w, h, area in stats[1:].astype(int):
            exp_h = float(prior.height(y + h))
            if area < bg.min_area or not (w > self.big * prior.aspect * exp_h
                                          or h > 1.35 * exp_h):
                continue
            pad = self.margin * exp_h
            x0, y0 = max(0, int(x - pad)), max(0, int(y - pad))
            x1, y1 = min(img_w, int(x + w + pad)), min(img_h, int(y + h + pad))
            found = self.hog.detect(frame[y0:y1, x0:x1], upscale=self.person_px / max(exp_h, 1))
            if len(found) < 2:
                continue
            boxes = found.boxes + [x0, y0, 0, 0]
            inside = box_iou(boxes, np.array([[x, y, w, h]])).ravel() > 0
            if inside.sum() < 2:
                continue
            # HOG's people replace the background boxes that came from this blob.
            keep &= ~((centres[:, 0] >= x) & (centres[:, 0] < x + w)
                      & (centres[:, 1] >= y) & (centres[:, 1] < y + h))
            extra_boxes.append(boxes[inside])
            extra_scores.append(found.scores[inside])
        if not extra_boxes:
            return dets
        return Detections(np.vstack([dets.boxes[keep], *extra_boxes]),
                          np.concatenate([dets.scores[keep], *extra_scores]))


def make_detector(name: str, **kwargs: object) -> BackgroundDetector | HogDetector | \
        CombinedDetector:
    """``"mog2"`` / ``"knn"`` (background), ``"hog"``, or ``"both"`` (background + HOG in
    large blobs); keyword arguments go to the detector."""
    if name in ("mog2", "knn"):
        return BackgroundDetector(method=name, **kwargs)  # type: ignore[arg-type]
    if name == "hog":
        return HogDetector(**kwargs)  # type: ignore[arg-type]
    if name == "both":
        return CombinedDetector(background=BackgroundDetector(**kwargs))  # type: ignore[arg-type]
    raise ConfigError(f"detector must be one of mog2, knn, hog, both; got {name!r}")
