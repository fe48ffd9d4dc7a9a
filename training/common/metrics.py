"""Per-class detection metrics for beat and rhythm classifiers, shared by every model family.

Definitions follow ANSI/AAMI EC57 as used in the inter-patient literature (de Chazal et al., IEEE TBME
51(7):1196-1206, 2004): for class c, Se = TP / (TP + FN) (sensitivity, recall), +P = TP / (TP + FP)
(positive predictivity, precision), F1 = 2 TP / (2 TP + FN + FP). The confusion matrix has rows = reference
class and columns = predicted class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AAMI_CLASSES = ("N", "S", "V", "F", "Q")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 5) -> np.ndarray:
    """Confusion matrix, rows = reference, columns = predicted, int64 counts."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


@dataclass(frozen=True)
class ClassScore:
    tp: int
    fn: int
    fp: int

    @property
    def se(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def ppv(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fn + self.fp
        return 2 * self.tp / d if d else 0.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fn": self.fn, "fp": self.fp, "se": self.se, "ppv": self.ppv, "f1": self.f1}


def class_scores(cm: np.ndarray, classes=AAMI_CLASSES) -> dict[str, ClassScore]:
    """Per-class TP/FN/FP from a confusion matrix (rows reference, columns predicted)."""
    out = {}
    for i, c in enumerate(classes):
        tp = int(cm[i, i])
        out[c] = ClassScore(tp=tp, fn=int(cm[i, :].sum()) - tp, fp=int(cm[:, i].sum()) - tp)
    return out


def format_report(cm: np.ndarray, title: str = "", classes=AAMI_CLASSES) -> str:
    """Human-readable per-class table plus the confusion matrix."""
    scores = class_scores(cm, classes)
    lines = [title] if title else []
    lines.append(f"{'class':>5} {'n':>7} {'Se':>7} {'+P':>7} {'F1':>7}")
    for i, c in enumerate(classes):
        s = scores[c]
        lines.append(f"{c:>5} {int(cm[i].sum()):7d} {s.se:7.3f} {s.ppv:7.3f} {s.f1:7.3f}")
    acc = np.trace(cm) / max(1, cm.sum())
    lines.append(f"accuracy {acc:.4f}")
    lines.append("confusion (rows reference, columns predicted): " + " ".join(f"{c:>6}" for c in classes))
    for i, c in enumerate(classes):
        lines.append(f"{'':>47}{c:>1} " + " ".join(f"{int(v):6d}" for v in cm[i]))
    return "\n".join(lines)


def report_dict(cm: np.ndarray, classes=AAMI_CLASSES) -> dict:
    """JSON-ready per-class scores and confusion matrix (row = reference class name)."""
    scores = class_scores(cm, classes)
    return {
        "classes": {c: scores[c].as_dict() for c in classes},
        "confusion": {c: {p: int(cm[i, j]) for j, p in enumerate(classes)} for i, c in enumerate(classes)},
        "accuracy": float(np.trace(cm) / max(1, cm.sum())),
    }
