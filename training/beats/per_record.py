"""Per-record confusion of out-of-fold predictions (DS1 cross-validation), to see where errors come from.

    /usr/bin/python3 training/beats/per_record.py --run cv-base [--data training/cache/beats/DS1-detected]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.beat_data import load_beats  # noqa: E402
from common.metrics import AAMI_CLASSES, confusion  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", default=str(REPO / "training/cache/beats/DS1-detected"))
    args = ap.parse_args()
    cache = REPO / "training/cache/beats" / args.run
    data = load_beats(args.data)
    logits = np.load(cache / "oof_logits.npy")
    fold = np.load(cache / "oof_fold.npy")
    pred = logits.argmax(1)
    print(f"{'record':>6} {'fold':>4} " + " ".join(f"{c + '→' + p:>6}" for c in "NSV" for p in AAMI_CLASSES if c != p) + "   counts")
    for r, name in enumerate(data.record_names):
        m = data.record == r
        cm = confusion(data.labels[m], pred[m])
        cells = [cm[i, j] for i in range(3) for j in range(5) if i != j]
        print(f"{name:>6} {int(fold[m][0]) + 1:>4} " + " ".join(f"{int(v):6d}" for v in cells) + f"   {np.bincount(data.labels[m], minlength=5).tolist()}")


if __name__ == "__main__":
    main()
