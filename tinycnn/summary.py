"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""
from __future__ import annotations

from .layers.base import shape_str

WIDTHS = (33, 26, 12)  # Layer (type), Output Shape, Param #


def print_summary(model, print_fn=print) -> None:
    """Print the table of ``model``'s layers and the parameter totals, as Keras does."""
    rule = "_" * sum(WIDTHS)
    print_fn(f'Model: "{model.name}"')
    print_fn(rule)
    print_fn(f"{'Layer (type)':<{WIDTHS[0]}}{'Output Shape':<{WIDTHS[1]}}{'Param #':>{WIDTHS[2]}}")
    print_fn("=" * sum(WIDTHS))
    for layer in model.layers:
        name = f"{layer.name} ({type(layer).__name__})"
        print_fn(f"{name:<{WIDTHS[0]}}{shape_str(layer.output_shape):<{WIDTHS[1]}}"
                 f"{layer.count_params():>{WIDTHS[2]},}")
    print_fn("=" * sum(WIDTHS))
    total = model.count_params()
    trainable = sum(w.size for w in model.trainable_weights)
    print_fn(f"Total params: {total:,} ({readable_bytes(total * 4)})")
    print_fn(f"Trainable params: {trainable:,} ({readable_bytes(trainable * 4)})")
    print_fn(f"Non-trainable params: {total - trainable:,} ({readable_bytes((total - trainable) * 4)})")
    print_fn(rule)


def readable_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
