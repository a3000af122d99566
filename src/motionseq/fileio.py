"""Atomic file writes: a crash mid-write never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from motionseq.errors import DataError

# The process umask, read once: files get the same permissions as a plain open() would
# give them, not mkstemp's private 0600.
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    The temporary file sits in the same folder (same filesystem), so the rename is
    atomic; on any error it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def text_rows(path: str | Path, what: str) -> Iterator[tuple[int, list[str], str]]:
    """``(line number, fields, line)`` of each data line of a text table; fields are split
    on whitespace or commas, blank lines and ``#`` comments are skipped. DataError naming
    ``what`` (e.g. "tracks file") when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.replace(",", " ").split()
            if parts and not parts[0].startswith("#"):
                yield lineno, parts, line
