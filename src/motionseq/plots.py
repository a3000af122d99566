"""Figures people would rather look at than read: confusion matrices and sample paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionseq.fileio import atomic_write


def _figure():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(cm: np.ndarray, class_names: list[str], path: str | Path) -> Path:
    """Row-normalised confusion matrix ``[C, C]`` (rows = true class) as a PNG."""
    plt = _figure()
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"accuracy {acc:.3f} on {int(cm.sum())} sequences")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                        color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    fig.tight_layout()
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return out


def plot_trajectories(obs: np.ndarray, fut: np.ndarray, pred: np.ndarray, path: str | Path,
                      baseline: np.ndarray | None = None) -> Path:
    """Observed ``[N, T_obs, 2]``, true ``[N, T_pred, 2]`` and predicted paths, one panel each."""
    plt = _figure()
    n = len(obs)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.axis("off")
            continue
        ax.plot(*obs[k].T, "o-", color="0.3", ms=3, label="observed")
        ax.plot(*np.vstack([obs[k][-1:], fut[k]]).T, "o-", color="tab:green", ms=3, label="true")
        ax.plot(*np.vstack([obs[k][-1:], pred[k]]).T, "o--", color="tab:red", ms=3, label="predicted")
        if baseline is not None:
            ax.plot(*np.vstack([obs[k][-1:], baseline[k]]).T, ":", color="tab:blue",
                    label="constant velocity")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        if k == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return out
