""""Not one of my classes": a known-action score for action classifiers.

A classifier trained on a closed set of actions gives every input one of its labels. The
known-action score says how much the input looks like any of them, so that inference can
answer :data:`NO_KNOWN_ACTION` instead of a confident wrong label.

Scores (``model.hparams.open_set``):

- ``mass`` (the default): the probability mass of the known classes, ``1 - p(background)``,
  for a model trained with a background class (:data:`BACKGROUND`, motion that is none of
  the actions); without one it falls back to ``msp``. With a background class it ranks
  inputs exactly as ``energy`` does (``energy = log(mass / p(background))``), and unlike
  ``msp`` it is not lowered when two similar actions share the probability.
- ``msp``: the largest softmax probability of a known class (after temperature scaling);
  with a background class (:data:`BACKGROUND`, trained on motion that is none of the
  actions) its probability mass counts against every known class.
- ``energy``: the free energy ``T * logsumexp(logits / T)`` over the known classes, minus
  the background logit when there is one (Liu et al., NeurIPS 2020).

The threshold (``model.hparams.known_threshold``) is chosen after training on the
validation split so that a share ``keep`` of its in-class clips stays above it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BACKGROUND", "NO_KNOWN_ACTION", "SCORES", "choose_threshold", "known_classes",
           "known_probability_score", "known_score", "probability_score",
           "score_logits"]

BACKGROUND = "other"  # the class name of motion that is none of the actions
NO_KNOWN_ACTION = "no known action"  # what inference shows below the threshold
SCORES = ("mass", "msp", "energy")


def known_classes(class_names: list[str]) -> np.ndarray:
    """Indices of the actions proper (every class but :data:`BACKGROUND`)."""
    return np.array([i for i, c in enumerate(class_names) if c != BACKGROUND], dtype=np.int64)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def score_logits(logits: np.ndarray, class_names: list[str], method: str = "msp",
                 temperature: float = 1.0) -> np.ndarray:
    """Known-action scores ``[N]`` of logits ``[N, C]`` (higher = more like a known class)."""
    if method not in SCORES:
        raise ValueError(f"open_set must be one of {', '.join(SCORES)}, got {method!r}")
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    known = known_classes(class_names)
    background = [i for i, c in enumerate(class_names) if c == BACKGROUND]
    if method == "mass" and not background:
        method = "msp"
    if method == "energy":
        e = temperature * _logsumexp(z[..., known])
        if background:
            e = e - temperature * z[..., background[0]]
        return e
    p = np.exp(z - _logsumexp(z)[..., None])
    if method == "mass":
        return p[..., known].sum(axis=-1)
    return p[..., known].max(axis=-1)


def probability_score(probabilities: np.ndarray, class_names: list[str],
                      method: str = "mass") -> np.ndarray:
    """The ``mass`` or ``msp`` score from class probabilities ``[..., C]`` (e.g. smoothed
    over a stream); ``energy`` needs logits and is read as ``mass`` here."""
    known = known_classes(class_names)
    return known_probability_score(np.asarray(probabilities)[..., known],
                                   len(known) < len(class_names), method)


def known_probability_score(known: np.ndarray, has_background: bool,
                            method: str = "mass") -> np.ndarray:
    """:func:`probability_score` from the known classes' probabilities ``[..., K]`` alone
    (``has_background``: the model has a :data:`BACKGROUND` class), for callers that
    score every frame of a stream."""
    if method in ("mass", "energy") and has_background:
        return known.sum(axis=-1)
    return known.max(axis=-1)


def known_score(model, logits: np.ndarray) -> np.ndarray:
    """:func:`score_logits` with the model's own settings (``open_set``, ``temperature``)."""
    hp = model.hparams
    return score_logits(logits, list(model.class_names), hp.get("open_set") or "mass",
                        float(hp.get("temperature") or 1.0))


def choose_threshold(scores: np.ndarray, keep: float) -> float:
    """The threshold that keeps a share ``keep`` of in-class ``scores`` at or above it."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no in-class scores to choose a threshold from")
    return float(np.quantile(scores, 1.0 - keep, method="lower"))
