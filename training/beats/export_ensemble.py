"""Export an ensemble of final beat models (one per family) as one ONNX graph with manifest and golden file.

    /usr/bin/python3 training/beats/export_ensemble.py --members final-tpl-cnn final-tpl-gru final-tpl-attn \
        --cv ens-cnn-gru-attn --name beat-ens --version 3.0.0

Each member is a `train.py --reuse-cv <cv run>` run: its final model (training/cache/beats/<run>/final.pt,
trained on all of DS1) and its cross-validation out-of-fold logits (oof_*.npy), on which its temperature
T_i is fitted (NLL, training/calibration/fit_temperature.py). The graph computes
log(mean_i softmax(logits_i / T_i)) from the same inputs (`window`, `rr`) and has the same output
(`logits` [N, 5]), so the TypeScript pipeline runs it like a single model. `--cv` names the
`ensemble.py --name` run whose pooled out-of-fold scores go into the manifest. Only DS1 is read.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from beats.model import BeatEnsemble, count_parameters  # noqa: E402
from beats.train import Config, channels, export_onnx, new_model, record_templates, write_golden  # noqa: E402
from calibration.fit_temperature import fit_temperature  # noqa: E402
from common.aami import assert_no_ds2  # noqa: E402
from common.beat_data import load_beats  # noqa: E402
from common.metrics import AAMI_CLASSES  # noqa: E402
from common.repro import set_determinism  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "training/cache/beats"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", nargs="+", required=True)
    ap.add_argument("--cv", required=True, help="ensemble.py run with the ensemble's out-of-fold scores")
    ap.add_argument("--name", default="beat-ens")
    ap.add_argument("--version", default="3.0.0")
    ap.add_argument("--data", default=str(REPO / "training/cache/beats/DS1-detected"))
    ap.add_argument("--models-dir", default=str(REPO / "models"))
    args = ap.parse_args()
    set_determinism(0, 1)
    data = load_beats(args.data)
    assert_no_ds2(data.record_names)
    members, temps, cfgs, info = [], [], [], []
    for run in args.members:
        summary = json.loads((CACHE / run / "summary.json").read_text())
        if Path(summary["data"]).resolve() != Path(args.data).resolve():
            raise SystemExit(f"member {run} was trained on {summary['data']}")
        cfg = Config(**summary["config"])
        model = new_model(cfg, data.rr.shape[1])
        model.load_state_dict(torch.load(CACHE / run / "final.pt"))
        model.eval()
        t = fit_temperature(np.load(CACHE / run / "oof_logits.npy").astype(np.float64), np.load(CACHE / run / "oof_labels.npy").astype(np.int64))
        members.append(model)
        temps.append(t)
        cfgs.append(cfg)
        info.append({"run": run, "cvRun": summary.get("cv_run"), "arch": cfg.arch, "parameters": count_parameters(model), "temperature": round(t, 4), "config": asdict(cfg), "cvPooled": summary["cv"]["pooled"]})
        print(f"{run}: arch {cfg.arch}, {count_parameters(model)} parameters, T {t:.4f}")
    if len({channels(c) for c in cfgs}) != 1:
        raise SystemExit("members take different window inputs")
    cfg = cfgs[0]
    if cfg.template:
        data.template = record_templates(data)
    ens = BeatEnsemble(members, temps).eval()
    models = Path(args.models_dir)
    onnx_info = export_onnx(ens, data, cfg, models / f"{args.name}.onnx")
    write_golden(ens, data, cfg, models / f"{args.name}.golden.json")
    first = json.loads((CACHE / args.members[0] / "summary.json").read_text())
    ens_cv = json.loads((CACHE / args.cv / "summary.json").read_text())
    if [json.loads((CACHE / r / "summary.json").read_text()).get("cv_run") for r in args.members] != ens_cv["runs"]:
        raise SystemExit(f"--cv {args.cv} combines {ens_cv['runs']}, not the members' cross-validation runs")
    manifest = {
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
        "temperature": 1.0,
        "contract": {"name": "beat-input", **data.manifest["contract"]},
        "onnx": {"opset": onnx_info["opset"], "bytes": onnx_info["bytes"]},
        "ensemble": {"method": "log of the mean of softmax(logits_i / T_i); T_i fitted on member i's DS1 out-of-fold logits", "members": info},
        "training": {
            "records": data.record_names,
            "peaks": data.manifest["peaks"],
            "qrsLeads": data.manifest.get("qrsLeads"),
            "beats": int(data.labels.size),
            "counts": dict(zip(AAMI_CLASSES, np.bincount(data.labels, minlength=5).tolist())),
            "sourceSha256": {r["record"]: r["sha256"] for r in data.manifest["records"]},
            "parameters": count_parameters(ens),
            "threads": 1,
            "torch": torch.__version__,
        },
        "cv": {"k": first["cv"]["k"], "pooled": ens_cv["pooled"], "foldOfRecord": first["cv"]["fold_of_record"], "method": ens_cv["method"], "run": args.cv},
    }
    (models / f"{args.name}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"exported {models / (args.name + '.onnx')} ({onnx_info['bytes']} bytes, {count_parameters(ens)} parameters)")


if __name__ == "__main__":
    main()
