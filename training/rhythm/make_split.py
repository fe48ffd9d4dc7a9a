"""Fixed, seeded, stratified, record-wise split of the shared CinC 2017 records.

    /usr/bin/python3 training/rhythm/make_split.py [--cinc ../shared/data/cinc2017]

Writes training/rhythm/cinc-split.json: 20 % of the records of each label are held out as `test` (opened
only to report the CinC score), and 15 % of each label of the rest form `validation`, the part inside the
training data on which every model choice (epochs, features or not, architecture) is made. `train` is the
remainder. Each record lands in exactly one part, so its overlapping windows never straddle parts. The split
depends only on the sorted record list and the seed: rerunning it reproduces the committed file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("N", "A", "O", "~")
SEED = 2017
TEST_FRACTION = 0.20
VALIDATION_FRACTION = 0.15


def read_reference(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            name, label = (s.strip() for s in line.split(","))
            out[name] = label
    return out


def split(labels: dict[str, str], seed: int = SEED) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    parts: dict[str, list[str]] = {"train": [], "validation": [], "test": []}
    for c in CLASSES:
        names = sorted(n for n, l in labels.items() if l == c)
        order = [names[i] for i in rng.permutation(len(names))]
        n_test = int(round(TEST_FRACTION * len(names)))
        rest = order[n_test:]
        n_val = int(round(VALIDATION_FRACTION * len(rest)))
        parts["test"] += order[:n_test]
        parts["validation"] += rest[:n_val]
        parts["train"] += rest[n_val:]
    return {k: sorted(v) for k, v in parts.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cinc", default=str(REPO.parent / "shared/data/cinc2017"))
    ap.add_argument("--out", default=str(REPO / "training/rhythm/cinc-split.json"))
    args = ap.parse_args()
    ref_path = Path(args.cinc) / "REFERENCE-v3.csv"
    labels = read_reference(ref_path)
    parts = split(labels)
    counts = {p: {c: sum(labels[n] == c for n in names) for c in CLASSES} for p, names in parts.items()}
    doc = {
        "description": "Record-wise stratified split of the shared CinC 2017 records (training/rhythm/make_split.py). "
        "test: held out, opened only to report; validation: model selection inside the training part; train: the rest.",
        "seed": SEED,
        "testFraction": TEST_FRACTION,
        "validationFractionOfRest": VALIDATION_FRACTION,
        "reference": {"file": "REFERENCE-v3.csv", "sha256": hashlib.sha256(ref_path.read_bytes()).hexdigest(), "records": len(labels)},
        "counts": counts,
        **parts,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
