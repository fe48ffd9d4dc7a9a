"""Ensemble of beat-model families, scored on their DS1 cross-validation out-of-fold predictions.

    /usr/bin/python3 training/beats/ensemble.py --runs cv4-tpl-cnn cv4-tpl-gru cv4-tpl-attn [--name ens-...]

Each run is a `train.py --cv-only` run with the same data and folds (checked: identical out-of-fold labels,
records and folds). The ensemble's probability is the mean of the members' calibrated softmax
probabilities, softmax(logits / T_member). The temperatures are cross-fitted, so no beat is scored with a
temperature fitted on itself: for held-out fold f, each member's T is fitted (NLL, as
training/calibration/fit_temperature.py) on that member's out-of-fold logits of the other folds. The
prediction is the arg-max class. Only DS1 is read (out-of-fold predictions of DS1 runs).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from calibration.fit_temperature import fit_temperature  # noqa: E402
from common.metrics import confusion, format_report, report_dict  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "training/cache/beats"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def load_run(run: str) -> dict[str, np.ndarray]:
    d = CACHE / run
    return {k: np.load(d / f"oof_{k}.npy") for k in ("logits", "labels", "record", "fold")}


def cross_fitted_probs(logits: np.ndarray, labels: np.ndarray, fold: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Calibrated probabilities, each fold scaled by the temperature fitted on the other folds."""
    probs = np.zeros_like(logits, dtype=np.float64)
    temps = []
    for f in np.unique(fold):
        held = fold == f
        t = fit_temperature(logits[~held].astype(np.float64), labels[~held].astype(np.int64))
        probs[held] = softmax(logits[held].astype(np.float64) / t)
        temps.append(round(t, 4))
    return probs, temps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True, help="cross-validation runs (training/cache/beats/<run>)")
    ap.add_argument("--name", help="write training/cache/beats/<name>/summary.json and oof_*.npy")
    args = ap.parse_args()
    runs = {r: load_run(r) for r in args.runs}
    ref = runs[args.runs[0]]
    for r, d in runs.items():
        for k in ("labels", "record", "fold"):
            if not np.array_equal(d[k], ref[k]):
                raise SystemExit(f"run {r}: out-of-fold {k} differ from {args.runs[0]} (other data or folds)")
    labels, fold = ref["labels"].astype(np.int64), ref["fold"]
    members = {}
    mean = np.zeros_like(ref["logits"], dtype=np.float64)
    for r, d in runs.items():
        p, temps = cross_fitted_probs(d["logits"], labels, fold)
        mean += p / len(runs)
        cm = confusion(labels, d["logits"].argmax(1))
        members[r] = {"temperatures_by_fold": temps, "pooled": report_dict(cm)}
        s = members[r]["pooled"]["classes"]
        print(f"{r}: T by held-out fold {temps}; pooled F1 N {s['N']['f1']:.3f} S {s['S']['f1']:.3f} V {s['V']['f1']:.3f} F {s['F']['f1']:.3f}")
    cm = confusion(labels, mean.argmax(1))
    print("\n" + format_report(cm, f"ensemble (mean of cross-fitted calibrated probabilities) of {', '.join(args.runs)}"))
    summary = {"runs": args.runs, "method": "mean of softmax(logits / T), T cross-fitted per held-out fold", "members": members, "pooled": report_dict(cm)}
    if args.name:
        out = CACHE / args.name
        out.mkdir(parents=True, exist_ok=True)
        # log-probabilities as the ensemble's "logits" (softmax of them gives the mean probabilities back)
        np.save(out / "oof_logits.npy", np.log(np.maximum(mean, 1e-12)).astype(np.float32))
        for k in ("labels", "record", "fold"):
            np.save(out / f"oof_{k}.npy", ref[k])
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"written {out}")


if __name__ == "__main__":
    main()
