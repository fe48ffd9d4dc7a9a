"""FLOPs per row of an ONNX graph, counted from the graph itself (issue #14 item 4).

    /usr/bin/python3 training/quantize/onnx_flops.py models/beat-cnn.onnx [more.onnx ...]

prints one JSON object per file: {"file", "flops_per_row", "macs_per_row", "by_op": {op: MACs}, "nodes"}.

FLOPs = 2 x multiply-accumulates of every Conv, ConvTranspose, Gemm and MatMul (bias additions, activations,
pooling and normalisation are not counted, as in the usual convention). The shapes come from ONNX's own
shape inference (`onnx.shape_inference.infer_shapes`) with the batch dimension left symbolic, so every
count is per row: the product of a node's non-batch output dims times the size of one output element's
dot product, read from the weight's shape (an initializer, or in a QDQ graph the DequantizeLinear output
that feeds the node, which shape inference also knows). Python rather than TypeScript because ONNX's shape
inference is the reference implementation of every operator's output shape; re-deriving strides, padding,
dilations and pooling in TypeScript would be a second, untested copy of it. Works with Debian's onnx 1.12
(`/usr/bin/python3`) and with the quantisation venv's onnx.
"""
from __future__ import annotations

import json
import sys
from math import prod

import onnx
from onnx import shape_inference


def _shapes(model: onnx.ModelProto) -> dict[str, list[int | str]]:
    inferred = shape_inference.infer_shapes(model, strict_mode=False)
    g = inferred.graph
    out: dict[str, list[int | str]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
    for init in g.initializer:
        out[init.name] = list(init.dims)
    for node in g.node:  # Constant nodes carry their tensor as an attribute
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = list(a.t.dims)
    return out


def _per_row(shape: list[int | str], what: str) -> int:
    """Product of the non-batch dims (the first dim is the batch); every one must be known."""
    rest = shape[1:]
    if not all(isinstance(d, int) and d > 0 for d in rest):
        raise ValueError(f"{what}: shape {shape} has unknown non-batch dims")
    return prod(rest)  # type: ignore[arg-type]


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def count(path: str) -> dict:
    model = onnx.load(path)
    shapes = _shapes(model)
    by_op: dict[str, int] = {}
    nodes = 0
    for node in model.graph.node:
        op = node.op_type
        if op not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            continue
        label = f"{op} {node.name or node.output[0]}"
        w = shapes.get(node.input[1])
        if w is None:
            raise ValueError(f"{label}: shape of {node.input[1]} unknown")
        if op == "Conv":
            # each output element: Cin/group x kernel MACs = prod(weight dims after Cout)
            macs = _per_row(shapes[node.output[0]], label) * prod(w[1:])
        elif op == "ConvTranspose":
            # each input element is scattered into Cout/group x kernel outputs = prod(weight dims after Cin)
            macs = _per_row(shapes[node.input[0]], label) * prod(w[1:])
        elif op == "Gemm":
            k = w[1] if _attr(node, "transB", 0) else w[0]
            macs = _per_row(shapes[node.output[0]], label) * k
        else:  # MatMul: K is the last dim of A
            a = shapes[node.input[0]]
            macs = _per_row(shapes[node.output[0]], label) * int(a[-1])
        by_op[op] = by_op.get(op, 0) + int(macs)
        nodes += 1
    macs = sum(by_op.values())
    return {"file": path, "flops_per_row": 2 * macs, "macs_per_row": macs, "by_op": by_op, "nodes": nodes}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for p in sys.argv[1:]:
        print(json.dumps(count(p)))
