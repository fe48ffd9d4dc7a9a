"""Temperature scaling (Guo et al., ICML 2017): one scalar T > 0 dividing the logits, fitted by minimising
the negative log-likelihood on held-out predictions of the TRAINING data only, then written into the model's
manifest (`temperature`), which the TypeScript pipeline applies before softmax.

  beat model:   out-of-fold DS1 logits of the record-wise cross-validation (training/cache/beats/<run>/oof_*)
  rhythm model: the validation part of the CinC split (training/cache/rhythm/<run>/validation_*)

DS2 and the CinC test part are never read here; ECE before/after on them is reported by
`ecg-cds eval beats` / the training logs.

Usage: /usr/bin/python3 training/calibration/fit_temperature.py --logits L.npy --labels Y.npy --manifest models/<id>.manifest.json
"""
import argparse
import json
from pathlib import Path

import numpy as np


def nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def ece(logits: np.ndarray, labels: np.ndarray, t: float, bins: int = 15) -> float:
    z = logits / t
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == labels
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += abs(correct[m].mean() - conf[m].mean()) * m.sum() / len(labels)
    return float(total)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the NLL of softmax(logits / T)."""
    # NLL is convex in 1/T: a fine log-spaced grid then a local refinement is exact enough and deterministic.
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 400))
    best = min(grid, key=lambda t: nll(logits, labels, t))
    fine = np.linspace(best * 0.98, best * 1.02, 201)
    return float(min(fine, key=lambda t: nll(logits, labels, t)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logits", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--source", required=True, help="what the logits are, recorded in the manifest")
    args = ap.parse_args()
    logits = np.load(args.logits).astype(np.float64)
    labels = np.load(args.labels).astype(np.int64)
    best = fit_temperature(logits, labels)
    path = Path(args.manifest)
    manifest = json.loads(path.read_text())
    manifest["temperature"] = round(best, 4)
    manifest["calibration"] = {
        "method": "temperature scaling (Guo et al. 2017), NLL on held-out training predictions",
        "source": args.source,
        "n": int(len(labels)),
        "nll": {"before": round(nll(logits, labels, 1.0), 5), "after": round(nll(logits, labels, best), 5)},
        "ece": {"before": round(ece(logits, labels, 1.0), 5), "after": round(ece(logits, labels, best), 5)},
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"temperature": manifest["temperature"], **manifest["calibration"]}))


if __name__ == "__main__":
    main()
