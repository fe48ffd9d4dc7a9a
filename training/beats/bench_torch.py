"""PyTorch-eager timing of the shipped beat model (models/shipped.json) on given inputs, and its FLOPs per beat.

The single CNN loads training/cache/beats/<id>/final.pt (absent: seeded random weights, same timing); an ensemble (manifest field `ensemble`, written by
export_ensemble.py) loads each member's training/cache/beats/<run>/final.pt. FLOPs count convolutions,
linear layers, GRU gates and the attention matmuls (multiply-adds × 2).

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
from model import BeatAttn, BeatEnsemble, build_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    window = torch.from_numpy(np.load(sys.argv[1]))
    rr = torch.from_numpy(np.load(sys.argv[2]))
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    # Same core count as ONNX Runtime's default, for a fair comparison.
    torch.set_num_threads(os.cpu_count() or 1)
    model_id = json.loads((REPO / "models/shipped.json").read_text())["beat"]
    manifest = json.loads((REPO / f"models/{model_id}.manifest.json").read_text())

    missing: list[str] = []

    def load(cfg: dict, state: Path) -> nn.Module:
        torch.manual_seed(0)
        m = build_model(cfg.get("arch", "cnn"), n_rr=rr.shape[1], width=cfg["width"], dropout=cfg["dropout"], in_channels=window.shape[1], use_window=cfg["use_window"], hidden=cfg.get("hidden", 32), heads=cfg.get("heads", 4))
        # The checkpoint lives in the git-ignored training cache. Without it (a fresh machine) the same
        # architecture keeps seeded random weights: eager time and FLOPs do not depend on weight values.
        if state.exists():
            m.load_state_dict(torch.load(state))
        else:
            missing.append(str(state.relative_to(REPO)))
        return m

    if "ensemble" in manifest:
        members = manifest["ensemble"]["members"]
        model = BeatEnsemble([load(m["config"], REPO / "training/cache/beats" / m["run"] / "final.pt") for m in members], [m["temperature"] for m in members])
    else:
        model = load(manifest["training"]["config"], REPO / f"training/cache/beats/{model_id}/final.pt")
    model.eval()
    macs = 0

    def count(mod: nn.Module, inp, out) -> None:
        nonlocal macs
        if isinstance(mod, nn.Conv1d):
            macs += out.numel() * mod.in_channels * mod.kernel_size[0] // mod.groups
        elif isinstance(mod, nn.Linear):
            macs += out.numel() * mod.in_features
        elif isinstance(mod, nn.GRU):
            n, t, _ = inp[0].shape
            dirs = 2 if mod.bidirectional else 1
            macs += n * t * dirs * 3 * (mod.input_size + mod.hidden_size) * mod.hidden_size
        elif isinstance(mod, BeatAttn):
            # q·kᵀ and a·v: 2 × T² × hidden per sample
            macs += 2 * inp[0].shape[0] * mod.pos.shape[1] ** 2 * mod.pos.shape[2]

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear, nn.GRU, BeatAttn))]
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
    print(json.dumps({"n": int(window.shape[0]), "median_ms": float(np.median(times)), "flops_per_row": 2 * macs, "threads": torch.get_num_threads(), "weights": "random (no checkpoint: " + ", ".join(missing) + ")" if missing else "trained"}))


if __name__ == "__main__":
    main()
