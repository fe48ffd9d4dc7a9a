"""Temperature scaling for a beat model with a per-lead vote (issue #10): one T dividing every lead's
logits, chosen to minimise the NLL of the vote — the mean over a beat's leads of softmax(logits / T), which
is exactly what src/inference/analysis/beats.ts computes — on the out-of-fold predictions of the training
cross-validation (every lead). Writes `temperature` and `leadVote` into the manifest.

  /usr/bin/python3 training/calibration/fit_vote_temperature.py \
    --data training/cache/beats/DS1-detected-2lead,training/cache/beats/svdb-dev-detected-2lead \
    --run u-aug-2lead --manifest models/beat-cnn.manifest.json --lead-vote 2
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.beat_data import load_union  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def vote_probs(logits: np.ndarray, groups: np.ndarray, t: float) -> np.ndarray:
    """groups [n_beats, L] row indices of each beat's leads, -1 where a beat has fewer leads."""
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    present = groups >= 0
    summed = (p[np.where(present, groups, 0)] * present[..., None]).sum(axis=1)
    return summed / present.sum(axis=1, keepdims=True)


def nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.maximum(p[np.arange(y.size), y], 1e-12)).mean())


def ece(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf, correct = p.max(1), p.argmax(1) == y
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * (idx == b).sum() for b in range(bins) if (idx == b).any()) / y.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--lead-vote", type=int, default=2)
    args = ap.parse_args()
    data = load_union(args.data.split(","))
    logits = np.load(REPO / "training/cache/beats" / args.run / "oof_all_logits.npy").astype(np.float64)
    assert logits.shape[0] == data.labels.size
    prim = np.flatnonzero(data.lead == 0)
    key = {(int(r), int(s)): i for i, (r, s) in enumerate(zip(data.record[prim], data.sample[prim]))}
    groups = [[int(p)] for p in prim]
    for j in np.flatnonzero((data.lead > 0) & (data.lead < args.lead_vote)):
        groups[key[(int(data.record[j]), int(data.sample[j]))]].append(int(j))
    width = max(len(g) for g in groups)
    g = np.array([gr + [-1] * (width - len(gr)) for gr in groups])
    y = data.labels[prim]
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 200))
    best = min(grid, key=lambda t: nll(vote_probs(logits, g, t), y))
    fine = np.linspace(best * 0.98, best * 1.02, 81)
    best = float(min(fine, key=lambda t: nll(vote_probs(logits, g, t), y)))
    p1, pt = vote_probs(logits, g, 1.0), vote_probs(logits, g, best)
    path = Path(args.manifest)
    manifest = json.loads(path.read_text())
    manifest["temperature"] = round(best, 4)
    manifest["leadVote"] = args.lead_vote
    manifest["calibration"] = {
        "method": "temperature scaling (Guo et al. 2017) of every lead's logits, NLL of the per-lead vote (mean calibrated probability over a beat's leads)",
        "source": f"out-of-fold predictions of run {args.run}: record-wise 5-fold CV over {args.data}, every lead",
        "n": int(y.size),
        "nll": {"before": round(nll(p1, y), 5), "after": round(nll(pt, y), 5)},
        "ece": {"before": round(ece(p1, y), 5), "after": round(ece(pt, y), 5)},
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"temperature": manifest["temperature"], "leadVote": args.lead_vote, **manifest["calibration"]}))


if __name__ == "__main__":
    main()
