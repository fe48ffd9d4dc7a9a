"""int8 (QDQ) variants of the shipped models (issue #14 item 4), kept out of models/ unless they ship.

    python3 -m venv training/.venv-quant          # pyenv's python3 (3.11); the venv is git-ignored
    training/.venv-quant/bin/pip install -r training/quantize/requirements.txt
    training/.venv-quant/bin/python training/quantize/quantize.py            # → training/cache/quant/models-int8/

For each model named in `<models>/shipped.json`: ONNX Runtime's pre-processing (shape inference, graph
optimisation), then `onnxruntime.quantization.quantize_static` in QDQ format: 8-bit activations (uint8,
asymmetric: "U8S8", what ONNX Runtime's x86 kernels fuse), int8 weights with per-channel scales and
`reduce_range` (7-bit, see training/README.md), MinMax calibration on rows drawn only from TRAINING data:

- beat model: beats of MIT-BIH DS1 and svdb-dev as exported by `ecg-cds dataset beats --beat-leads all`
  (`training/cache/beats/{DS1,svdb-dev}-detected-2lead`), with the record-and-lead median template as the
  second channel, as training builds it; DS2 is refused (`common/aami.py`);
- rhythm model: 10-s windows of the CinC 2017 *train* part (`training/rhythm/cinc-split.json`) from
  `ecg-cds dataset rhythm` (`training/cache/rhythm/cinc2017`); validation and test records are not read;
- quality autoencoder: MLII segments of DS1 (`training/cache/ae/ds1`, record 118 left out as its training did).

Rows are drawn with `numpy.random.default_rng(--seed)`; the calibration session runs on one thread, so the
output files are byte-identical between runs (checked: SHA-256 printed and written to the report).

The output folder is a complete models dir (shipped.json, manifests with the int8 files' SHA-256 and a
`+int8` version, thresholds, calibration), so every command takes it with `--models`, e.g.
`npm run --silent ecg-cds -- eval beats --db ../shared/data/mitdb --records DS2 --models training/cache/quant/models-int8`.
`report.json` there holds sizes, FLOPs per row (onnx_flops.py), calibration sources and, per model, the
largest difference of the int8 outputs from the fp32 outputs on the golden inputs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "training"))
sys.path.insert(0, str(HERE))
from common.aami import DS1, assert_no_ds2  # noqa: E402
from common.beat_data import load_beats  # noqa: E402
from onnx_flops import count as count_flops  # noqa: E402

CACHE = REPO / "training/cache"


class ArrayReader(CalibrationDataReader):
    """Feeds the calibration rows in fixed-size batches, in order."""

    def __init__(self, feeds: dict[str, np.ndarray], batch: int = 64) -> None:
        self.feeds = feeds
        self.n = next(iter(feeds.values())).shape[0]
        self.batch = batch
        self.pos = 0

    def get_next(self):
        if self.pos >= self.n:
            return None
        s = slice(self.pos, self.pos + self.batch)
        self.pos += self.batch
        return {k: np.ascontiguousarray(v[s]) for k, v in self.feeds.items()}

    def rewind(self) -> None:
        self.pos = 0


def record_templates(windows: np.ndarray, record: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """Per beat, the median window of its record and lead (training/beats/train.py: record_templates)."""
    out = np.empty_like(windows)
    for r in np.unique(record):
        for ld in np.unique(lead[record == r]):
            m = (record == r) & (lead == ld)
            out[m] = np.median(windows[m], axis=0)
    return out


def beat_calibration(rng: np.random.Generator, rows: int, sources: list[str]) -> tuple[dict, dict, dict]:
    parts, checks = [], []
    for src in sources:
        d = load_beats(CACHE / "beats" / src)
        assert_no_ds2(d.record_names)
        tpl = record_templates(d.windows, d.record, d.lead)
        perm = rng.permutation(d.labels.size)
        pick, check = np.sort(perm[: rows // len(sources)]), np.sort(perm[rows // len(sources) : 2 * (rows // len(sources))])
        checks.append((np.stack([d.windows[check], tpl[check]], axis=1), d.rr[check]))
        parts.append((np.stack([d.windows[pick], tpl[pick]], axis=1), d.rr[pick], np.bincount(d.labels[pick], minlength=5)))
    window = np.concatenate([p[0] for p in parts]).astype(np.float32)
    rr = np.concatenate([p[1] for p in parts]).astype(np.float32)
    counts = sum(p[2] for p in parts)
    check = {"window": np.concatenate([c[0] for c in checks]).astype(np.float32), "rr": np.concatenate([c[1] for c in checks]).astype(np.float32)}
    return {"window": window, "rr": rr}, check, {"sources": sources, "rows": int(window.shape[0]), "classCounts": dict(zip("NSVFQ", map(int, counts)))}


def rhythm_calibration(rng: np.random.Generator, rows: int) -> tuple[dict, dict, dict]:
    d = CACHE / "rhythm/cinc2017"
    manifest = json.loads((d / "manifest.json").read_text())
    split = json.loads((REPO / "training/rhythm/cinc-split.json").read_text())
    names = [r["record"] for r in manifest["records"]]
    record = np.load(d / "record.npy").astype(np.int64)
    signal, features = np.load(d / "signal.npy", mmap_mode="r"), np.load(d / "features.npy")

    def draw(part: str) -> dict:
        wanted = set(split[part])
        idx = np.sort(rng.choice(np.flatnonzero(np.array([n in wanted for n in names])[record]), size=rows, replace=False))
        return {"signal": signal[idx].astype(np.float32)[:, None, :], "features": features[idx].astype(np.float32)}

    # calibration rows from the train part, check rows from the validation part (where choices are made)
    return draw("train"), draw("validation"), {"sources": ["cinc2017 train part (cinc-split.json)"], "rows": rows}


def ae_calibration(rng: np.random.Generator, rows: int) -> tuple[dict, dict, dict]:
    d = CACHE / "ae/ds1"
    manifest = json.loads((d / "manifest.json").read_text())
    names = [r["record"] for r in manifest["records"]]
    if not set(names) <= set(DS1):
        raise SystemExit(f"{d}: expected DS1 records only")
    record = np.load(d / "record.npy").astype(np.int64)
    clean = (np.load(d / "noisy_annotated.npy") == 0) & (np.load(d / "noisy_added.npy") == 0)
    keep = clean & (np.array([n != "118" for n in names])[record])
    perm = rng.permutation(np.flatnonzero(keep))
    segments = np.load(d / "segments.npy")
    seg, check = (segments[np.sort(perm[s])].astype(np.float32)[:, None, :] for s in (slice(0, rows), slice(rows, 2 * rows)))
    return {"segment": seg}, {"segment": check}, {"sources": ["mitdb DS1 clean segments, 118 left out"], "rows": rows}


WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def input_preprocessing_nodes(path: Path) -> list[str]:
    """Names of the nodes that only transform raw inputs before any weighted op (e.g. the rhythm model's
    feature scaler: clip, log, standardise): they stay float. Quantising them puts inputs of very
    different ranges (a beat count up to ~30 beside fractions in [0, 1]) on one int8 scale."""
    g = onnx.load(str(path)).graph
    raw = {i.name for i in g.input} | {t.name for t in g.initializer}
    pre: list[str] = []
    for node in g.node:  # topological order
        if node.op_type == "Constant":
            raw.update(node.output)
        elif node.op_type not in WEIGHTED_OPS and all(not i or i in raw for i in node.input):
            pre.append(node.name)
            raw.update(node.output)
    return pre


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def agreement(fp32: Path, int8: Path, feeds: dict[str, np.ndarray]) -> dict:
    """int8 vs fp32 on check rows (training-side data, not the calibration rows): argmax agreement for
    classifiers, and the largest and mean |difference| of the outputs."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    a = ort.InferenceSession(str(fp32), opts, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    b = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    d = np.abs(a - b)
    out = {"rows": int(a.shape[0]), "maxAbsDiff": float(d.max()), "meanAbsDiff": float(d.mean())}
    if a.ndim == 2:
        out["argmaxAgreement"] = float((a.argmax(1) == b.argmax(1)).mean())
    return out


def golden_max_diff(fp32: Path, int8: Path, golden: Path) -> float | None:
    """Largest |int8 − fp32| output on the committed golden inputs (None when there is no golden file)."""
    if not golden.exists():
        return None
    g = json.loads(golden.read_text())
    inputs = g.get("inputs")
    if not isinstance(inputs, dict):
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    a = ort.InferenceSession(str(fp32), opts, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in a.get_inputs():
        v = inputs[i.name]
        arr = np.asarray(v["data"] if isinstance(v, dict) else v, dtype=np.float32)
        dims = v.get("shape") if isinstance(v, dict) else None
        feeds[i.name] = arr.reshape(dims) if dims else arr
    return float(max(np.abs(x - y).max() for x, y in zip(a.run(None, feeds), b.run(None, feeds))))


def write_golden(int8: Path, fp32_golden: Path, out: Path) -> None:
    """Golden vectors of the int8 model: the fp32 model's golden inputs and ONNX Runtime's int8 outputs
    (PyTorch cannot run the quantised graph), for test/inference/model/golden.test.ts."""
    if not fp32_golden.exists():
        return
    g = json.loads(fp32_golden.read_text())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    feeds = {k: np.asarray(v["data"], np.float32).reshape(v["shape"]) for k, v in g["inputs"].items()}
    outputs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    g["model"] = int8.name
    g["note"] = (g.get("note", "") + f" Outputs of the int8 (QDQ) model from onnxruntime {ort.__version__} on the CPU "
                 "(training/quantize/quantize.py), not PyTorch.").strip()
    g["outputs"] = {k: {"shape": list(v.shape), "data": [float(x) for x in v.ravel()]} for k, v in outputs.items()}
    out.write_text(json.dumps(g) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(REPO / "models"), help="the fp32 models dir (shipped.json)")
    ap.add_argument("--out", default=str(CACHE / "quant/models-int8"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--beat-rows", type=int, default=4000, help="half from each beat source")
    ap.add_argument("--beat-sources", default="DS1-detected-2lead,svdb-dev-detected-2lead")
    ap.add_argument("--rhythm-rows", type=int, default=600)
    ap.add_argument("--ae-rows", type=int, default=2000)
    ap.add_argument("--ops", choices=["all", "matmul"], default="all",
                    help="all: every operator quantize_static supports; matmul: only Conv, ConvTranspose, Gemm, MatMul")
    ap.add_argument("--keep-input-float", choices=["true", "false"], default="true",
                    help="leave the nodes that preprocess raw inputs before any weighted op in float")
    ap.add_argument("--activations", choices=["int8", "uint8"], default="uint8",
                    help="uint8 (U8S8): every Conv/Add fuses into QLinearConv/QLinearAdd on x86; int8 (S8S8) leaves some in float")
    ap.add_argument("--reduce-range", choices=["true", "false"], default="true",
                    help="7-bit weights: avoids the int16 saturation of AVX2's VPMADDUBSW (see training/README.md)")
    args = ap.parse_args()

    src, out = Path(args.models), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = CACHE / "quant/work"
    work.mkdir(parents=True, exist_ok=True)
    shipped = json.loads((src / "shipped.json").read_text())
    # the rest of a models dir (thresholds, labels, finding calibration), so loadEngine() accepts it
    for f in src.iterdir():
        if f.suffix == ".json" and not f.name.endswith((".manifest.json", ".golden.json")):
            shutil.copyfile(f, out / f.name)
    act = QuantType.QInt8 if args.activations == "int8" else QuantType.QUInt8
    ops = ["Conv", "ConvTranspose", "Gemm", "MatMul"] if args.ops == "matmul" else None
    settings = {"format": "QDQ", "activations": args.activations, "weights": "int8 per channel", "ops": args.ops, "reduceRange": args.reduce_range == "true", "keepInputFloat": args.keep_input_float == "true", "calibration": "MinMax", "seed": args.seed}
    report: dict = {"ort": ort.__version__, **settings, "models": {}}
    for role, model_id in shipped.items():
        rng = np.random.default_rng([args.seed, ["beat", "rhythm", "quality"].index(role)])
        if role == "beat":
            feeds, check, calib = beat_calibration(rng, args.beat_rows, [s for s in args.beat_sources.split(",") if s])
        elif role == "rhythm":
            feeds, check, calib = rhythm_calibration(rng, args.rhythm_rows)
        else:
            feeds, check, calib = ae_calibration(rng, args.ae_rows)
        # a shipped int8 model names its fp32 source (kept in models/ as <id>-fp32): quantise that again
        shipped_manifest = json.loads((src / f"{model_id}.manifest.json").read_text())
        fp32_id = shipped_manifest.get("quantization", {}).get("fp32Model", model_id)
        manifest = json.loads((src / f"{fp32_id}.manifest.json").read_text())
        fp32 = src / manifest["file"]
        pre = work / f"{model_id}.pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        target = out / f"{model_id}.onnx"
        quantize_static(
            str(pre),
            str(target),
            ArrayReader(feeds),
            quant_format=QuantFormat.QDQ,
            activation_type=act,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=ops,
            reduce_range=args.reduce_range == "true",
            nodes_to_exclude=input_preprocessing_nodes(pre) if args.keep_input_float == "true" else [],
            extra_options={"CalibIntraOpNumThreads": 1},
        )
        digest = sha256(target)
        manifest.pop("note", None)  # the fp32 source's own note
        manifest.update(
            id=model_id,
            version=f"{manifest['version']}+int8",
            file=target.name,
            sha256=digest,
            quantization={**settings, "calibrationData": calib, "fp32Model": fp32_id, "fp32Sha256": manifest["sha256"], "script": "training/quantize/quantize.py"},
        )
        if "onnx" in manifest:
            manifest["onnx"] = {**manifest["onnx"], "bytes": target.stat().st_size}
        (out / f"{model_id}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        diff = golden_max_diff(fp32, target, src / f"{fp32_id}.golden.json")
        write_golden(target, src / f"{fp32_id}.golden.json", out / f"{model_id}.golden.json")
        agree = agreement(fp32, target, check)
        report["models"][model_id] = {
            "role": role,
            "fp32": {"bytes": fp32.stat().st_size, "sha256": sha256(fp32)},
            "int8": {"bytes": target.stat().st_size, "sha256": digest},
            "flopsPerRow": count_flops(str(fp32))["flops_per_row"],
            "calibration": calib,
            "goldenMaxAbsDiff": diff,
            "check": agree,
        }
        print(f"{role} {model_id}: {fp32.stat().st_size} → {target.stat().st_size} bytes, sha256 {digest[:16]}…, "
              f"calibration {calib['rows']} rows, golden max |int8 − fp32| {diff:.4g}; check rows: {agree}", flush=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
