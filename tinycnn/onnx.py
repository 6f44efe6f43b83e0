"""Export a model to ONNX, to run it elsewhere (onnxruntime, a phone, a browser, C++).

``tinycnn.onnx.export(model, "model.onnx")`` (or ``model.export(...)``) writes an inference
graph that takes the same NHWC float32 batches as ``model.predict``, with a dynamic batch
axis, and returns the same outputs. Needs ``pip install 'tinycnn[onnx]'`` (onnx; onnxruntime
to run the file).

ONNX's convolutions and poolings work on NCHW tensors, so the graph transposes each image
input once (NHWC -> NCHW) and keeps images in NCHW from there: kernels are written as
``(out, in, kh, kw)``, TensorFlow's asymmetric 'same' padding as explicit pads
``[top, left, bottom, right]``, a channel axis of ``Concatenate`` becomes axis 1. Where an
NCHW image is flattened, the values come out in C, H, W order, not tinycnn's H, W, C, so the
rows of the ``Dense`` that reads them are permuted to match (anything else that reads a
flattened image gets the H, W, C order back with one ``Gather``). An image that is itself a
model output is transposed back to NHWC. Dropout is the identity in inference and writes
no node. Every node is named after the tinycnn layer it comes from, and its doc string says
which layer that is.

Layers: InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
GlobalMaxPooling2D, Dense, Flatten, Activation / ReLU, BatchNormalization (its epsilon
written explicitly), Dropout, and the merge layers Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate. Any other layer is refused, naming it.
"""
from __future__ import annotations

import numpy as np

from . import files, graph
from .kernels.geometry import window_geometry

NHWC_TO_NCHW, NCHW_TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]
ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}
ELEMENTWISE = {"Add": "Sum", "Multiply": "Mul", "Subtract": "Sub", "Average": "Mean", "Maximum": "Max",
               "Minimum": "Min"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install 'tinycnn[onnx]'") from None
    return onnx


class _Graph:
    """The nodes and weights being written, and the layout of every tensor so far: "image"
    (NCHW), "flat" (an NCHW image flattened: C, H, W order, with the image's (H, W, C)) or
    "plain" (tinycnn's own order)."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.weights, self.layout, self.flat_of = [], [], {}, {}

    def node(self, op, inputs, output, layer, **attributes):
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, doc_string=(
            f"tinycnn layer {layer.name!r} ({type(layer).__name__})"), **attributes))
        return output

    def weight(self, name, array, dtype=np.float32):
        self.weights.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array, dtype), name))
        return name

    def plain(self, name, layer):
        """``name`` in tinycnn's order (H, W, C values back in place for a flattened image)."""
        if self.layout.get(name) != "flat":
            return name
        if f"{name}/hwc" in self.layout:  # made once, read by several layers
            return f"{name}/hwc"
        h, w, c = self.flat_of[name]
        order = np.arange(h * w * c).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)  # (h, w, c) -> its CHW index
        index = self.weight(f"{name}/hwc_order", order, np.int64)
        out = self.node("Gather", [name, index], f"{name}/hwc", layer, axis=1)
        self.layout[out] = "plain"
        return out


def export(model, path, opset=17) -> None:
    """Write ``model`` (built; Sequential or functional) as an ONNX file at ``path``
    (atomically), checked with ``onnx.checker``."""
    onnx = _onnx()
    model._require_built("export")
    g = _Graph(onnx)
    names, calls = {}, graph.node_indices(model.nodes)
    for node in model.nodes:
        call = node.layer.name + (f"_{calls[id(node)]}" if calls[id(node)] else "")  # a shared layer's later calls
        names[id(node.outputs[0])] = _convert(g, node.layer, [names[id(t)] for t in node.inputs], call)
    helper = onnx.helper
    graph_inputs = [helper.make_tensor_value_info(t.node.layer.name, onnx.TensorProto.FLOAT, ["N", *t.shape[1:]])
                    for t in model.inputs]
    outputs = []
    for t in model.outputs:
        name = names[id(t)]
        if g.layout[name] == "image":
            name = g.node("Transpose", [name], f"{t.node.layer.name}/nhwc", t.node.layer, perm=NCHW_TO_NHWC)
        name = g.plain(name, t.node.layer)
        final = f"output_{len(outputs)}" if len(model.outputs) > 1 else "output"
        g.node("Identity", [name], final, t.node.layer)
        outputs.append(helper.make_tensor_value_info(final, onnx.TensorProto.FLOAT, ["N", *t.shape[1:]]))
    onnx_graph = helper.make_graph(g.nodes, model.name, graph_inputs, outputs, initializer=g.weights,
                              doc_string=f"exported by tinycnn from model {model.name!r}")
    ir = min(row[1] for row in helper.VERSION_TABLE if row[2] == opset)  # the oldest IR with this opset
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir,
                              producer_name="tinycnn", doc_string="NHWC float32 input, as model.predict")
    onnx.checker.check_model(proto)
    with files.atomic_write(path) as tmp:
        onnx.save(proto, tmp)


def _convert(g: _Graph, layer, inputs, name) -> str:
    """Write the nodes of one call of ``layer`` (named ``name`` in the graph); return the
    name of its output."""
    kind = type(layer).__name__
    if kind == "InputLayer":
        if len(layer.requested_input_shape) == 4:
            out = g.node("Transpose", [name], f"{name}/nchw", layer, perm=NHWC_TO_NCHW)
            g.layout[out] = "image"
            return out
        g.layout[name] = "plain"
        return name
    x = inputs[0] if len(inputs) == 1 else None
    if kind == "Dropout":
        return x
    if kind == "Conv2D":
        kernel = layer.get_weights()[0].transpose(3, 2, 0, 1)
        weights = [g.weight(f"{name}/kernel", kernel)]
        if layer.use_bias:
            weights.append(g.weight(f"{name}/bias", layer.get_weights()[1]))
        out = g.node("Conv", [x, *weights], f"{name}/conv", layer, kernel_shape=list(layer.kernel_size),
                     strides=list(layer.strides), pads=_pads(layer.input_shape, layer.kernel_size,
                                                             layer.strides, layer.padding))
        g.layout[out] = "image"
        return _activation(g, layer, out, layer.activation_name, name)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        out = g.node("MaxPool" if kind == "MaxPooling2D" else "AveragePool", [x], name, layer,
                     kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                     pads=_pads(layer.input_shape, layer.pool_size, layer.strides, layer.padding))
        g.layout[out] = "image"
        return out
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        pooled = g.node("GlobalAveragePool" if "Average" in kind else "GlobalMaxPool", [x], f"{name}/pool", layer)
        out = g.node("Flatten", [pooled], name, layer, axis=1)
        g.layout[out] = "plain"
        return out
    if kind == "Flatten":
        out = g.node("Flatten", [x], name, layer, axis=1)
        g.layout[out] = "flat" if g.layout[x] == "image" else "plain"
        if g.layout[out] == "flat":
            g.flat_of[out] = tuple(layer.input_shape[1:])
        return out
    if kind == "Dense":
        if len(layer.input_shape) != 2:
            raise ValueError(f'export: layer "{name}" (Dense) reads a {len(layer.input_shape)}-D tensor; '
                             "ONNX export supports Dense on (batch, features) only: add a Flatten before it")
        kernel, *bias = layer.get_weights()
        if g.layout[x] == "flat":  # rows in C, H, W order, as the NCHW image was flattened
            h, w, c = g.flat_of[x]
            kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
        weights = [g.weight(f"{name}/kernel", kernel)] + ([g.weight(f"{name}/bias", bias[0])] if bias else [])
        out = g.node("Gemm", [x, *weights], f"{name}/gemm", layer)
        g.layout[out] = "plain"
        return _activation(g, layer, out, layer.activation_name, name)
    if kind == "Activation":
        return _activation(g, layer, g.plain(x, layer), layer.activation_name, name)
    if kind == "ReLU":
        if layer.max_value is not None and layer.negative_slope:
            raise ValueError(f'export: layer "{name}" (ReLU) with both max_value and negative_slope has no '
                             "single ONNX operator")
        if layer.negative_slope:
            out = g.node("LeakyRelu", [x], name, layer, alpha=layer.negative_slope)
        elif layer.max_value is not None:
            bounds = [g.weight(f"{name}/min", np.float32(0)), g.weight(f"{name}/max", np.float32(layer.max_value))]
            out = g.node("Clip", [x, *bounds], name, layer)
        else:
            out = g.node("Relu", [x], name, layer)
        g.layout[out], g.flat_of[out] = g.layout[x], g.flat_of.get(x)
        return out
    if kind == "Rescaling":
        out = g.node("Mul", [x, g.weight(f"{name}/scale", np.float32(layer.scale))],
                     f"{name}/scaled" if layer.offset else name, layer)
        if layer.offset:
            out = g.node("Add", [out, g.weight(f"{name}/offset", np.float32(layer.offset))], name, layer)
        g.layout[out], g.flat_of[out] = g.layout[x], g.flat_of.get(x)
        return out
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = _batch_norm_arrays(layer)
        x = g.plain(x, layer)
        arrays = [g.weight(f"{name}/{part}", value) for part, value in
                  zip(("gamma", "beta", "moving_mean", "moving_variance"), (gamma, beta, mean, variance))]
        out = g.node("BatchNormalization", [x, *arrays], name, layer, epsilon=layer.epsilon)
        g.layout[out] = g.layout[x]
        return out
    if kind in ELEMENTWISE or kind == "Concatenate":
        layouts = {g.layout[i] for i in inputs}
        if "flat" in layouts:
            inputs = [g.plain(i, layer) for i in inputs]
            layouts = {g.layout[i] for i in inputs}
        if len(layouts) > 1:
            raise ValueError(f'export: layer "{name}" ({kind}) merges images and other tensors')
        if kind == "Concatenate":
            rank = len(layer.output_shape)
            axis = layer.axis % rank
            if layouts == {"image"}:
                axis = NHWC_TO_NCHW.index(axis)
            out = g.node("Concat", inputs, name, layer, axis=axis)
        else:
            out = g.node(ELEMENTWISE[kind], inputs, name, layer)
        g.layout[out] = layouts.pop()
        return out
    raise ValueError(f'export: layer "{name}" ({kind}) cannot be exported to ONNX; exportable layers: '
                     "InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, "
                     "GlobalMaxPooling2D, Dense, Flatten, Activation, ReLU, Rescaling, BatchNormalization, Dropout, Add, "
                     "Subtract, Multiply, Average, Maximum, Minimum, Concatenate")


def _batch_norm_arrays(layer) -> tuple:
    channels = layer.moving_mean.shape[0]
    gamma = layer.gamma.data if layer.gamma is not None else np.ones(channels, np.float32)
    beta = layer.beta.data if layer.beta is not None else np.zeros(channels, np.float32)
    return gamma, beta, layer.moving_mean.data, layer.moving_variance.data


def _pads(input_shape, window, strides, padding) -> list:
    """ONNX's ``[top, left, bottom, right]`` for TensorFlow's 'valid' or 'same' padding."""
    (_, top, bottom), (_, left, right) = (window_geometry(n, k, s, padding)
                                          for n, k, s in zip(input_shape[1:3], window, strides))
    return [top, left, bottom, right]


def _activation(g: _Graph, layer, x, activation: str, name: str) -> str:
    """The node of a layer's activation (none for linear), named ``name``; softmax over
    the channels."""
    if activation == "linear":
        g.layout.setdefault(x, "plain")
        return x
    if activation == "gelu":  # opset 17 has no Gelu: x * (1 + erf(x / sqrt 2)) / 2, in five nodes
        scaled = g.node("Mul", [x, g.weight(f"{name}/inv_sqrt2", np.float32(0.7071067811865476))],
                        f"{name}/scaled", layer)
        erf = g.node("Erf", [scaled], f"{name}/erf", layer)
        cdf = g.node("Add", [erf, g.weight(f"{name}/one", np.float32(1.0))], f"{name}/one_plus_erf", layer)
        half = g.node("Mul", [x, g.weight(f"{name}/half", np.float32(0.5))], f"{name}/half_x", layer)
        out = g.node("Mul", [half, cdf], name, layer)
        g.layout[out] = g.layout[x]
        return out
    if activation not in ACTIVATIONS:
        raise ValueError(f'export: layer "{layer.name}" has activation {activation!r}, which the ONNX export '
                         f"does not write; supported: linear, gelu, {', '.join(ACTIVATIONS)}")
    attributes = {"axis": 1 if g.layout[x] == "image" else -1} if activation == "softmax" else {}
    out = g.node(ACTIVATIONS[activation], [x], name, layer, **attributes)
    g.layout[out] = g.layout[x]
    return out
