"""Draw a pose sequence's skeleton (its layout's bones) over the video it came from.

Frame ``i`` of the sequence is drawn on frame ``start + i`` of the video; frames beyond the
sequence are written undrawn. Keypoints are image-normalised (as
:class:`~motionseq.extract.pose.PoseExtractor` writes them). The console script
``motionseq-render SEQUENCE.npz VIDEO OUT.mp4`` does the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from motionseq.errors import ConfigError, DataError, MotionseqError
from motionseq.extract.paths import VIDEO_FOURCC
from motionseq.extract.video import FrameSource, progress_frames
from motionseq.fileio import atomic_write
from motionseq.sequence import PoseSequence

__all__ = ["draw_pose", "render", "main"]

BONE_COLOUR = (80, 220, 80)  # BGR
JOINT_COLOUR = (40, 40, 230)


def draw_pose(frame: np.ndarray, keypoints: np.ndarray, visibility: np.ndarray,
              edges: tuple[tuple[int, int], ...], min_visibility: float = 0.5) -> np.ndarray:
    """Draw one frame's skeleton on ``frame`` (BGR ``[H, W, 3]``, in place; also returned).

    ``keypoints`` ``[J, >=2]`` image-normalised, ``visibility`` ``[J]``; joints that are NaN
    or less visible than ``min_visibility`` and their bones are left out.
    """
    h, w = frame.shape[:2]
    xy = keypoints[:, :2] * np.array([w, h], dtype=np.float32)
    ok = np.isfinite(xy).all(axis=1) & (visibility >= min_visibility)
    if not ok.any():
        return frame
    pts = np.zeros((len(xy), 2), dtype=np.int32)
    pts[ok] = np.round(xy[ok]).astype(np.int32)
    thick = max(1, round(min(h, w) / 240))
    for a, b in edges:
        if ok[a] and ok[b]:
            cv2.line(frame, tuple(pts[a]), tuple(pts[b]), BONE_COLOUR, thick, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(frame, tuple(pts[j]), thick + 1, JOINT_COLOUR, -1, cv2.LINE_AA)
    return frame


def render(sequence: PoseSequence | str | Path, video: str | Path, out: str | Path,
           start: int = 0, min_visibility: float = 0.5, progress: bool = False) -> Path:
    """Write ``video`` with ``sequence`` (a PoseSequence or its ``.npz``) drawn on it to
    ``out`` (``.mp4``, ``.avi``, ``.mkv`` or ``.mov``) atomically, at the video's fps.

    Raises:
        ConfigError: unknown output extension. DataError: unreadable sequence or video, or a
            sequence longer than the video.
    """
    seq = sequence if isinstance(sequence, PoseSequence) else PoseSequence.load(sequence)
    out = Path(out)
    fourcc = VIDEO_FOURCC.get(out.suffix.lower())
    if fourcc is None:
        raise ConfigError(f"rendered video must end in {', '.join(VIDEO_FOURCC)}, got {out.name}")
    edges = seq.layout_spec.edges
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        with FrameSource(video, start=start) as src:
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), src.fps,
                                     (src.width, src.height))
            if not writer.isOpened():
                raise DataError(f"cannot write video {out} with codec {fourcc}; try .avi")
            try:
                for index, frame in progress_frames(src, len(src) or None, progress, "render"):
                    t = index - start
                    if t < seq.num_frames:
                        draw_pose(frame, seq.keypoints[t], seq.visibility[t], edges,
                                  min_visibility)
                    writer.write(frame)
                    written += 1
            finally:
                writer.release()
        if written < seq.num_frames:
            raise DataError(f"{video} has {written} frames from {start} but the sequence has "
                            f"{seq.num_frames}; is it the video the sequence came from?")

    return atomic_write(out, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motionseq-render",
        description="Draw a pose sequence (.npz) over its video and write an annotated video.")
    parser.add_argument("sequence", help="pose sequence .npz (from motionseq-extract)")
    parser.add_argument("video", help="the video it was extracted from")
    parser.add_argument("out", help="video to write (.mp4 or .avi)")
    parser.add_argument("--start", type=int, default=0,
                        help="video frame of the sequence's first frame")
    parser.add_argument("--min-visibility", type=float, default=0.5,
                        help="leave out joints less visible than this")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        path = render(args.sequence, args.video, args.out, start=args.start,
                      min_visibility=args.min_visibility, progress=not args.quiet)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
