"""Train the rhythm classifier on the CinC 2017 training part plus MIT-BIH DS1 rhythm windows.

    nice -n 15 /usr/bin/python3 training/rhythm/train.py --name rhythm-cnn --export

Protocol (issue #3, items 4, 5b, 10): the shared CinC 2017 records are split once (training/rhythm/
cinc-split.json, make_split.py) into train / validation / test. The model is fitted on the train part plus
MIT-BIH DS1 windows; every choice (the epoch kept, with or without hand-crafted features, settings) is made on
the validation part's record-level CinC score. The test part and MIT-BIH DS2 are only predicted, once, after
training, to report. A record's prediction is the mean of its windows' softmax probabilities.
See training/README.md ("Rhythm model").
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.aami import assert_no_ds2  # noqa: E402
from common.metrics import class_scores, confusion, format_report, report_dict  # noqa: E402
from common.repro import set_determinism  # noqa: E402
from rhythm.data import RhythmSet, load_rhythm  # noqa: E402
from rhythm.model import CLASSES, RhythmCnn, RhythmEnsemble, count_parameters  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "training/cache/rhythm"
N_CLASSES = len(CLASSES)


@dataclass
class Config:
    epochs: int = 24
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    width: int = 16
    kernel: int = 9
    dropout: float = 0.3
    # Each epoch draws this many random windows of every CinC training record (records are 9-61 s, so
    # overlapping windows of one record are near-duplicates) and this share of the MIT-BIH DS1 windows.
    windows_per_record: int = 2
    mit_fraction: float = 0.33
    # class weight = (largest class count / class count) ** power, counted over an epoch's windows
    class_weight_power: float = 0.5
    # augmentation: amplitude scale ±20 % (log-uniform), polarity flip (hand-held AliveCor recordings are
    # often inverted: Clifford et al. 2017), Gaussian noise in units of the median R amplitude
    amp_jitter: float = 0.2
    flip_prob: float = 0.5
    noise_std: float = 0.02
    use_features: bool = True
    use_signal: bool = True
    seed: int = 0


def cinc_score(cm: np.ndarray) -> float:
    """CinC 2017 score: mean F1 of N, A, O with F1x = 2 TPx / (row sum + column sum) (Clifford et al. 2017)."""
    s = class_scores(cm, CLASSES)
    return float(np.mean([s[c].f1 for c in ("N", "A", "O")]))


def concat_sets(a: RhythmSet, b: RhythmSet) -> RhythmSet:
    """Windows of two datasets in one set; record indices of b are shifted past a's (names kept in the manifest)."""
    n_a = len(a.record_names)
    manifest = {"contract": a.manifest["contract"], "records": a.manifest["records"] + b.manifest["records"]}
    return RhythmSet(
        np.concatenate([a.signal, b.signal]),
        np.concatenate([a.features, b.features]),
        np.concatenate([a.labels, b.labels]),
        np.concatenate([a.record, b.record + n_a]),
        np.concatenate([a.start, b.start]),
        manifest,
    )


def epoch_indices(data: RhythmSet, is_mit: np.ndarray, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Up to `windows_per_record` random windows of each CinC record plus a random share of MIT windows."""
    cinc = np.flatnonzero(~is_mit)
    prio = rng.random(cinc.size)
    order = cinc[np.lexsort((prio, data.record[cinc]))]
    rec = data.record[order]
    first = np.r_[True, rec[1:] != rec[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(rec.size), 0))
    rank = np.arange(rec.size) - group_start
    take = order[rank < cfg.windows_per_record]
    mit = np.flatnonzero(is_mit)
    mit_take = rng.choice(mit, size=int(round(cfg.mit_fraction * mit.size)), replace=False) if mit.size else mit
    idx = np.concatenate([take, mit_take])
    rng.shuffle(idx)
    return idx


def class_weights(labels: np.ndarray, cfg: Config) -> torch.Tensor:
    counts = np.bincount(labels, minlength=N_CLASSES).astype(np.float64)
    w = (counts.max() / np.maximum(counts, 1)) ** cfg.class_weight_power
    return torch.tensor(w, dtype=torch.float32)


def augment(x: torch.Tensor, cfg: Config, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    scale = torch.exp((torch.rand(n, 1, 1, generator=g) * 2 - 1) * cfg.amp_jitter)
    sign = torch.where(torch.rand(n, 1, 1, generator=g) < cfg.flip_prob, -1.0, 1.0)
    x = x * scale * sign
    if cfg.noise_std > 0:
        x = x + torch.randn(x.shape, generator=g) * cfg.noise_std
    return x


def make_model(names: list[str], cfg: Config) -> RhythmCnn:
    return RhythmCnn(names, width=cfg.width, kernel=cfg.kernel, dropout=cfg.dropout, use_features=cfg.use_features, use_signal=cfg.use_signal)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, data: RhythmSet, batch: int = 512) -> np.ndarray:
    model.eval()
    out = []
    for b in range(0, len(data), batch):
        s = torch.from_numpy(data.signal[b : b + batch]).unsqueeze(1)
        out.append(model(s, torch.from_numpy(data.features[b : b + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, N_CLASSES), np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def record_level(data: RhythmSet, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record ids, record labels, mean window probabilities) for the records present in `data`."""
    p = softmax(logits)
    recs = np.unique(data.record)
    probs = np.stack([p[data.record == r].mean(0) for r in recs])
    labels = np.array([data.labels[data.record == r][0] for r in recs])
    return recs, labels, probs


def evaluate_records(data: RhythmSet, logits: np.ndarray) -> dict:
    _, labels, probs = record_level(data, logits)
    cm = confusion(labels, probs.argmax(1), N_CLASSES)
    return {"score": cinc_score(cm), "records": int(labels.size), "f1": {c: s.f1 for c, s in class_scores(cm, CLASSES).items()}, **report_dict(cm, CLASSES), "cm": cm}


def train_model(train: RhythmSet, is_mit: np.ndarray, val: RhythmSet, cfg: Config, log_prefix: str = "") -> tuple[RhythmCnn, dict]:
    """Train for cfg.epochs; keep the state with the best validation CinC score (record level)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    model = make_model(train.feature_names, cfg)
    model.scaler.fit(train.features)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    probe = epoch_indices(train, is_mit, cfg, np.random.default_rng(cfg.seed + 1))
    steps = int(np.ceil(probe.size / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps + 10, pct_start=0.2)
    weights = class_weights(train.labels[probe], cfg)
    print(f"{log_prefix}{probe.size} windows per epoch, class weights {np.round(weights.numpy(), 2).tolist()}", flush=True)
    signal = torch.from_numpy(train.signal)
    feats = torch.from_numpy(train.features)
    labels = torch.from_numpy(train.labels)
    best = {"score": -1.0, "epoch": 0, "state": None}
    curve = []
    for epoch in range(cfg.epochs):
        model.train()
        idx = epoch_indices(train, is_mit, cfg, rng)
        total, t0 = 0.0, time.time()
        for b in range(0, idx.size, cfg.batch):
            bi = torch.from_numpy(idx[b : b + cfg.batch])
            x = augment(signal[bi].unsqueeze(1), cfg, g)
            loss = F.cross_entropy(model(x, feats[bi]), labels[bi], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * bi.numel()
        ev = evaluate_records(val, predict_logits(model, val))
        curve.append({"epoch": epoch + 1, "loss": total / idx.size, "val_score": ev["score"], "val_f1": ev["f1"]})
        print(
            f"{log_prefix}epoch {epoch + 1}/{cfg.epochs} loss {total / idx.size:.4f} val score {ev['score']:.4f} "
            f"F1 N {ev['f1']['N']:.3f} A {ev['f1']['A']:.3f} O {ev['f1']['O']:.3f} ~ {ev['f1']['~']:.3f} ({time.time() - t0:.0f} s)",
            flush=True,
        )
        if ev["score"] > best["score"]:
            best = {"score": ev["score"], "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())}
    model.load_state_dict(best["state"])
    model.eval()
    return model, {"best_epoch": best["epoch"], "best_val_score": best["score"], "curve": curve}


def window_af_report(labels: np.ndarray, pred: np.ndarray) -> dict:
    """AF (class A) detection per window: Se = TP / (TP + FN), PPV = TP / (TP + FP)."""
    a = CLASSES.index("A")
    tp = int(((labels == a) & (pred == a)).sum())
    fn = int(((labels == a) & (pred != a)).sum())
    fp = int(((labels != a) & (pred == a)).sum())
    return {"windows": int(labels.size), "af_windows": int((labels == a).sum()), "tp": tp, "fn": fn, "fp": fp, "se": tp / max(1, tp + fn), "ppv": tp / max(1, tp + fp)}


def golden_indices(labels: np.ndarray, seed: int = 1234) -> np.ndarray:
    """Eight fixed windows: two of each class (fewer if a class is absent)."""
    rng = np.random.default_rng(seed)
    picks: list[int] = []
    for c in range(N_CLASSES):
        pool = np.flatnonzero(labels == c)
        if pool.size:
            picks.extend(sorted(rng.choice(pool, size=min(2, pool.size), replace=False).tolist()))
    return np.array(picks, dtype=np.int64)


def export_onnx(model: torch.nn.Module, n_features: int, out: Path) -> dict:
    import onnx

    model.eval()
    dummy = (torch.zeros(2, 1, 3000), torch.ones(2, n_features))
    torch.onnx.export(
        model,
        dummy,
        str(out),
        opset_version=17,
        input_names=["signal", "features"],
        output_names=["logits"],
        dynamic_axes={"signal": {0: "N"}, "features": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(out)))
    return {"opset": 17, "bytes": out.stat().st_size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def write_golden(model: torch.nn.Module, data: RhythmSet, path: Path, model_file: str) -> None:
    idx = golden_indices(data.labels)
    sub = data.subset(idx)
    logits = predict_logits(model, sub)
    f32 = lambda a: [float(v) for v in np.asarray(a, np.float32).ravel()]  # noqa: E731 (exact float32 values)
    golden = {
        "model": model_file,
        "tolerance": 1e-4,
        "note": "10-s windows of CinC 2017 training-part records (ODC-By 1.0) as exported by `ecg-cds dataset rhythm`; logits from PyTorch eager.",
        "source": [{"record": data.record_names[int(r)], "start": int(s), "label": CLASSES[int(l)]} for r, s, l in zip(sub.record, sub.start, sub.labels)],
        "inputs": {
            "signal": {"shape": [len(idx), 1, sub.signal.shape[1]], "data": f32(sub.signal)},
            "features": {"shape": [len(idx), sub.features.shape[1]], "data": f32(sub.features)},
        },
        "outputs": {"logits": {"shape": [len(idx), N_CLASSES], "data": f32(logits)}},
    }
    path.write_text(json.dumps(golden) + "\n")


def strip_cm(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "cm"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cinc", default=str(CACHE / "cinc2017"), help="exported CinC 2017 windows")
    ap.add_argument("--mit-train", default=str(CACHE / "mitdb-DS1"), help="exported MIT-BIH DS1 windows ('' for none)")
    ap.add_argument("--mit-report", default=str(CACHE / "mitdb-DS2"), help="exported MIT-BIH DS2 windows, report only ('' to skip)")
    ap.add_argument("--split", default=str(REPO / "training/rhythm/cinc-split.json"))
    ap.add_argument("--name", default="rhythm-cnn", help="run name: cache dir and model file stem")
    ap.add_argument("--export", action="store_true", help="export ONNX, labels, manifest and golden vectors to --models-dir")
    ap.add_argument("--from-checkpoint", action="store_true", help="load the run's saved best.pt instead of training")
    ap.add_argument("--ensemble", default="", help="comma-separated run names: average their saved models instead of training")
    ap.add_argument("--models-dir", default=str(REPO / "models"))
    ap.add_argument("--threads", type=int, default=1)
    for field, default in asdict(Config()).items():
        if isinstance(default, bool):
            ap.add_argument(f"--{field.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"), default=default)
        else:
            ap.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = ap.parse_args()
    cfg = Config(**{f: getattr(args, f) for f in asdict(Config())})
    set_determinism(cfg.seed, args.threads)
    out_dir = CACHE / args.name
    out_dir.mkdir(parents=True, exist_ok=True)

    split = json.loads(Path(args.split).read_text())
    cinc = load_rhythm(args.cinc)
    train = cinc.records_subset(split["train"])
    val = cinc.records_subset(split["validation"])
    test = cinc.records_subset(split["test"])
    is_mit = np.zeros(len(train), bool)
    if args.mit_train:
        mit = load_rhythm(args.mit_train)
        assert_no_ds2(mit.record_names)
        train = concat_sets(train, mit)
        is_mit = np.r_[is_mit, np.ones(len(mit), bool)]
    n_feat = train.features.shape[1]
    print(f"train {len(train)} windows ({int(is_mit.sum())} MIT-BIH DS1), counts {np.bincount(train.labels, minlength=4).tolist()}; "
          f"validation {len(val)} windows / {len(split['validation'])} records; test {len(test)} windows / {len(split['test'])} records")
    print(f"config {asdict(cfg)}; parameters {count_parameters(make_model(train.feature_names, cfg))}", flush=True)

    t0 = time.time()
    if args.ensemble:
        members, history = [], {"members": {}}
        for run in args.ensemble.split(","):
            run_summary = json.loads((CACHE / run / "summary.json").read_text())
            m = make_model(train.feature_names, Config(**run_summary["config"]))
            m.load_state_dict(torch.load(CACHE / run / "best.pt"))
            members.append(m)
            history["members"][run] = {k: run_summary["training"][k] for k in ("best_epoch", "best_val_score", "seconds")}
        history["best_epoch"] = [h["best_epoch"] for h in history["members"].values()]
        history["seconds"] = sum(h["seconds"] for h in history["members"].values())
        model = RhythmEnsemble(members).eval()
    elif args.from_checkpoint:
        model = make_model(train.feature_names, cfg)
        model.load_state_dict(torch.load(out_dir / "best.pt"))
        model.eval()
        history = json.loads((out_dir / "summary.json").read_text())["training"]
    else:
        model, history = train_model(train, is_mit, val, cfg, log_prefix="  ")
        history["seconds"] = round(time.time() - t0, 1)
        torch.save(model.state_dict(), out_dir / "best.pt")
        print(f"trained in {history['seconds']} s; best validation score {history['best_val_score']:.4f} at epoch {history['best_epoch']}")

    # Reporting: validation (the selection set), then the held-out test part and DS2, each predicted once.
    val_logits = predict_logits(model, val)
    test_logits = predict_logits(model, test)
    ev_val = evaluate_records(val, val_logits)
    ev_test = evaluate_records(test, test_logits)
    print("\n" + format_report(ev_val["cm"], f"validation records (selection set): CinC score {ev_val['score']:.4f}", CLASSES))
    print("\n" + format_report(ev_test["cm"], f"held-out test records: CinC score {ev_test['score']:.4f}", CLASSES))
    for part, data, logits in (("validation", val, val_logits), ("test", test, test_logits)):
        np.save(out_dir / f"{part}_logits.npy", logits)
        np.save(out_dir / f"{part}_labels.npy", data.labels.astype(np.int8))
        np.save(out_dir / f"{part}_record.npy", data.record.astype(np.int32))
    (out_dir / "records.json").write_text(json.dumps(cinc.record_names) + "\n")
    summary: dict = {
        "config": asdict(cfg),
        "contract": cinc.manifest["contract"],
        "training": history,
        "validation": strip_cm(ev_val),
        "test": strip_cm(ev_test),
        "parameters": count_parameters(model),
    }
    if args.mit_report:
        ds2 = load_rhythm(args.mit_report)
        ds2_logits = predict_logits(model, ds2)
        pred = ds2_logits.argmax(1)
        np.save(out_dir / "ds2_logits.npy", ds2_logits)
        np.save(out_dir / "ds2_labels.npy", ds2.labels.astype(np.int8))
        af = window_af_report(ds2.labels, pred)
        cm = confusion(ds2.labels, pred, N_CLASSES)
        print("\n" + format_report(cm, f"MIT-BIH DS2 10-s windows: AF Se {af['se']:.4f} PPV {af['ppv']:.4f}", CLASSES))
        per_record = {}
        for r, name in enumerate(ds2.record_names):
            m = ds2.record == r
            if m.any():
                per_record[name] = window_af_report(ds2.labels[m], pred[m])
        summary["ds2"] = {"af": af, **report_dict(cm, CLASSES), "per_record": per_record}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    if args.export:
        models = Path(args.models_dir)
        models.mkdir(parents=True, exist_ok=True)
        onnx_info = export_onnx(model, n_feat, models / f"{args.name}.onnx")
        write_golden(model, train.subset(np.flatnonzero(~is_mit)), models / f"{args.name}.golden.json", f"{args.name}.onnx")
        inputs = [
            {"name": "signal", "type": "float32", "shape": ["N", 1, 3000]},
            {"name": "features", "type": "float32", "shape": ["N", n_feat]},
        ]
        outputs = [{"name": "logits", "type": "float32", "shape": ["N", N_CLASSES]}]
        contract = {"name": "rhythm-input", "version": int(cinc.manifest["contract"]["version"])}
        # The loader's manifest (src/inference/model/manifest.ts) ...
        manifest = {
            "id": args.name,
            "version": "1",
            "file": f"{args.name}.onnx",
            "sha256": onnx_info["sha256"],
            "inputs": inputs,
            "outputs": outputs,
            "labels": list(CLASSES),
            "temperature": 1.0,
            "contract": contract,
        }
        (models / f"{args.name}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        # ... and the labels file with the provenance and results behind them.
        labels = {
            **manifest,
            "opset": onnx_info["opset"],
            "bytes": onnx_info["bytes"],
            "classes": {"N": "normal sinus rhythm", "A": "atrial fibrillation or flutter", "O": "other rhythm", "~": "too noisy to classify"},
            "contractDetail": cinc.manifest["contract"],
            "recordAggregation": "mean of window softmax probabilities",
            "training": {
                "cincSplit": "training/rhythm/cinc-split.json",
                "cincTrainRecords": len(split["train"]),
                "mitRecords": [n for n in train.record_names[len(cinc.record_names):]] if args.mit_train else [],
                "windows": int(len(train)),
                "config": asdict(cfg),
                "ensembleOf": args.ensemble.split(",") if args.ensemble else None,
                "parameters": count_parameters(model),
                "bestEpoch": history["best_epoch"],
                "trainSeconds": history.get("seconds"),
                "threads": args.threads,
                "torch": torch.__version__,
            },
            "results": {
                "validation": {"score": ev_val["score"], "f1": ev_val["f1"]},
                "test": {"score": ev_test["score"], "f1": ev_test["f1"], "confusion": ev_test["confusion"]},
                **({"ds2": {"af": summary["ds2"]["af"]}} if "ds2" in summary else {}),
            },
        }
        (models / f"{args.name}.labels.json").write_text(json.dumps(labels, indent=2) + "\n")
        print(f"exported {models / (args.name + '.onnx')} ({onnx_info['bytes']} bytes)")


if __name__ == "__main__":
    main()
