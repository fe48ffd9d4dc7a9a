"""Loading rhythm datasets exported by `ecg-cds dataset rhythm` (src/cli/dataset-rhythm.ts)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class RhythmSet:
    signal: np.ndarray  # float32 [n, 3000]
    features: np.ndarray  # float32 [n, F]
    labels: np.ndarray  # int64 [n], 0..3 = N, A, O, ~
    record: np.ndarray  # int64 [n], index into manifest["records"]
    start: np.ndarray  # int64 [n], window start at 300 Hz
    manifest: dict

    @property
    def record_names(self) -> list[str]:
        return [r["record"] for r in self.manifest["records"]]

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["contract"]["features"])

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, idx: np.ndarray) -> "RhythmSet":
        return RhythmSet(self.signal[idx], self.features[idx], self.labels[idx], self.record[idx], self.start[idx], self.manifest)

    def records_subset(self, names) -> "RhythmSet":
        wanted = set(names)
        keep = np.array([n in wanted for n in self.record_names])
        return self.subset(np.flatnonzero(keep[self.record]))


def load_rhythm(directory: str | Path) -> RhythmSet:
    d = Path(directory)
    manifest = json.loads((d / "manifest.json").read_text())
    return RhythmSet(
        signal=np.load(d / "signal.npy"),
        features=np.load(d / "features.npy"),
        labels=np.load(d / "labels.npy").astype(np.int64),
        record=np.load(d / "record.npy").astype(np.int64),
        start=np.load(d / "start.npy").astype(np.int64),
        manifest=manifest,
    )
