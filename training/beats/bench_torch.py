"""PyTorch-eager timing of the shipped beat model on given inputs, and its FLOPs per beat.

Called by bench/torch-vs-onnx.bench.ts with .npy inputs it wrote, so both runtimes see the same beats.
Prints one JSON object: {"n", "median_ms", "flops_per_row", "threads"}.
Usage: /usr/bin/python3 training/beats/bench_torch.py <window.npy> <rr.npy> [runs]
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import BeatCnn  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    window = torch.from_numpy(np.load(sys.argv[1]))
    rr = torch.from_numpy(np.load(sys.argv[2]))
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    # Same core count as ONNX Runtime's default, for a fair comparison.
    torch.set_num_threads(os.cpu_count() or 1)
    manifest = json.loads((REPO / "models/beat-cnn.manifest.json").read_text())
    cfg = manifest["training"]["config"]
    model = BeatCnn(n_rr=rr.shape[1], width=cfg["width"], dropout=cfg["dropout"], use_window=cfg["use_window"], in_channels=window.shape[1])
    model.load_state_dict(torch.load(REPO / "training/cache/beats/beat-cnn/final.pt"))
    model.eval()
    macs = 0

    def count(mod: nn.Module, inp, out) -> None:
        nonlocal macs
        if isinstance(mod, nn.Conv1d):
            macs += out.numel() * mod.in_channels * mod.kernel_size[0] // mod.groups
        elif isinstance(mod, nn.Linear):
            macs += out.numel() * mod.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]
    with torch.no_grad():
        model(window[:1], rr[:1])
    for h in hooks:
        h.remove()
    times = []
    with torch.no_grad():
        model(window, rr)  # warm-up
        for _ in range(runs):
            t0 = time.perf_counter()
            model(window, rr)
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"n": int(window.shape[0]), "median_ms": float(np.median(times)), "flops_per_row": 2 * macs, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
