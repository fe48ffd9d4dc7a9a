"""A small 1D convolutional autoencoder for 2.048-s ECG segments (256 samples at 125 Hz).

Encoder: four stride-2 convolutions (256 → 16 positions), then a dense bottleneck of `latent` numbers for
the whole segment; the decoder mirrors it with transposed convolutions. A global dense bottleneck (rather
than a convolutional one) forces the code to describe the segment as an ECG: a local code of a few
channels per 128 ms can copy slow, smooth artefacts such as electrode motion almost as well as it copies
the ECG, which would hide exactly the noise the gate exists to see.
"""
from __future__ import annotations

import torch
from torch import nn

SEGMENT_LENGTH = 256


class QualityAutoencoder(nn.Module):
    def __init__(self, width: int = 16, latent: int = 64):
        super().__init__()
        w = width
        self.width = w
        self.encoder = nn.Sequential(
            nn.Conv1d(1, w, 7, stride=2, padding=3), nn.ReLU(),  # 128
            nn.Conv1d(w, 2 * w, 5, stride=2, padding=2), nn.ReLU(),  # 64
            nn.Conv1d(2 * w, 2 * w, 5, stride=2, padding=2), nn.ReLU(),  # 32
            nn.Conv1d(2 * w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),  # 16
        )
        self.to_latent = nn.Linear(2 * w * 16, latent)
        self.from_latent = nn.Linear(latent, 2 * w * 16)
        self.decoder = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose1d(2 * w, 2 * w, 4, stride=2, padding=1), nn.ReLU(),  # 32
            nn.ConvTranspose1d(2 * w, 2 * w, 4, stride=2, padding=1), nn.ReLU(),  # 64
            nn.ConvTranspose1d(2 * w, w, 4, stride=2, padding=1), nn.ReLU(),  # 128
            nn.ConvTranspose1d(w, w, 4, stride=2, padding=1), nn.ReLU(),  # 256
            nn.Conv1d(w, 1, 7, padding=3),
        )

    def forward(self, segment: torch.Tensor) -> torch.Tensor:
        h = self.encoder(segment)
        z = self.to_latent(h.flatten(1))
        h = self.from_latent(z).view(-1, 2 * self.width, 16)
        return self.decoder(h)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
