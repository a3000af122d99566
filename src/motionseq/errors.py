"""User-facing errors: each says what went wrong and what to do about it."""


class MotionseqError(Exception):
    """Base class for errors the command-line tools print as one clear message."""


class DataError(MotionseqError):
    """Input data is missing, empty or malformed."""


class CheckpointError(MotionseqError):
    """A checkpoint is missing, truncated, or does not match the data."""


class ConfigError(MotionseqError):
    """A configuration value is invalid."""
