"""Loading beat datasets exported by `ecg-cds dataset beats` (src/cli/dataset.ts)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class BeatSet:
    windows: np.ndarray  # float32 [n, 256]
    rr: np.ndarray  # float32 [n, F]
    labels: np.ndarray  # int64 [n], 0..4 = N,S,V,F,Q
    record: np.ndarray  # int64 [n], index into manifest["records"]
    sample: np.ndarray  # int64 [n]
    manifest: dict
    template: np.ndarray | None = None  # optional float32 [n, 256], per-beat record template

    @property
    def record_names(self) -> list[str]:
        return [r["record"] for r in self.manifest["records"]]

    def subset(self, idx: np.ndarray) -> "BeatSet":
        t = None if self.template is None else self.template[idx]
        return BeatSet(self.windows[idx], self.rr[idx], self.labels[idx], self.record[idx], self.sample[idx], self.manifest, t)


def load_beats(directory: str | Path) -> BeatSet:
    d = Path(directory)
    manifest = json.loads((d / "manifest.json").read_text())
    return BeatSet(
        windows=np.load(d / "windows.npy"),
        rr=np.load(d / "rr.npy"),
        labels=np.load(d / "labels.npy").astype(np.int64),
        record=np.load(d / "record.npy").astype(np.int64),
        sample=np.load(d / "sample.npy").astype(np.int64),
        manifest=manifest,
    )
