"""Markdown table of model-selection runs of train.py (their training/cache/ae/<run>/summary.json).

    /usr/bin/python3 training/autoencoder/compare.py sel-seg sel-rr sel-cap

Per run: the threshold (99th percentile of pooled out-of-fold clean errors), then for DS1's own `~`-noisy
segments and each added-noise set the share of held-out noisy segments above it (and the AUC).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parents[1] / "cache" / "ae"


def main(runs: list[str]) -> None:
    summaries = {r: json.loads((CACHE / r / "summary.json").read_text()) for r in runs}
    keys: list[str] = []
    for s in summaries.values():
        for k in s["cv"]["selection"]:
            if k not in keys:
                keys.append(k)
    print("| run | scale / width / latent | threshold | " + " | ".join(keys) + " | mean |")
    print("|---|---|---|" + "---|" * (len(keys) + 1))
    for r, s in summaries.items():
        c = s["config"]
        sel = s["cv"]["selection"]
        cells = [f"{100 * sel[k]['noisy_flagged']:.0f} % ({sel[k]['auc']:.3f})" if k in sel else "-" for k in keys]
        mean = sum(sel[k]["noisy_flagged"] for k in keys if k in sel) / max(1, sum(k in sel for k in keys))
        scale = s["contract"]["scale"]
        print(f"| {r} | {scale} / {c['width']} / {c['latent']} | {s['cv']['threshold']:.4f} | " + " | ".join(cells)
              + f" | {100 * mean:.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1:])
