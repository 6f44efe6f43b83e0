"""Symbolic tensors and nodes: the graph a functional model is made of (Keras's functional API).

``x = Input(shape=(32, 32, 3))`` is a :class:`SymbolicTensor`: a shape (batch axis ``None``)
and the :class:`Node` that made it, no values. Calling a layer on symbolic tensors runs no
computation: the layer builds for their shapes and records a Node ``(layer, inputs,
outputs)``, and the output it returns is symbolic too. ``Model(inputs, outputs)`` then walks
the nodes back from ``outputs`` to ``inputs`` (:func:`nodes_between`), and the execution plan
runs them (:mod:`tinycnn.plan`)::

    x = Input(shape=(8, 8, 3))            # Node(InputLayer, inputs=[], outputs=[x])
    h = Conv2D(3, 3, padding="same")(x)   # Node(conv2d, inputs=[x], outputs=[h])
    y = Add()([x, h])                     # Node(add, inputs=[x, h], outputs=[y])  (shapes must match)
"""
from __future__ import annotations

from .utils import unique_name


class SymbolicTensor:
    """A placeholder for the values a layer will produce: shape (batch axis ``None``) and
    the node that produces it (``Keras``'s ``KerasTensor``)."""

    def __init__(self, shape, dtype, node=None, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.name = name or unique_name("keras_tensor")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        shape = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"<SymbolicTensor shape=({shape}), name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic (from Input or a layer called on Input): it has no "
                        "values; build a Model(inputs, outputs) and call model.predict(x) for values")


class Node:
    """One call of ``layer`` in a graph: the symbolic tensors it read and wrote."""

    def __init__(self, layer, inputs: list, outputs: list):
        self.layer, self.inputs, self.outputs = layer, inputs, outputs


def is_symbolic(x) -> bool:
    """Is ``x`` (or, for a list, any element of it) a symbolic tensor? Mixing symbolic and
    concrete values in one call is an error."""
    if isinstance(x, SymbolicTensor):
        return True
    if isinstance(x, (list, tuple)) and any(isinstance(t, SymbolicTensor) for t in x):
        if not all(isinstance(t, SymbolicTensor) for t in x):
            raise TypeError("a layer was called on a list mixing symbolic tensors (from Input) and "
                            "arrays; give it only symbolic tensors, or only arrays")
        return True
    return False


def call(layer, inputs) -> SymbolicTensor:
    """Record ``layer`` applied to ``inputs`` (a symbolic tensor or a list of them): build
    the layer for their shapes and return its symbolic output."""
    listed = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    shape = [t.shape for t in listed] if isinstance(inputs, (list, tuple)) else inputs.shape
    output = SymbolicTensor(layer.ensure_built(shape), layer.dtype)
    node = Node(layer, listed, [output])
    output.node = node
    layer._inbound_nodes.append(node)
    return output


def input_tensor(layer) -> SymbolicTensor:
    """The symbolic tensor an input layer stands for (its node reads nothing)."""
    layer.ensure_built(layer.requested_input_shape)
    tensor = SymbolicTensor(layer.requested_input_shape, layer.dtype, name=layer.name)
    tensor.node = Node(layer, [], [tensor])
    layer._inbound_nodes.append(tensor.node)
    return tensor


def input_of(layer) -> SymbolicTensor:
    """The tensor of an input layer: the one :func:`input_tensor` gave it, or a new one."""
    return layer.output if layer._inbound_nodes else input_tensor(layer)


def nodes_between(inputs: list, outputs: list) -> list:
    """The nodes that compute ``outputs`` from ``inputs``, in Keras's order: by depth (the
    longest path to an output), deepest first; nodes of equal depth in the order a
    depth-first walk back from the outputs finishes them. An output that needs a tensor
    the inputs do not give raises ValueError ("graph disconnected")."""
    given = {id(t) for t in inputs}
    finished, seen = [], set()

    def visit(tensor, consumer):
        node = tensor.node
        if id(node) in seen:
            return
        if not node.inputs and id(tensor) not in given:
            user = f'layer "{consumer.name}"' if consumer is not None else "the model's outputs"
            raise ValueError(f"Model: graph disconnected: {user} needs {tensor!r} (from "
                             f'"{node.layer.name}"), which is not one of the model\'s inputs '
                             f"{[t.name for t in inputs]}; pass it in inputs=[...]")
        seen.add(id(node))
        for parent in node.inputs:
            visit(parent, node.layer)
        finished.append(node)

    for tensor in outputs:
        visit(tensor, None)
    for tensor in inputs:
        if id(tensor.node) not in seen:
            seen.add(id(tensor.node))
            finished.insert(0, tensor.node)
    depth = {id(node): 0 for node in finished}
    for node in reversed(finished):  # consumers before producers
        for parent in node.inputs:
            depth[id(parent.node)] = max(depth[id(parent.node)], depth[id(node)] + 1)
    order = {id(node): i for i, node in enumerate(finished)}
    return sorted(finished, key=lambda node: (-depth[id(node)], order[id(node)]))


# ----- a graph as data (model configs), both ways -----------------------------------------------
def node_indices(nodes) -> dict:
    """``id(node)`` -> the node's index among the nodes of its layer in ``nodes`` (Keras's
    node index within a model: 0 unless a layer is called more than once)."""
    counts, index = {}, {}
    for node in nodes:
        index[id(node)] = counts.get(id(node.layer), 0)
        counts[id(node.layer)] = index[id(node)] + 1
    return index


def history(tensor, indices) -> list:
    """``[layer name, node index, tensor index]``: where ``tensor`` comes from."""
    return [tensor.node.layer.name, indices[id(tensor.node)], 0]


def describe(inputs, outputs, nodes, entry=None, call=None) -> dict:
    """The graph as a config: per layer ``entry(layer)`` (by default its class and config)
    with its ``inbound_nodes``, one ``call(node, refs)`` per call (by default ``refs``, the
    :func:`history` of every tensor the call read), and the model's input and output
    tensors as their histories."""
    entry = entry or (lambda layer: {"class_name": type(layer).__name__, "config": layer.get_config()})
    call = call or (lambda node, refs: refs)
    indices, entries = node_indices(nodes), {}
    for node in nodes:
        if id(node.layer) not in entries:
            entries[id(node.layer)] = {**entry(node.layer), "inbound_nodes": []}
        if node.inputs:
            entries[id(node.layer)]["inbound_nodes"].append(call(node, [history(t, indices) for t in node.inputs]))
    return {"layers": list(entries.values()), "input_layers": [history(t, indices) for t in inputs],
            "output_layers": [history(t, indices) for t in outputs]}


def rebuild(made: dict, input_layers, output_layers) -> tuple:
    """``(inputs, outputs)`` of the graph a config describes, each one tensor where the
    config names one, else a list: ``made`` maps each layer's name to ``(layer,
    inbound_nodes)`` (as :func:`describe` writes them); a layer without inbound nodes is an
    input layer. Calls run as soon as the tensors they read exist, so the config's order of
    layers does not matter."""
    tensors, pending = {}, []
    for name, (layer, inbound) in made.items():
        if not inbound:
            tensors[(name, 0)] = input_of(layer)
        pending += [(name, k, refs) for k, refs in enumerate(inbound)]
    while pending:
        ready = [item for item in pending if all((r[0], r[1]) in tensors for r in item[2])]
        if not ready:
            name, _, refs = pending[0]
            missing = [r[0] for r in refs if (r[0], r[1]) not in tensors]
            raise ValueError(f"the model config is inconsistent: layer {name!r} reads {missing}, which "
                             "no layer of the config makes")
        for name, k, refs in ready:
            read = [tensors[(r[0], r[1])] for r in refs]
            tensors[(name, k)] = made[name][0](read[0] if len(read) == 1 else read)
        pending = [item for item in pending if item not in ready]
    try:
        ends = [[tensors[(r[0], r[1])] for r in refs] for refs in (input_layers, output_layers)]
    except KeyError as missing:
        raise ValueError(f"the model config names an input or output {missing.args[0]} that no layer "
                         "makes") from None
    return tuple(found[0] if len(found) == 1 else found for found in ends)
