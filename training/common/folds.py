"""Record-wise (grouped) k-fold splits: every beat of a record lands in the same fold, so a fold's score
is an inter-patient score (records 201 and 202 are one patient, but 202 is in DS2 and never used here)."""
from __future__ import annotations

import numpy as np


def balanced_record_folds(record: np.ndarray, labels: np.ndarray, k: int, n_classes: int = 5, extra: np.ndarray | None = None) -> np.ndarray:
    """Assign each record to one of k folds, greedily balancing the rare classes, then the beat count.

    `extra` ([n_records, m] counts) adds columns to balance, e.g. left and right bundle branch block beats:
    they are N beats, but a fold holding every LBBB record would test on a morphology no training fold
    saw, which DS1 → DS2 training never does (DS1 holds LBBB and RBBB patients).

    Records are taken in order of decreasing weight (their share of each class, summed) and each goes to
    the fold where it least raises the sum of squared per-class loads; deterministic (ties broken by record index). Returns fold per record.
    """
    n_rec = int(record.max()) + 1
    counts = np.zeros((n_rec, n_classes + 1))
    for r in range(n_rec):
        lab = labels[record == r]
        counts[r, :n_classes] = np.bincount(lab, minlength=n_classes)
        counts[r, n_classes] = lab.size
    # Q has a handful of beats in DS1: balancing it would only add noise.
    cols = [1, 2, 3, n_classes]  # S, V, F, all beats
    table = counts[:, cols] if extra is None else np.concatenate([counts[:, cols], extra], axis=1)
    share = table / np.maximum(table.sum(axis=0), 1)
    weight = share.sum(axis=1)
    order = sorted(range(n_rec), key=lambda r: (-weight[r], r))
    load = np.zeros((k, share.shape[1]))
    fold_of = np.full(n_rec, -1, dtype=np.int64)
    for r in order:
        # the fold where adding this record least increases the sum of squared loads (spreads every class)
        cost = ((load + share[r]) ** 2).sum(axis=1) - (load**2).sum(axis=1) + 1e-9 * np.arange(k)
        f = int(np.argmin(cost))
        fold_of[r] = f
        load[f] += share[r]
    return fold_of
