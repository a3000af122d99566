"""Drawing the live view on a BGR frame (in place): the skeleton, the recognised action
with its top probabilities as bars, the repetition counter, predicted paths as fading
lines, tracked people with ids and forecasts, and the speed figures.

Sizes scale with the frame height, so a 1080p and a 240p picture look alike. Keypoints
and joint paths are image-normalised (x, y in [0, 1]); people are in pixels.

Drawing runs on every frame of the live loop, beside a pose model of ~25 ms, so its cost
counts: text is rasterised once per distinct string and size and then blended from a
cache (anti-aliased outline and fill, as ``cv2.putText`` draws them), and shaded panels
are darkened in place in 8 bits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from motionseq.extract.paths import draw_tracks
from motionseq.extract.render import draw_pose
from motionseq.sequence import Tracks

__all__ = ["draw_fading_path", "draw_panel", "draw_paths", "draw_people", "draw_skeleton",
           "draw_stats"]

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
BAR_COLOURS = ((60, 200, 60), (0, 170, 230), (200, 130, 40))  # BGR: 1st, 2nd, 3rd
PATH_COLOURS = ((255, 200, 0), (0, 220, 255), (255, 80, 200), (80, 255, 120))


def _unit(frame: np.ndarray) -> float:
    """Drawing scale: 1 at 720 rows."""
    return max(frame.shape[0], 240) / 720.0


_SPRITES: OrderedDict[tuple, tuple[int, int, np.ndarray, np.ndarray]] = OrderedDict()
_SPRITES_MAX = 512


def _sprite(text: str, scale: float, colour: tuple[int, int, int], thick: int
            ) -> tuple[int, int, np.ndarray, np.ndarray]:
    """``(dx, dy, keep, add)`` of an outlined text, cached: the picture under it becomes
    ``picture * keep + add`` (``[h, w, 3]`` float32 each, 0.5 of rounding in ``add``),
    placed at ``org + (dx, dy)`` (``org`` as putText's)."""
    key = (text, round(scale, 4), tuple(colour), thick)
    hit = _SPRITES.get(key)
    if hit is not None:
        _SPRITES.move_to_end(key)
        return hit
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick + 2)
    m = thick + 3  # margin for the outline and anti-aliasing
    w, h = tw + 2 * m, th + base + 2 * m
    org = (m, m + th)
    outline = np.zeros((h, w), np.uint8)
    fill = np.zeros((h, w), np.uint8)
    cv2.putText(outline, text, org, FONT, scale, 255, thick + 2, cv2.LINE_AA)
    cv2.putText(fill, text, org, FONT, scale, 255, thick, cv2.LINE_AA)
    a_out = outline.astype(np.float32)[..., None] / 255.0
    a_fill = fill.astype(np.float32)[..., None] / 255.0
    # putText's blending, twice: a black outline, then the coloured fill
    keep = np.repeat((1.0 - a_out) * (1.0 - a_fill), 3, axis=2)
    add = a_fill * np.asarray(colour, np.float32) + 0.5
    hit = (-org[0], -org[1], keep, add.astype(np.float32))
    _SPRITES[key] = hit
    if len(_SPRITES) > _SPRITES_MAX:
        _SPRITES.popitem(last=False)
    return hit


def _text(frame: np.ndarray, text: str, org: tuple[int, int], scale: float,
          colour: tuple[int, int, int] = WHITE, thick: int = 1) -> None:
    """Text with a dark outline, readable on any background; ``org`` is the bottom-left
    of the text as in ``cv2.putText``."""
    if not text:
        return
    dx, dy, keep, add = _sprite(text, scale, colour, thick)
    fh, fw = frame.shape[:2]
    x0, y0 = org[0] + dx, org[1] + dy
    h, w = keep.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + w, fw), min(y0 + h, fh)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    sl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    roi = frame[cy0:cy1, cx0:cx1]
    mixed = roi * keep[sl]
    mixed += add[sl]
    roi[:] = mixed  # truncates: the 0.5 in add rounds


def _shade(frame: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.55
           ) -> None:
    """Darken a rectangle (only that region is blended)."""
    h, w = frame.shape[:2]
    x0, x1, y0, y1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = frame[y0:y1, x0:x1]
        if roi.dtype == np.uint8 and roi.ndim == 3 and roi.strides[1:] == (roi.shape[2], 1):
            # rows of contiguous pixels: OpenCV writes the view in place, in 8 bits
            cv2.convertScaleAbs(roi, dst=roi, alpha=1.0 - alpha)
        else:
            roi[:] = (roi * (1.0 - alpha)).astype(np.uint8)


def draw_skeleton(frame: np.ndarray, keypoints: np.ndarray | None,
                  visibility: np.ndarray | None, edges: tuple[tuple[int, int], ...],
                  min_visibility: float = 0.5) -> np.ndarray:
    """The pose's bones (the layout's edges) and joints; nothing when ``keypoints`` is
    None."""
    if keypoints is None or visibility is None:
        return frame
    return draw_pose(frame, keypoints, visibility, edges, min_visibility)


def draw_panel(frame: np.ndarray, label: str, top: Sequence[tuple[str, float]],
               reps: tuple[str, int] | None = None) -> np.ndarray:
    """Top-left panel: the label, one bar per ``(class, probability)`` of ``top`` and the
    repetition count ``(exercise, count)`` when given."""
    u = _unit(frame)
    pad, line = int(12 * u), int(30 * u)
    bar_w, bar_h = int(220 * u), int(16 * u)
    rows = 1 + len(top) + (1 if reps is not None else 0)
    _shade(frame, 0, 0, pad * 3 + bar_w + int(150 * u), pad * 2 + line * rows + int(6 * u))
    y = pad + int(24 * u)
    _text(frame, label, (pad, y), 0.9 * u, WHITE, max(1, round(2 * u)))
    for k, (name, p) in enumerate(top):
        y += line
        x0, yb = pad, y - bar_h + int(2 * u)
        cv2.rectangle(frame, (x0, yb), (x0 + bar_w, yb + bar_h), (90, 90, 90), 1)
        fill = int(round(bar_w * float(np.clip(p, 0.0, 1.0))))
        if fill > 0:
            cv2.rectangle(frame, (x0, yb), (x0 + fill, yb + bar_h),
                          BAR_COLOURS[k % len(BAR_COLOURS)], -1)
        _text(frame, f"{name} {100 * p:.0f}%", (x0 + bar_w + pad, y), 0.55 * u, WHITE,
              max(1, round(u)))
    if reps is not None:
        y += line
        _text(frame, f"{reps[0]} reps: {reps[1]}", (pad, y + int(4 * u)), 0.8 * u,
              (0, 230, 255), max(1, round(2 * u)))
    return frame


def draw_fading_path(frame: np.ndarray, points: np.ndarray, colour: tuple[int, int, int],
                     thickness: float = 3.0, outline: bool = False) -> np.ndarray:
    """A polyline ``[K, 2]`` (pixels) that fades and thins from its first point to its
    last, with a dot at the end; ``outline`` draws a dark edge under it first."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts[np.isfinite(pts).all(axis=1)]
    n = len(pts) - 1
    if n < 1:
        return frame
    ip = np.round(pts).astype(np.int32)
    if outline:
        cv2.polylines(frame, [ip.reshape(-1, 1, 2)], False, BLACK,
                      max(1, int(round(thickness))) + 2, cv2.LINE_AA)
    for k in range(n):
        f = 1.0 - 0.75 * k / n
        c = tuple(int(v * f) for v in colour)
        cv2.line(frame, tuple(ip[k]), tuple(ip[k + 1]), c,
                 max(1, int(round(thickness * (1.0 - 0.5 * k / n)))), cv2.LINE_AA)
    cv2.circle(frame, tuple(ip[-1]), max(2, int(thickness)), colour, -1, cv2.LINE_AA)
    return frame


def draw_paths(frame: np.ndarray, paths: Mapping[str, np.ndarray]) -> np.ndarray:
    """Predicted joint paths ``{joint: [K, 2] image-normalised}`` (each starting at the
    joint's current position) as fading lines."""
    h, w = frame.shape[:2]
    scale = np.array([w, h], dtype=np.float64)
    for k, pts in enumerate(paths.values()):
        draw_fading_path(frame, np.asarray(pts) * scale, PATH_COLOURS[k % len(PATH_COLOURS)],
                         3.0 * _unit(frame))
    return frame


def draw_people(frame: np.ndarray, history: Tracks | None, index: int,
                forecasts: Mapping[int, np.ndarray], trail: int = 30) -> np.ndarray:
    """Tracked people at frame ``index``: boxes, ids and trails from ``history`` (pixel
    tracks with boxes), and each forecast ``{id: [K, 2] px}`` (from the current foot
    point) as a fading line."""
    if history is not None and len(history):
        draw_tracks(frame, history, index, trail)
    for pts in forecasts.values():
        draw_fading_path(frame, pts, WHITE, 2.5 * _unit(frame), outline=True)
    return frame


def draw_stats(frame: np.ndarray, fps: float | None, latency_ms: float | None,
               note: str = "", latency_name: str = "model") -> np.ndarray:
    """Bottom-left line: frames per second, the model's latency (named ``latency_name``)
    and a note."""
    u = _unit(frame)
    parts = []
    if fps is not None:
        parts.append(f"{fps:.1f} fps")
    if latency_ms is not None:
        parts.append(f"{latency_name} {latency_ms:.2f} ms")
    if note:
        parts.append(note)
    if not parts:
        return frame
    text = "  |  ".join(parts)
    h = frame.shape[0]
    (tw, th), _ = cv2.getTextSize(text, FONT, 0.55 * u, 1)
    pad = int(8 * u)
    _shade(frame, 0, h - th - 3 * pad, tw + 2 * pad, h)
    _text(frame, text, (pad, h - pad - int(2 * u)), 0.55 * u, WHITE, max(1, round(u)))
    return frame
