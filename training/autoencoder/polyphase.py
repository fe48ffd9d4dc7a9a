"""Rewrite each stride-2 ConvTranspose of an ONNX graph as two stride-1 Convs (its even and odd output
phases) whose outputs are interleaved: the same function, computed without the zero-inserted columns that
onnxruntime's CPU ConvTranspose (col2im) spends most of its time on.

For ConvTranspose1d with kernel 4, stride 2, pads (1, 1), weight W[ci, co, k] and output y[o] =
sum_i sum_k x[i] W[., ., k] over o = 2i - 1 + k:
  y[2m]     = W[., ., 3] x[m - 1] + W[., ., 1] x[m]       (a kernel-2 Conv, pads (1, 0))
  y[2m + 1] = W[., ., 2] x[m]     + W[., ., 0] x[m + 1]   (a kernel-2 Conv, pads (0, 1))
then y = interleave(even, odd) along time (Unsqueeze, Concat on a new last axis, Reshape). Only that
configuration (kernel 4, stride 2, pads 1, group 1, no dilation, no output_padding) is rewritten; any other
ConvTranspose is an error, so nothing is rewritten on a guess.

Usage: /usr/bin/python3 training/autoencoder/polyphase.py <in.onnx> <out.onnx>
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def rewrite(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    new_inits = []
    for n in g.node:
        if n.op_type != "ConvTranspose":
            nodes.append(n)
            continue
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        if (list(a.get("kernel_shape", [])) != [4] or list(a.get("strides", [1])) != [2]
                or list(a.get("pads", [0, 0])) != [1, 1] or a.get("group", 1) != 1
                or list(a.get("dilations", [1])) != [1] or any(a.get("output_padding", [0]))):
            raise SystemExit(f"{n.name}: ConvTranspose {a} is not the kernel-4 stride-2 form this rewrites")
        w = numpy_helper.to_array(inits[n.input[1]])  # [ci, co, 4]
        wt = np.transpose(w, (1, 0, 2))  # [co, ci, 4]
        even = np.ascontiguousarray(wt[:, :, [3, 1]])
        odd = np.ascontiguousarray(wt[:, :, [2, 0]])
        base = n.name or n.output[0]
        we, wo = f"{base}.even.weight", f"{base}.odd.weight"
        new_inits += [numpy_helper.from_array(even.astype(np.float32), we), numpy_helper.from_array(odd.astype(np.float32), wo)]
        bias = [n.input[2]] if len(n.input) > 2 and n.input[2] else []
        ye, yo = f"{base}.even", f"{base}.odd"
        nodes.append(helper.make_node("Conv", [n.input[0], we, *bias], [ye], kernel_shape=[2], pads=[1, 0], strides=[1], name=ye))
        nodes.append(helper.make_node("Conv", [n.input[0], wo, *bias], [yo], kernel_shape=[2], pads=[0, 1], strides=[1], name=yo))
        axes = f"{base}.axes"
        shape = f"{base}.shape"
        new_inits += [numpy_helper.from_array(np.array([3], dtype=np.int64), axes),
                      numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), shape)]
        nodes.append(helper.make_node("Unsqueeze", [ye, axes], [f"{ye}.u"], name=f"{ye}.u"))
        nodes.append(helper.make_node("Unsqueeze", [yo, axes], [f"{yo}.u"], name=f"{yo}.u"))
        nodes.append(helper.make_node("Concat", [f"{ye}.u", f"{yo}.u"], [f"{base}.pairs"], axis=3, name=f"{base}.pairs"))
        nodes.append(helper.make_node("Reshape", [f"{base}.pairs", shape], [n.output[0]], name=f"{base}.interleave"))
    used = {i for n in nodes for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    m = rewrite(onnx.load(sys.argv[1]))
    onnx.save(m, sys.argv[2])
