"""Loading beat datasets exported by `ecg-cds dataset beats` (src/cli/dataset.ts), one or several at once."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
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
    # lead of each window: 0 = the lead analyze() classifies, 1.. = other leads (`--beat-leads all` exports)
    lead: np.ndarray | None = None
    # precomputed augmented copies of `windows` (e.g. resampled through 128 Hz), each float32 [n, 256]
    variants: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.lead is None:
            self.lead = np.zeros(self.labels.size, np.int64)

    @property
    def record_names(self) -> list[str]:
        return [r["record"] for r in self.manifest["records"]]

    @property
    def record_db(self) -> list[str]:
        """Database of each record (a manifest's `db` folder name, e.g. mitdb or svdb-dev)."""
        return [r.get("db") or Path(self.manifest.get("db", "")).name for r in self.manifest["records"]]

    @property
    def record_fs(self) -> np.ndarray:
        return np.array([r["fs"] for r in self.manifest["records"]], dtype=np.float64)

    def subset(self, idx: np.ndarray) -> "BeatSet":
        t = None if self.template is None else self.template[idx]
        return BeatSet(self.windows[idx], self.rr[idx], self.labels[idx], self.record[idx], self.sample[idx], self.manifest, t, self.lead[idx], [v[idx] for v in self.variants])


def load_beats(directory: str | Path) -> BeatSet:
    d = Path(directory)
    manifest = json.loads((d / "manifest.json").read_text())
    lead = np.load(d / "lead.npy").astype(np.int64) if (d / "lead.npy").exists() else None
    return BeatSet(
        windows=np.load(d / "windows.npy"),
        rr=np.load(d / "rr.npy"),
        labels=np.load(d / "labels.npy").astype(np.int64),
        record=np.load(d / "record.npy").astype(np.int64),
        sample=np.load(d / "sample.npy").astype(np.int64),
        manifest=manifest,
        lead=lead,
    )


def load_union(directories: list[str | Path]) -> BeatSet:
    """Several exports as one set: record indices offset, each record tagged with its database.

    Record names must be unique across the exports (MIT-BIH 100–234, SVDB 800–894 are)."""
    sets = [load_beats(d) for d in directories]
    if len(sets) == 1:
        s = sets[0]
        s.manifest = {**s.manifest, "records": [{**r, "db": Path(s.manifest["db"]).name} for r in s.manifest["records"]]}
        return s
    records: list[dict] = []
    parts = []
    for s in sets:
        offset = len(records)
        records.extend({**r, "db": Path(s.manifest["db"]).name} for r in s.manifest["records"])
        parts.append((s, offset))
    names = [r["record"] for r in records]
    if len(set(names)) != len(names):
        raise SystemExit("load_union: record names repeat across the exports")
    contracts = {json.dumps(s.manifest["contract"], sort_keys=True) for s in sets}
    if len(contracts) != 1:
        raise SystemExit("load_union: the exports use different input contracts")
    manifest = {
        **sets[0].manifest,
        "db": ",".join(s.manifest["db"] for s in sets),
        "records": records,
        "peaks": sets[0].manifest["peaks"],
        "sources": [{"db": s.manifest["db"], "records": s.manifest["recordSpec"], "beatLeads": s.manifest.get("beatLeads", "primary")} for s in sets],
    }
    return BeatSet(
        windows=np.concatenate([s.windows for s in sets]),
        rr=np.concatenate([s.rr for s in sets]),
        labels=np.concatenate([s.labels for s in sets]),
        record=np.concatenate([s.record + off for s, off in parts]),
        sample=np.concatenate([s.sample for s in sets]),
        manifest=manifest,
        lead=np.concatenate([s.lead for s in sets]),
    )
