"""Self-supervised pretraining of the beat encoder on unlabelled signal (issue #10).

    nice -n 19 /usr/bin/python3 training/beats/pretrain.py --data training/cache/beats/cinc-unlabelled \
        --name ssl-cinc > training/cache/beats/ssl-cinc.log 2>&1

Task: denoising, masked reconstruction. Each beat window (channel 0, with the record's median beat as
channel 1, the shipped contract v1 + template input) is corrupted — nstdb baseline-wander / muscle noise at
SNR 0–24 dB, 50/60-Hz hum, a passage through 128 or 250 Hz, amplitude and time jitter, and one zeroed span of
10–25 % of the window — and the network rebuilds the clean window. The encoder is exactly `BeatCnn.features`
(four convolution blocks, [N, 2, 256] → [N, 4w, 32]); a small transposed-convolution decoder is thrown away
afterwards. `train.py --init <run>` starts the classifier's `features` from the encoder.

Data: beats our detector finds in PhysioNet/CinC 2017 recordings (`ecg-cds dataset beats --labels none`),
**excluding the CinC records of the rhythm model's test part** (training/rhythm/cinc-split.json), so no
evaluation set of any shipped model is seen. MIT-BIH and SVDB signal is not used here: the beat model's
cross-validation holds those records out, and pretraining on a held-out record's signal (even without
labels) would be transductive. 4,434 CinC patients on a hand-held single-lead device at 300 Hz give the
encoder morphology from a recorder and population the labelled data lack.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from beats.augment import NoiseAugmenter, resampled_variants  # noqa: E402
from beats.model import BeatCnn  # noqa: E402
from beats.train import record_templates  # noqa: E402
from common.beat_data import load_union  # noqa: E402
from common.repro import set_determinism  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class Decoder(nn.Module):
    """[N, 4w, 32] → [N, 1, 256]."""

    def __init__(self, w: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose1d(4 * w, 2 * w, 4, stride=2, padding=1), nn.BatchNorm1d(2 * w), nn.ReLU(),  # 64
            nn.ConvTranspose1d(2 * w, w, 4, stride=2, padding=1), nn.BatchNorm1d(w), nn.ReLU(),  # 128
            nn.ConvTranspose1d(w, w, 4, stride=2, padding=1), nn.BatchNorm1d(w), nn.ReLU(),  # 256
            nn.Conv1d(w, 1, 7, padding=3),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO / "training/cache/beats/cinc-unlabelled"))
    ap.add_argument("--split", default=str(REPO / "training/rhythm/cinc-split.json"), help="CinC records in its `test` list are left out")
    ap.add_argument("--nstdb", default=str(REPO / "../shared/data/nstdb"))
    ap.add_argument("--name", default="ssl-cinc")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--per-epoch", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    set_determinism(args.seed, args.threads)

    data = load_union([d for d in args.data.split(",") if d])
    test = set(json.loads(Path(args.split).read_text())["test"]) if args.split else set()
    names = data.record_names
    keep = np.flatnonzero(np.array([names[r] not in test for r in data.record]))
    data = data.subset(keep)
    data.template = record_templates(data)
    variants = [torch.from_numpy(v) for v in resampled_variants(data.windows, data.record_fs[data.record])]
    clean = torch.from_numpy(np.ascontiguousarray(np.stack([data.windows, data.template], axis=1)))
    noise = NoiseAugmenter(Path(args.nstdb), p_noise=0.7, p_hum=0.2)
    print(f"pretraining on {clean.shape[0]} beats of {len(set(data.record.tolist()))} records (test-part records left out: {len(test)})", flush=True)

    model = BeatCnn(width=args.width, in_channels=2)
    enc = model.features
    dec = Decoder(args.width)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-3)
    steps = args.epochs * int(np.ceil(args.per_epoch / args.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    g = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    length = clean.shape[2]
    t0 = time.time()
    for epoch in range(args.epochs):
        idx = rng.choice(clean.shape[0], size=min(args.per_epoch, clean.shape[0]), replace=False)
        total = 0.0
        for b in range(0, idx.size, args.batch):
            bi = torch.from_numpy(idx[b : b + args.batch])
            x = clean[bi]
            target = x[:, :1, :].clone()
            w = x.clone()
            pick = torch.rand(bi.numel(), generator=g) < 0.5
            which = torch.randint(0, len(variants), (bi.numel(),), generator=g)
            for k, v in enumerate(variants):
                m = pick & (which == k)
                if bool(m.any()):
                    w[m, 0, :] = v[bi[m]]
            w = noise(w, g)
            w[:, 0, :] = w[:, 0, :] * torch.exp((torch.rand(bi.numel(), 1, generator=g) * 2 - 1) * 0.2)
            # one masked span per window
            span = (length * (0.10 + 0.15 * torch.rand(bi.numel(), generator=g))).long()
            start = (torch.rand(bi.numel(), generator=g) * (length - span)).long()
            pos = torch.arange(length)[None, :]
            mask = (pos >= start[:, None]) & (pos < (start + span)[:, None])
            w[:, 0, :] = w[:, 0, :].masked_fill(mask, 0.0)
            out = dec(enc(w))
            loss = F.smooth_l1_loss(out, target, beta=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * bi.numel()
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / idx.size:.5f} ({time.time() - t0:.0f} s)", flush=True)
    out = REPO / "training/cache/beats" / args.name
    out.mkdir(parents=True, exist_ok=True)
    torch.save(enc.state_dict(), out / "encoder.pt")
    (out / "summary.json").write_text(json.dumps({**vars(args), "beats": int(clean.shape[0]), "seconds": round(time.time() - t0, 1)}, indent=2) + "\n")
    print(f"encoder → {out / 'encoder.pt'}")


if __name__ == "__main__":
    main()
