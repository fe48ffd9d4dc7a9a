"""Beat classifiers: a neural network on the beat window plus an MLP on the RR features → AAMI logits.

Three families share the inputs, the RR branch and the head (issue #3, item 3):
- `BeatCnn` (arch "cnn"): four convolution blocks, mean + max pooling over time;
- `BeatGru` (arch "gru"): three convolution blocks (256 → 32 steps), then a bidirectional GRU over the 32
  steps, mean + max pooling of its outputs (CNN + RNN);
- `BeatAttn` (arch "attn"): the same three convolution blocks, a learned position embedding, one
  pre-norm self-attention encoder layer (multi-head attention + feed-forward) and attention pooling (a
  learned score per time step, softmax over time) concatenated with max pooling.
The attention is written out with Linear layers and matmuls (no nn.MultiheadAttention fast path), so the
ONNX export is plain opset-17 operators.

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


def conv_frontend(in_channels: int, w: int) -> nn.Sequential:
    """The first three convolution blocks of BeatCnn: [N, C, 256] → [N, 2w, 32]."""
    return nn.Sequential(
        conv_block(in_channels, w, 7, True),  # 256 → 128
        conv_block(w, 2 * w, 5, True),  # → 64
        conv_block(2 * w, 2 * w, 5, True),  # → 32
    )


class _SequenceBeatModel(nn.Module):
    """Convolution front end → sequence model (subclass) → pooled features; RR MLP and head as BeatCnn."""

    def __init__(self, n_rr: int, n_classes: int, width: int, dropout: float, in_channels: int, n_seq_feat: int):
        super().__init__()
        self.features = conv_frontend(in_channels, width)
        self.rr_mlp = nn.Sequential(nn.Linear(n_rr, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_seq_feat + 32, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_classes))

    def sequence(self, h: torch.Tensor) -> torch.Tensor:  # [N, T, C] → [N, F]
        raise NotImplementedError

    def forward(self, window: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        r = self.rr_mlp(torch.log(torch.clamp(rr, RR_MIN, RR_MAX)))
        h = self.features(window).transpose(1, 2)  # [N, 32, 2w]
        return self.head(torch.cat([self.sequence(h), r], dim=1))


class BeatGru(_SequenceBeatModel):
    def __init__(self, n_rr: int = 7, n_classes: int = 5, width: int = 16, dropout: float = 0.3, in_channels: int = 1, hidden: int = 32):
        super().__init__(n_rr, n_classes, width, dropout, in_channels, n_seq_feat=4 * hidden)
        self.gru = nn.GRU(2 * width, hidden, num_layers=1, batch_first=True, bidirectional=True)

    def sequence(self, h: torch.Tensor) -> torch.Tensor:
        o, _ = self.gru(h)  # [N, T, 2·hidden]
        return torch.cat([o.mean(dim=1), o.amax(dim=1)], dim=1)


class BeatAttn(_SequenceBeatModel):
    def __init__(self, n_rr: int = 7, n_classes: int = 5, width: int = 16, dropout: float = 0.3, in_channels: int = 1, hidden: int = 32, heads: int = 4, steps: int = 32):
        super().__init__(n_rr, n_classes, width, dropout, in_channels, n_seq_feat=2 * hidden)
        assert hidden % heads == 0
        self.heads = heads
        self.proj = nn.Linear(2 * width, hidden)
        self.pos = nn.Parameter(torch.zeros(1, steps, hidden))
        nn.init.normal_(self.pos, std=0.02)
        self.norm1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden))
        self.drop = nn.Dropout(0.1)
        self.norm3 = nn.LayerNorm(hidden)
        self.score = nn.Linear(hidden, 1)  # attention pooling

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4).unbind(0)  # 3 × [N, H, T, hd]
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (hd**-0.5), dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(n, t, d)
        return self.out(o)

    def sequence(self, h: torch.Tensor) -> torch.Tensor:
        x = self.proj(h) + self.pos
        x = x + self.drop(self.attention(self.norm1(x)))
        x = x + self.drop(self.ff(self.norm2(x)))
        x = self.norm3(x)
        w = torch.softmax(self.score(x), dim=1)  # [N, T, 1]
        return torch.cat([(w * x).sum(dim=1), x.amax(dim=1)], dim=1)


ARCHS = ("cnn", "gru", "attn")


def build_model(arch: str, n_rr: int, width: int, dropout: float, in_channels: int, use_window: bool = True, hidden: int = 32, heads: int = 4) -> nn.Module:
    if arch == "cnn":
        return BeatCnn(n_rr=n_rr, width=width, dropout=dropout, use_window=use_window, in_channels=in_channels)
    if not use_window:
        raise ValueError(f"arch {arch} needs the window input")
    if arch == "gru":
        return BeatGru(n_rr=n_rr, width=width, dropout=dropout, in_channels=in_channels, hidden=hidden)
    if arch == "attn":
        return BeatAttn(n_rr=n_rr, width=width, dropout=dropout, in_channels=in_channels, hidden=hidden, heads=heads)
    raise ValueError(f"unknown arch {arch!r} (one of {ARCHS})")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class BeatEnsemble(nn.Module):
    """Mean of the members' calibrated probabilities, softmax(logits_i / T_i), returned as log-probabilities
    (so the output still reads as logits: softmax of it gives the mean back; argmax is the ensemble's class)."""

    def __init__(self, members: list[nn.Module], temperatures: list[float]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("inv_t", torch.tensor([1.0 / t for t in temperatures], dtype=torch.float32))

    def forward(self, window: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        p = torch.stack([torch.softmax(m(window, rr) * self.inv_t[i], dim=1) for i, m in enumerate(self.members)]).mean(dim=0)
        return torch.log(torch.clamp(p, min=1e-12))
