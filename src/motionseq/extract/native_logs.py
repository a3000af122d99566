"""Keep MediaPipe's and TensorFlow Lite's native log lines off the console.

MediaPipe's C++ graph writes straight to the process's stderr (file descriptor 2) while it
starts and on its first detections ("Created TensorFlow Lite XNNPACK delegate", "Feedback
manager requires a model with a single signature...", "Using NORM_RECT without
IMAGE_DIMENSIONS..."): lines that break progress bars and that a user cannot act on.
:class:`NativeLogFilter` sends descriptor 2 to a scratch file around those calls and writes
back every line that is not one of these messages, so nothing else is lost.
``MOTIONSEQ_NATIVE_LOGS=1`` shows them all.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import TracebackType

# the start-up and first-detection lines of MediaPipe Pose and TensorFlow Lite
NOISE = (
    "Created TensorFlow Lite XNNPACK delegate",
    "All log messages before absl::InitializeLog() is called",
    "inference_feedback_manager.cc",
    "landmark_projection_calculator.cc",
    "gl_context.cc", "gl_context_egl.cc",
    "Initialized TensorFlow Lite runtime",
)


def showing_native_logs() -> bool:
    return os.environ.get("MOTIONSEQ_NATIVE_LOGS", "") not in ("", "0", "false")


class NativeLogFilter:
    """A reusable context: inside it, descriptor 2 goes to a scratch file; on leaving, the
    lines that are not :data:`NOISE` are written to stderr. Not thread-safe (one per
    extractor); does nothing when ``MOTIONSEQ_NATIVE_LOGS`` is set."""

    def __init__(self) -> None:
        self._file = None if showing_native_logs() else tempfile.TemporaryFile()
        self._saved: int | None = None

    def __enter__(self) -> NativeLogFilter:
        if self._file is None or self._saved is not None:
            return self
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            os.dup2(self._file.fileno(), 2)
        except (OSError, ValueError):  # no real descriptor 2 (an embedding host): leave it
            self._saved = None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._saved is None or self._file is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        self._file.seek(0)
        text = self._file.read().decode("utf-8", errors="replace")
        self._file.seek(0)
        self._file.truncate()
        kept = [line for line in text.splitlines(keepends=True)
                if not any(n in line for n in NOISE)]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
