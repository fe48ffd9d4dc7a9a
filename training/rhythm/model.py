"""Rhythm classifier: a residual 1D CNN on the 10-s window plus an MLP on the hand-crafted features → 4 logits.

Inputs follow the contract of src/inference/analysis/rhythm-input.ts: `signal` [N, 1, 3000] (300 Hz,
band-passed, divided by the window's median R amplitude, clipped to ±10) and `features` [N, F] in physical
units. The features are transformed and standardised inside the model (log for the positive, skewed ones,
then (x − mean) / sd with statistics of the training windows stored as buffers, clipped to ±5), so the
exported ONNX graph takes the contract's raw values and an absurd feature cannot push activations far out
of the range seen in training. Classes in logit order: N, A, O, ~ (CinC 2017).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

CLASSES = ("N", "A", "O", "~")
# Features that are positive and right-skewed get log(x + eps) before standardisation (names from the contract).
LOG_FEATURES = ("beat_count", "heart_rate_bpm", "rr_mean_s", "rr_cv", "nrmssd", "rr_max_ratio", "r_amp_cv", "scale_mv")
LOG_EPS = 1e-2
FEATURE_CLIP = 5.0


class ResBlock(nn.Module):
    """Two convolutions with batch norm and a shortcut (He et al., CVPR 2016; 1D as in Hannun et al., Nat Med 2019)."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(c_out, c_out, k, padding=k // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(self.drop(h)))
        return self.act(h + self.skip(x))


class FeatureScaler(nn.Module):
    """log for the skewed features, then standardisation with fixed training statistics, clipped."""

    def __init__(self, names: list[str]):
        super().__init__()
        n = len(names)
        self.register_buffer("log_mask", torch.tensor([1.0 if f in LOG_FEATURES else 0.0 for f in names]))
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("std", torch.ones(n))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        logged = torch.log(torch.clamp(x, min=0.0) + LOG_EPS)
        return self.log_mask * logged + (1 - self.log_mask) * x

    def fit(self, features: np.ndarray) -> None:
        t = self.transform(torch.from_numpy(features.astype(np.float32)))
        self.mean.copy_(t.mean(0))
        self.std.copy_(torch.clamp(t.std(0), min=1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (self.transform(x) - self.mean) / self.std
        return torch.clamp(z, -FEATURE_CLIP, FEATURE_CLIP)


class RhythmCnn(nn.Module):
    def __init__(self, feature_names: list[str], width: int = 16, kernel: int = 9, dropout: float = 0.3, use_features: bool = True, use_signal: bool = True):
        super().__init__()
        w = width
        self.use_features = use_features
        self.use_signal = use_signal
        self.n_features = len(feature_names)
        # 3000 samples at 300 Hz → stem (stride 2) and pool → 750 → blocks halve to 375, 188, 94, 47.
        self.stem = nn.Sequential(nn.Conv1d(1, w, 15, stride=2, padding=7, bias=False), nn.BatchNorm1d(w), nn.ReLU(), nn.MaxPool1d(2))
        chans = [(w, w, 1), (w, 2 * w, 2), (2 * w, 3 * w, 2), (3 * w, 4 * w, 2), (4 * w, 4 * w, 2)]
        self.blocks = nn.Sequential(*[ResBlock(a, b, kernel, s, dropout / 3) for a, b, s in chans])
        self.scaler = FeatureScaler(feature_names)
        self.feature_mlp = nn.Sequential(nn.Linear(self.n_features, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        n_in = (8 * w if use_signal else 0) + (32 if use_features else 0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, len(CLASSES)))

    def forward(self, signal: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.use_signal:
            h = self.blocks(self.stem(signal))
            # average and max pooling over time: the max keeps evidence that occurs once (a single pause, an artefact)
            parts.append(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
        if self.use_features:
            parts.append(self.feature_mlp(self.scaler(features)))
        else:
            # keep the input in the graph so the ONNX interface is the same with and without features
            parts.append(features[:, :0])
        return self.head(torch.cat(parts, dim=1))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class RhythmEnsemble(nn.Module):
    """Mean of the logits of several RhythmCnn trained alike with different seeds (one ONNX graph)."""

    def __init__(self, members: list[RhythmCnn]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, signal: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(signal, features) for m in self.members]).mean(dim=0)
