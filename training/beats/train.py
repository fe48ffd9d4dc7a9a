"""Train the beat classifier on MIT-BIH DS1 with record-wise cross-validation, then the final model.

    nice -n 15 /usr/bin/python3 training/beats/train.py --data training/cache/beats/DS1-detected

Protocol (issue #3): only DS1 is read. Model choices are made on pooled out-of-fold predictions of a
record-wise k-fold inside DS1; the final model is trained on all of DS1 with the same settings and epoch
count and exported to ONNX with golden vectors. See training/README.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from beats.model import ARCHS, build_model, count_parameters  # noqa: E402
from torch import nn  # noqa: E402
from common.aami import assert_no_ds2  # noqa: E402
from beats.augment import NoiseAugmenter, resampled_variants  # noqa: E402
from common.beat_data import BeatSet, load_union  # noqa: E402
from common.folds import balanced_record_folds  # noqa: E402
from common.metrics import AAMI_CLASSES, confusion, format_report, report_dict  # noqa: E402
from common.repro import set_determinism  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Config:
    epochs: int = 20
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-3
    width: int = 16
    dropout: float = 0.3
    # N beats drawn afresh each epoch (all S/V/F/Q beats are used every epoch): keeps epochs short and the
    # classes less lopsided without discarding N data overall.
    n_per_epoch: int = 12000
    # class weight = (count of the largest class in the epoch / count of class c) ** class_weight_power.
    # 0 (no weights; the N subsampling alone rebalances) gave the best S F1 in DS1 cross-validation:
    # pooled S F1 0.51 at 0, 0.48 at 0.25; 0.5 over-predicted S and F (README, "Model selection").
    class_weight_power: float = 0.0
    max_class_weight: float = 10.0
    # augmentation: amplitude scale ±20 % (log-uniform), time shift ±4 samples (detector jitter, ±11 ms),
    # Gaussian noise (fraction of the median R amplitude), multiplicative RR jitter (log-normal sigma)
    amp_jitter: float = 0.2
    max_shift: int = 4
    noise_std: float = 0.02
    rr_jitter: float = 0.03
    use_window: bool = True
    # experimental: add the record's median beat as a second window channel (patient-relative morphology)
    template: bool = False
    seed: int = 0
    # model family (beats/model.py): "cnn" (shipped), "gru" (CNN front end + bidirectional GRU), "attn"
    # (CNN front end + self-attention encoder layer + attention pooling); hidden = GRU state per direction
    # or attention width, heads = attention heads (both unused by "cnn")
    arch: str = "cnn"
    hidden: int = 32
    heads: int = 4
    # issue #10 generalisation options (beats/augment.py), each a per-beat probability, 0 = off:
    # resample_aug: a 360-Hz window replaced by its copy passed through 128 or 250 Hz and back;
    # noise_aug: nstdb bw/ma noise at SNR 0–24 dB; hum_aug: 50/60-Hz hum as the band-pass passes it
    resample_aug: float = 0.0
    noise_aug: float = 0.0
    hum_aug: float = 0.0
    # windows trained on: "primary" (the lead analyze() classifies) or "all" (every exported lead: the second
    # lead as more data); evaluation is always reported on the primary lead, and as a per-lead vote
    train_leads: str = "primary"
    # a pretrained encoder (training/beats/pretrain.py run name) that initialises `features`; "" = random
    init: str = ""


def augment(w: torch.Tensor, rr: torch.Tensor, cfg: Config, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, c, length = w.shape
    scale = torch.exp((torch.rand(n, 1, 1, generator=g) * 2 - 1) * cfg.amp_jitter)
    w = w * scale
    if cfg.max_shift > 0:
        s = cfg.max_shift
        padded = F.pad(w, (s, s))
        offset = torch.randint(0, 2 * s + 1, (n,), generator=g)
        idx = (torch.arange(length).unsqueeze(0) + offset.unsqueeze(1)).unsqueeze(1).expand(n, c, length)
        w = torch.gather(padded, 2, idx)
    if cfg.noise_std > 0:
        w = w + torch.randn(w.shape, generator=g) * cfg.noise_std
    if cfg.rr_jitter > 0:
        rr = rr * torch.exp(torch.randn(rr.shape, generator=g) * cfg.rr_jitter)
    return w, rr


def epoch_indices(labels: np.ndarray, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    n_idx = np.flatnonzero(labels == 0)
    other = np.flatnonzero(labels != 0)
    take = rng.choice(n_idx, size=min(cfg.n_per_epoch, n_idx.size), replace=False)
    idx = np.concatenate([take, other])
    rng.shuffle(idx)
    return idx


def class_weights(labels: np.ndarray, cfg: Config) -> torch.Tensor:
    counts = np.bincount(labels, minlength=5).astype(np.float64)
    counts[0] = min(counts[0], cfg.n_per_epoch)
    w = (counts.max() / np.maximum(counts, 1)) ** cfg.class_weight_power
    return torch.tensor(np.minimum(w, cfg.max_class_weight), dtype=torch.float32)


def new_model(cfg: Config, n_rr: int) -> nn.Module:
    return build_model(cfg.arch, n_rr=n_rr, width=cfg.width, dropout=cfg.dropout, in_channels=channels(cfg), use_window=cfg.use_window, hidden=cfg.hidden, heads=cfg.heads)


NOISE: NoiseAugmenter | None = None


def train_model(data: BeatSet, cfg: Config, seed: int, log_prefix: str = "") -> nn.Module:
    if cfg.train_leads == "primary":
        data = data.subset(np.flatnonzero(data.lead == 0))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    model = new_model(cfg, data.rr.shape[1])
    if cfg.init:
        model.features.load_state_dict(torch.load(REPO / "training/cache/beats" / cfg.init / "encoder.pt"))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = int(np.ceil((min(cfg.n_per_epoch, int((data.labels == 0).sum())) + int((data.labels != 0).sum())) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.2)
    weights = class_weights(data.labels, cfg)
    windows = torch.from_numpy(window_input(data, cfg))
    variants = [torch.from_numpy(v) for v in data.variants] if cfg.resample_aug > 0 else []
    rr_all = torch.from_numpy(data.rr)
    labels = torch.from_numpy(data.labels)
    for epoch in range(cfg.epochs):
        model.train()
        idx = epoch_indices(data.labels, cfg, rng)
        total, t0 = 0.0, time.time()
        for b in range(0, idx.size, cfg.batch):
            bi = torch.from_numpy(idx[b : b + cfg.batch])
            w = windows[bi]
            if variants:
                pick = torch.rand(bi.numel(), generator=g) < cfg.resample_aug
                if bool(pick.any()):
                    which = torch.randint(0, len(variants), (bi.numel(),), generator=g)
                    w = w.clone()
                    for k, v in enumerate(variants):
                        m = pick & (which == k)
                        if bool(m.any()):
                            w[m, 0, :] = v[bi[m]]
            if NOISE is not None:
                w = NOISE(w, g)
            w, rr = augment(w, rr_all[bi], cfg, g)
            loss = F.cross_entropy(model(w, rr), labels[bi], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * bi.numel()
        if epoch == 0 or (epoch + 1) % 5 == 0 or epoch == cfg.epochs - 1:
            print(f"{log_prefix}epoch {epoch + 1}/{cfg.epochs} loss {total / idx.size:.4f} ({time.time() - t0:.1f} s)", flush=True)
    model.eval()
    return model


def channels(cfg: Config) -> int:
    return 2 if cfg.template else 1


def record_templates(data: BeatSet) -> np.ndarray:
    """Per beat, the median window of all beats of its record and lead (the dominant morphology)."""
    out = np.empty_like(data.windows)
    for r in np.unique(data.record):
        for ld in np.unique(data.lead[data.record == r]):
            m = (data.record == r) & (data.lead == ld)
            out[m] = np.median(data.windows[m], axis=0)
    return out


def window_input(data: BeatSet, cfg: Config) -> np.ndarray:
    """The `window` model input [n, channels, 256]."""
    if cfg.template:
        return np.ascontiguousarray(np.stack([data.windows, data.template], axis=1))
    return data.windows[:, None, :]


@torch.no_grad()
def predict_logits(model: nn.Module, data: BeatSet, cfg: Config, batch: int = 2048) -> np.ndarray:
    model.eval()
    out = []
    x = window_input(data, cfg)
    for b in range(0, data.labels.size, batch):
        w = torch.from_numpy(x[b : b + batch])
        out.append(model(w, torch.from_numpy(data.rr[b : b + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, 5), np.float32)


def lead_vote(data: BeatSet, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primary-lead beats and the mean softmax over every exported lead of the same beat (log, as logits)."""
    prim = np.flatnonzero(data.lead == 0)
    prob = torch.softmax(torch.from_numpy(logits), 1).numpy()
    acc = prob[prim].copy()
    cnt = np.ones(prim.size)
    key = {(int(r), int(sm)): i for i, (r, sm) in enumerate(zip(data.record[prim], data.sample[prim]))}
    for j in np.flatnonzero(data.lead != 0):
        i = key[(int(data.record[j]), int(data.sample[j]))]
        acc[i] += prob[j]
        cnt[i] += 1
    return prim, np.log(acc / cnt[:, None] + 1e-12).astype(np.float32)


def db_reports(data: BeatSet, logits: np.ndarray, idx: np.ndarray, title: str) -> dict:
    """Pooled scores of `logits` (rows = beats `idx`) per database and over all."""
    out = {}
    dbs = np.array(data.record_db)[data.record[idx]]
    for db in [*sorted(set(dbs.tolist())), "all"]:
        m = np.ones(idx.size, bool) if db == "all" else dbs == db
        if not m.any():
            continue
        cm = confusion(data.labels[idx][m], logits[m].argmax(1))
        print("\n" + format_report(cm, f"{title}: {db}"), flush=True)
        out[db] = report_dict(cm)
    return out


def cross_validate(data: BeatSet, cfg: Config, k: int, cache: Path) -> dict:
    # balance bundle branch block morphologies too (N beats labelled L and R in the manifest), and the
    # databases (each fold holds MIT-BIH and SVDB records in proportion)
    symbols = [r.get("symbols", {}) for r in data.manifest["records"]]
    dbs = data.record_db
    db_names = sorted(set(dbs))
    extra = np.array([[s.get("L", 0), s.get("R", 0)] + [1.0 if d == name else 0.0 for name in db_names] for s, d in zip(symbols, dbs)], dtype=np.float64)
    prim_idx = np.flatnonzero(data.lead == 0)
    fold_of_record = balanced_record_folds(data.record[prim_idx], data.labels[prim_idx], k, extra=extra)
    fold = fold_of_record[data.record]
    names = data.record_names
    oof = np.zeros((data.labels.size, 5), np.float32)
    per_fold = []
    for f in range(k):
        test = fold == f
        recs = [names[r] for r in range(len(names)) if fold_of_record[r] == f]
        print(f"\n== fold {f + 1}/{k}: held-out records {', '.join(recs)}", flush=True)
        model = train_model(data.subset(np.flatnonzero(~test)), cfg, seed=cfg.seed * 1000 + f, log_prefix=f"  fold {f + 1} ")
        held = data.subset(np.flatnonzero(test))
        oof[test] = predict_logits(model, held, cfg)
        hp = held.lead == 0
        cm = confusion(held.labels[hp], oof[test][hp].argmax(1))
        print(format_report(cm, f"fold {f + 1} ({', '.join(recs)}), primary lead"), flush=True)
        per_fold.append({"fold": f + 1, "records": recs, **report_dict(cm)})
    cm = confusion(data.labels[prim_idx], oof[prim_idx].argmax(1))
    print("\n" + format_report(cm, f"pooled out-of-fold, {k} record-wise folds, primary lead"), flush=True)
    per_db = db_reports(data, oof[prim_idx], prim_idx, "pooled out-of-fold, primary lead")
    result = {"k": k, "folds": per_fold, "pooled": report_dict(cm), "perDb": per_db, "fold_of_record": {names[r]: int(fold_of_record[r]) + 1 for r in range(len(names))}}
    cache.mkdir(parents=True, exist_ok=True)
    if (data.lead != 0).any():
        vi, vlog = lead_vote(data, oof)
        result["perDbLeadVote"] = db_reports(data, vlog, vi, "pooled out-of-fold, mean over leads")
        np.save(cache / "oof_vote_logits.npy", vlog)
        np.save(cache / "oof_all_logits.npy", oof)
        np.save(cache / "oof_all_lead.npy", data.lead.astype(np.int8))
    # oof_*.npy: primary lead only (what fit_temperature / ensemble.py read)
    np.save(cache / "oof_logits.npy", oof[prim_idx])
    np.save(cache / "oof_labels.npy", data.labels[prim_idx].astype(np.int8))
    np.save(cache / "oof_record.npy", data.record[prim_idx].astype(np.int32))
    np.save(cache / "oof_fold.npy", fold[prim_idx].astype(np.int8))
    np.save(cache / "oof_db.npy", np.array([db_names.index(d) for d in np.array(dbs)[data.record[prim_idx]]], np.int8))
    return result


def golden_indices(labels: np.ndarray, seed: int = 1234) -> np.ndarray:
    """Eight fixed beats: two N, two S, two V, one F, one Q (fewer if a class is absent)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c, n in ((0, 2), (1, 2), (2, 2), (3, 1), (4, 1)):
        pool = np.flatnonzero(labels == c)
        if pool.size:
            picks.extend(sorted(rng.choice(pool, size=min(n, pool.size), replace=False).tolist()))
    return np.array(picks, dtype=np.int64)


def export_onnx(model: nn.Module, data: BeatSet, cfg: Config, out: Path) -> dict:
    import onnx

    model.eval()
    n_rr = data.rr.shape[1]
    dummy = (torch.zeros(2, channels(cfg), data.windows.shape[1]), torch.ones(2, n_rr))
    torch.onnx.export(
        model,
        dummy,
        str(out),
        opset_version=17,
        input_names=["window", "rr"],
        output_names=["logits"],
        dynamic_axes={"window": {0: "N"}, "rr": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(out)))
    return {"opset": 17, "bytes": out.stat().st_size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def write_golden(model: nn.Module, data: BeatSet, cfg: Config, path: Path) -> None:
    idx = golden_indices(data.labels)
    sub = data.subset(idx)
    logits = predict_logits(model, sub, cfg)
    f32 = lambda a: [float(v) for v in np.asarray(a, np.float32).ravel()]  # noqa: E731 (exact float32 values)
    golden = {
        "model": path.name.replace(".golden.json", ".onnx"),
        "tolerance": 1e-4,
        "note": "Beats from MIT-BIH DS1 (ODC-By 1.0) as exported by `ecg-cds dataset beats`; logits from PyTorch eager.",
        "source": [{"record": data.record_names[int(r)], "sample": int(s), "label": AAMI_CLASSES[int(l)]} for r, s, l in zip(sub.record, sub.sample, sub.labels)],
        "inputs": {
            "window": {"shape": [len(idx), channels(cfg), sub.windows.shape[1]], "data": f32(window_input(sub, cfg))},
            "rr": {"shape": [len(idx), sub.rr.shape[1]], "data": f32(sub.rr)},
        },
        "outputs": {"logits": {"shape": [len(idx), 5], "data": f32(logits)}},
    }
    path.write_text(json.dumps(golden) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO / "training/cache/beats/DS1-detected"), help="exported beats; several exports comma-separated (e.g. DS1 and svdb-dev)")
    ap.add_argument("--nstdb", default=str(REPO / "../shared/data/nstdb"), help="noise records for --noise-aug")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--name", default="beat-cnn", help="run name: cache dir and model file stem")
    ap.add_argument("--cv-only", action="store_true", help="cross-validate, do not train or export the final model")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (final model only)")
    ap.add_argument("--reuse-cv", metavar="RUN", help="take the cross-validation of an earlier --cv-only run with the same settings and data (results are deterministic)")
    ap.add_argument("--models-dir", default=str(REPO / "models"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--version", default="1.0.0", help="model version written to the manifest")
    for field, default in asdict(Config()).items():
        if isinstance(default, bool):
            ap.add_argument(f"--{field.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"), default=default)
        else:
            ap.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = ap.parse_args()
    cfg = Config(**{f: getattr(args, f) for f in asdict(Config())})
    if cfg.arch not in ARCHS:
        raise SystemExit(f"--arch {cfg.arch}: one of {', '.join(ARCHS)}")
    set_determinism(cfg.seed, args.threads)

    global NOISE
    data = load_union([d for d in args.data.split(",") if d])
    assert_no_ds2(data.record_names)
    if cfg.train_leads not in ("primary", "all"):
        raise SystemExit("--train-leads: primary or all")
    if cfg.template:
        data.template = record_templates(data)
    if cfg.resample_aug > 0:
        data.variants = resampled_variants(data.windows, data.record_fs[data.record])
    if cfg.noise_aug > 0 or cfg.hum_aug > 0:
        NOISE = NoiseAugmenter(Path(args.nstdb), cfg.noise_aug, cfg.hum_aug)
    cache = REPO / "training/cache/beats" / args.name
    print(f"data {args.data}: {data.labels.size} beats, {len(data.record_names)} records, counts {np.bincount(data.labels, minlength=5).tolist()}")
    print(f"config {asdict(cfg)}; parameters {count_parameters(new_model(cfg, data.rr.shape[1]))}")
    summary: dict = {"config": asdict(cfg), "data": args.data, "contract": data.manifest["contract"], "peaks": data.manifest["peaks"]}
    t0 = time.time()
    if args.reuse_cv:
        earlier = json.loads((REPO / "training/cache/beats" / args.reuse_cv / "summary.json").read_text())
        # settings added after that run have their defaults there (the behaviour before they existed)
        if {**asdict(Config()), **earlier["config"]} != asdict(cfg) or earlier["data"] != args.data or "cv" not in earlier:
            raise SystemExit(f"--reuse-cv {args.reuse_cv}: that run used other settings or data")
        summary["cv"], summary["cv_seconds"], summary["cv_run"] = earlier["cv"], earlier["cv_seconds"], args.reuse_cv
        cache.mkdir(parents=True, exist_ok=True)
        for f in (REPO / "training/cache/beats" / args.reuse_cv).glob("oof_*.npy"):
            shutil.copyfile(f, cache / f.name)
        print(f"cross-validation reused from run {args.reuse_cv} (out-of-fold logits copied to {cache})")
    elif not args.no_cv:
        summary["cv"] = cross_validate(data, cfg, args.folds, cache)
        summary["cv_seconds"] = round(time.time() - t0, 1)
        print(f"cross-validation took {summary['cv_seconds']} s")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.cv_only:
        return

    t1 = time.time()
    model = train_model(data, cfg, seed=cfg.seed, log_prefix="  final ")
    train_seconds = round(time.time() - t1, 1)
    print(f"final model trained in {train_seconds} s")
    models = Path(args.models_dir)
    models.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), cache / "final.pt")
    onnx_info = export_onnx(model, data, cfg, models / f"{args.name}.onnx")
    data = data.subset(np.flatnonzero(data.lead == 0))  # golden vectors and counts: the primary lead
    write_golden(model, data, cfg, models / f"{args.name}.golden.json")
    contract = data.manifest["contract"]
    manifest = {
        # fields read by src/inference/model/manifest.ts
        "id": args.name,
        "version": args.version,
        "file": f"{args.name}.onnx",
        "sha256": onnx_info["sha256"],
        "inputs": [
            {"name": "window", "type": "float32", "shape": ["N", channels(cfg), data.windows.shape[1]]},
            {"name": "rr", "type": "float32", "shape": ["N", data.rr.shape[1]]},
        ],
        "outputs": [{"name": "logits", "type": "float32", "shape": ["N", 5]}],
        "labels": list(AAMI_CLASSES),
        # uncalibrated until temperature scaling is fitted on the out-of-fold logits
        "temperature": 1.0,
        "contract": {"name": "beat-input", **contract},
        # provenance
        "onnx": {"opset": onnx_info["opset"], "bytes": onnx_info["bytes"]},
        "training": {
            "records": data.record_names,
            "peaks": data.manifest["peaks"],
            "qrsLeads": data.manifest.get("qrsLeads"),
            "beats": int(data.labels.size),
            "counts": dict(zip(AAMI_CLASSES, np.bincount(data.labels, minlength=5).tolist())),
            "sourceSha256": {r["record"]: r["sha256"] for r in data.manifest["records"]},
            "config": asdict(cfg),
            "parameters": count_parameters(model),
            "trainSeconds": train_seconds,
            "threads": args.threads,
            "torch": torch.__version__,
            # the self-supervised encoder the run started from (training/beats/pretrain.py), if any
            "pretrainedEncoder": json.loads((REPO / "training/cache/beats" / cfg.init / "summary.json").read_text()) if cfg.init else None,
        },
        "cv": {"k": summary["cv"]["k"], "pooled": summary["cv"]["pooled"], "foldOfRecord": summary["cv"]["fold_of_record"], "seconds": summary["cv_seconds"]} if "cv" in summary else None,
    }
    (models / f"{args.name}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"exported {models / (args.name + '.onnx')} ({onnx_info['bytes']} bytes)")


if __name__ == "__main__":
    main()
