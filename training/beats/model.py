"""Beat classifier: a small 1D CNN on the beat window plus an MLP on the RR features → AAMI logits.

Inputs follow the contract of src/inference/analysis/beat-input.ts: `window` [N, 1, 256] (360 Hz, R at
index 90, band-passed, divided by the record's median R amplitude) and `rr` [N, 7] (seconds and ratios).
The RR features are clipped to a physiological range and log-transformed inside the model, so the
exported ONNX graph takes the contract's raw values and a missed beat (RR of several seconds) cannot
push activations out of the range seen in training.
"""
from __future__ import annotations

import torch
from torch import nn

# RR seconds and ratios are clipped to [0.05, 5] before the log: 5 s covers pauses and missed detections,
# 0.05 s (or ratio) is below any real RR interval at 360 Hz after the detector's 200 ms refractory period.
RR_MIN = 0.05
RR_MAX = 5.0


def conv_block(c_in: int, c_out: int, k: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool1d(2))
    return nn.Sequential(*layers)


class BeatCnn(nn.Module):
    def __init__(self, n_rr: int = 7, n_classes: int = 5, width: int = 16, dropout: float = 0.3, use_window: bool = True, in_channels: int = 1):
        super().__init__()
        w = width
        self.use_window = use_window
        self.features = nn.Sequential(
            conv_block(in_channels, w, 7, True),  # 256 → 128
            conv_block(w, 2 * w, 5, True),  # → 64
            conv_block(2 * w, 2 * w, 5, True),  # → 32
            conv_block(2 * w, 4 * w, 3, False),  # 32
        )
        self.rr_mlp = nn.Sequential(nn.Linear(n_rr, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        n_feat = (8 * w if use_window else 0) + 32
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_feat, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_classes))

    def forward(self, window: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        r = self.rr_mlp(torch.log(torch.clamp(rr, RR_MIN, RR_MAX)))
        if not self.use_window:
            return self.head(r)
        h = self.features(window)
        # average and max pooling over time: the max keeps where-it-happens-independent evidence (e.g. a wide QRS)
        h = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.head(torch.cat([h, r], dim=1))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
