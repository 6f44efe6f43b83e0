"""``model.summary()``: Keras's table of layers, output shapes and parameter counts.

A model whose graph branches (a merge layer, a tensor read twice, a shared layer, several
inputs) gets Keras's fourth column, "Connected to": for each layer the tensors it reads,
written ``layer[node index][tensor index]``, one per line.
"""
from __future__ import annotations

from . import graph
from .layers.base import shape_str

WIDTHS = (33, 26, 12)  # Layer (type), Output Shape, Param #
CONNECTED_WIDTH = 30


def print_summary(model, print_fn=print) -> None:
    """Print the table of ``model``'s layers and the parameter totals, as Keras does."""
    connections = None if _sequential_like(model) else _connections(model)
    widths = WIDTHS + ((CONNECTED_WIDTH,) if connections is not None else ())
    rule = "_" * sum(widths)
    print_fn(f'Model: "{model.name}"')
    print_fn(rule)
    header = f"{'Layer (type)':<{WIDTHS[0]}}{'Output Shape':<{WIDTHS[1]}}{'Param #':>{WIDTHS[2]}}"
    print_fn(header + ("  Connected to" if connections is not None else ""))
    print_fn("=" * sum(widths))
    for layer in model.layers:
        name = f"{layer.name} ({type(layer).__name__})"
        row = f"{name:<{WIDTHS[0]}}{shape_str(layer.output_shape):<{WIDTHS[1]}}{layer.count_params():>{WIDTHS[2]},}"
        if connections is None:
            print_fn(row)
            continue
        reads = connections[id(layer)] or ["-"]
        print_fn(f"{row}  {reads[0]}")
        for more in reads[1:]:
            print_fn(" " * sum(WIDTHS) + f"  {more}")
    print_fn("=" * sum(widths))
    total = model.count_params()
    trainable = sum(w.size for w in model.trainable_weights)
    print_fn(f"Total params: {total:,} ({readable_bytes(total * 4)})")
    print_fn(f"Trainable params: {trainable:,} ({readable_bytes(trainable * 4)})")
    print_fn(f"Non-trainable params: {total - trainable:,} ({readable_bytes((total - trainable) * 4)})")
    print_fn(rule)


def _sequential_like(model) -> bool:
    """Keras's test for the three-column table: one input, and the nodes form one chain
    (no node reads several tensors, no tensor is read twice, no layer is called twice)."""
    nodes = model.nodes
    read = [id(t) for node in nodes for t in node.inputs]
    return (len(model.inputs) == 1 and all(len(node.inputs) <= 1 for node in nodes)
            and len(read) == len(set(read)) and len({id(node.layer) for node in nodes}) == len(nodes))


def _connections(model) -> dict:
    """``id(layer)`` -> the ``name[node][tensor]`` of every tensor its calls read."""
    indices = graph.node_indices(model.nodes)
    found = {id(layer): [] for layer in model.layers}
    for node in model.nodes:
        found[id(node.layer)] += ["{}[{}][{}]".format(*graph.history(t, indices)) for t in node.inputs]
    return found


def readable_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
