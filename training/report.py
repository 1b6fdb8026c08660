"""PNG plots of a training run: learning curves, confusion matrix, what it still gets wrong."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: training runs on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curves(history: dict[str, list[float]], path: Path) -> None:
    # the digits model logs its two heads' losses; the tutorial logs loss and accuracy
    second = "not_digit_loss" if "not_digit_loss" in history else "accuracy"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", second), strict=True):
        for name, label in ((key, "training (augmented)"), (f"val_{key}", "validation: unseen writers and labs")):
            if history.get(name):
                ax.plot(range(1, len(history[name]) + 1), history[name], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str) -> None:
    cm = np.zeros((10, 10), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    # log colour scale: the interesting cells are the off-diagonal handful
    ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def error_grid(images: np.ndarray, y_true: np.ndarray, probs: np.ndarray, path: Path, title: str,
               limit: int = 60) -> None:
    y_pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)[:limit]
    cols = 10
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3 + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[i].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{y_true[i]}→{y_pred[i]} {probs[i, y_pred[i]]:.0%}", fontsize=7)
    fig.suptitle(f"{title}: {int((y_pred != y_true).sum())} wrong (true→predicted, confidence)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
