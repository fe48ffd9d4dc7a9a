"""Augmentations for beat windows that mimic other recorders and other noise (issue #10).

- Resampling: a 360-Hz window passed through 128 Hz (SVDB, many Holters) or 250 Hz and back, so the
  network sees the band-limited QRS of low-rate recorders. Precomputed once per window (scipy's polyphase
  resampler with `padtype="line"`, so window ends do not ring).
- Real ambulatory noise: baseline wander (`bw`) and muscle artefact (`ma`) of the MIT-BIH Noise Stress
  Test Database (Moody, Muldrow & Mark, Computers in Cardiology 11:381-384, 1984; ODC-By 1.0), band-passed
  exactly as the beat input contract filters (0.5–40 Hz Butterworth order 2, zero phase), scaled to a
  random SNR. SNR follows the nstdb definition: S = (QRS peak-to-peak)² / 8 with the window's R amplitude
  normalised to 1 by the contract, N = noise power.
- Powerline hum (50 or 60 Hz) at the amplitude the contract's band-pass lets through.

The record-template channel is never augmented: at inference it is the median of many beats, which
averages noise away.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy import signal

FS = 360
BAND = (0.5, 40.0)


def resampled_variants(windows: np.ndarray, fs_of_beat: np.ndarray, rates: tuple[int, ...] = (128, 250)) -> list[np.ndarray]:
    """One copy of `windows` per rate: 360-Hz windows passed through `rate` and back; others unchanged."""
    out = []
    native = fs_of_beat >= FS - 1
    for rate in rates:
        g = np.gcd(FS, rate)
        up, down = rate // g, FS // g
        v = windows.copy()
        x = windows[native].astype(np.float64)
        low = signal.resample_poly(x, up, down, axis=1, padtype="line")
        back = signal.resample_poly(low, down, up, axis=1, padtype="line")[:, : windows.shape[1]]
        v[native] = back.astype(np.float32)
        out.append(v)
    return out


def _read_212(path: Path, channels: int) -> np.ndarray:
    """WFDB format 212: two 12-bit two's-complement samples in three bytes."""
    b = np.fromfile(path, dtype=np.uint8)
    b = b[: (b.size // 3) * 3].reshape(-1, 3).astype(np.int32)
    s0 = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    s1 = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    s = np.stack([s0, s1], axis=1).ravel()
    s = np.where(s > 2047, s - 4096, s)
    return s.reshape(-1, channels).T.astype(np.float64)


def load_nstdb_noise(nstdb: Path) -> dict[str, np.ndarray]:
    """Band-passed `bw` and `ma` channels (4 signals), each scaled to unit RMS."""
    sos = signal.butter(2, BAND, btype="bandpass", fs=FS, output="sos")
    out = {}
    for name in ("bw", "ma"):
        x = _read_212(nstdb / f"{name}.dat", 2)
        for ch in range(2):
            y = signal.sosfiltfilt(sos, x[ch] - x[ch].mean())
            out[f"{name}{ch}"] = (y / np.sqrt(np.mean(y**2))).astype(np.float32)
    return out


def hum_gain() -> dict[int, float]:
    """Amplitude gain of the contract's zero-phase band-pass at 50 and 60 Hz (|H|², forward and backward)."""
    sos = signal.butter(2, BAND, btype="bandpass", fs=FS, output="sos")
    w, h = signal.sosfreqz(sos, worN=[50.0, 60.0], fs=FS)
    return {50: float(abs(h[0]) ** 2), 60: float(abs(h[1]) ** 2)}


class NoiseAugmenter:
    def __init__(self, nstdb: Path, p_noise: float, p_hum: float, snr_db: tuple[float, float] = (0.0, 24.0)) -> None:
        self.sources = list(load_nstdb_noise(nstdb).values())
        self.p_noise, self.p_hum, self.snr_db = p_noise, p_hum, snr_db
        self.gain = hum_gain()

    def __call__(self, w: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Adds noise to channel 0 of `w` [n, c, L] (a copy)."""
        n, _, length = w.shape
        w = w.clone()
        if self.p_noise > 0:
            pick = torch.rand(n, generator=g) < self.p_noise
            idx = torch.nonzero(pick).ravel().tolist()
            if idx:
                src = torch.randint(0, len(self.sources), (len(idx),), generator=g).tolist()
                snr = self.snr_db[0] + torch.rand(len(idx), generator=g) * (self.snr_db[1] - self.snr_db[0])
                rms = torch.sqrt(0.125 / 10 ** (snr / 10))
                excerpts = np.stack([self._excerpt(s, length, g) for s in src])
                w[idx, 0, :] += torch.from_numpy(excerpts) * rms[:, None]
        if self.p_hum > 0:
            pick = torch.rand(n, generator=g) < self.p_hum
            k = int(pick.sum())
            if k:
                f = torch.where(torch.rand(k, generator=g) < 0.5, 50.0, 60.0)
                gain = torch.where(f == 50.0, self.gain[50], self.gain[60])
                amp = 10 ** (-2.5 + torch.rand(k, generator=g) * 1.5) * gain  # 0.3 %–10 % of R before filtering
                phase = torch.rand(k, generator=g) * 2 * np.pi
                t = torch.arange(length, dtype=torch.float32) / FS
                w[pick, 0, :] += amp[:, None] * torch.sin(2 * np.pi * f[:, None] * t[None, :] + phase[:, None])
        return w

    def _excerpt(self, s: int, length: int, g: torch.Generator) -> np.ndarray:
        x = self.sources[s]
        o = int(torch.randint(0, x.size - length, (1,), generator=g))
        return x[o : o + length]
