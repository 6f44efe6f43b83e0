"""The execution plan: how a list of layers runs, fusions included.

Layers are plain Keras layers (``build``, ``call``); none of them knows about its
neighbours. This module alone decides which neighbouring layers run as one step, and it is
where a model's arrays cross to the kernel tier's device: batches in, outputs out, the
weights once per tier change (:func:`for_model`).

=========================  =========================================  ============================
fusion                     when                                       runs as, and why
=========================  =========================================  ============================
conv + relu                a ``Conv2D(activation='relu')``, or a      ``F.conv2d(..., relu=True)``:
                           ``Conv2D`` without activation followed by  the relu is applied as the
                           ``Activation('relu')``                     kernel writes its outputs
conv (+ relu) + max-pool   then a ``MaxPooling2D`` with 2x2 windows,  ``F.conv2d(..., pool=True)``:
                           stride 2, 'valid' padding                  in inference the kernel
                                                                      pools in registers and
                                                                      never writes the full
                                                                      output
layer + Activation         a ``Dense`` (or ``Conv2D``) without        ``activation(pre_activation
                           activation followed by an ``Activation``   (x))``: the same values; a
                                                                      final softmax then shows its
                                                                      logits to the loss
softmax + cross-entropy    the last step ends in a softmax and the    the loss from the logits
                           loss is a (sparse) categorical cross-      (``from_logits=True``): one
                           entropy on probabilities                   stable pass, no 1e-7 clip
=========================  =========================================  ============================

Every fusion gives the values and gradients of running the layers one after the other
(the softmax + cross-entropy one also where Keras's clip is inactive; where it is active the
fused loss is the exact, larger one). ``plan.FUSE = False`` runs every layer on its own, to
compare. ``model.plan()`` prints the plan; for the CIFAR-10 notebook's model_1 (``tinycnn.zoo``,
``seed001_model1``) it is::

    conv2d (Conv2D) + activation (Activation relu)
            ->  F.conv2d(relu=True)
    conv2d_1 (Conv2D) + activation_1 (Activation relu) + max_pooling2d (MaxPooling2D)
            ->  F.conv2d(relu=True, pool=True)
    dropout (Dropout)
            ->  call
    flatten (Flatten)
            ->  call
    dense (Dense) + activation_2 (Activation relu)
            ->  pre_activation, relu
    dropout_1 (Dropout)
            ->  call
    dense_1 (Dense) + activation_3 (Activation softmax)
            ->  pre_activation, softmax; with a cross-entropy loss, its logits go to the loss
"""
from __future__ import annotations

from typing import NamedTuple

from . import functional as F
from .autograd import no_grad
from .layers.convolutional import Conv2D
from .layers.core import Activation, WithActivation
from .layers.pooling import MaxPooling2D
from .losses import CategoricalCrossentropy, SparseCategoricalCrossentropy
from .ops import device
from .tensor import Tensor

FUSE = True  # False: every layer runs on its own (the unfused network, to compare)


class Step(NamedTuple):
    """One step of the plan: ``layer``, then the layers it applies itself (None if none):
    a following ``Activation`` and a following 2x2 max-pooling."""

    layer: object
    activation: object = None
    pool: object = None


def steps(layers) -> list:
    """The plan of ``layers``: a list of :class:`Step`, in order (see the module's table)."""
    if not FUSE:
        return [Step(layer) for layer in layers]
    plan = []
    for layer in layers:
        last = plan[-1] if plan else None
        if (last is not None and isinstance(layer, Activation) and last.activation is None
                and last.pool is None and isinstance(last.layer, WithActivation)
                and last.layer.activation_name == "linear"):
            plan[-1] = last._replace(activation=layer)
        elif last is not None and isinstance(last.layer, Conv2D) and last.pool is None and _halves(layer):
            plan[-1] = last._replace(pool=layer)
        else:
            plan.append(Step(layer))
    return plan


def _halves(layer) -> bool:
    """Is ``layer`` a max-pooling over 2x2 windows with stride 2 and no padding?"""
    return (isinstance(layer, MaxPooling2D) and layer.pool_size == (2, 2) and layer.strides == (2, 2)
            and layer.padding == "valid")


def _activation(step: Step) -> tuple:
    """(name, function) of the activation that ends the step's layer part."""
    owner = step.activation or step.layer
    return getattr(owner, "activation_name", "linear"), getattr(owner, "activation", None)


def _build(step: Step, shape) -> None:
    for layer in step:
        if layer is not None:
            shape = layer.ensure_built(shape)


def _fused_conv(step: Step) -> bool:
    return FUSE and isinstance(step.layer, Conv2D) and _activation(step)[0] in ("relu", "linear")


def run_step(step: Step, h: Tensor, training) -> Tensor:
    """Apply one step to ``h``."""
    if step.activation is None and step.pool is None and not _fused_conv(step):
        return step.layer(h, training=training)
    _build(step, h.shape)
    conv, (name, activation) = step.layer, _activation(step)
    if _fused_conv(step):
        return F.conv2d(h, conv.kernel, conv.bias, strides=conv.strides, padding=conv.padding,
                        relu=name == "relu", pool=step.pool is not None)
    h = activation(step.layer.pre_activation(h, training))
    return h if step.pool is None else step.pool(h, training=training)


def run_steps(steps, h, training, logits=False):
    """Apply ``steps`` to ``h`` one after the other; with ``logits``, the last step stops
    before its softmax (the softmax + cross-entropy fusion)."""
    for step in steps[:-1] if logits else steps:
        h = run_step(step, h, training)
    if logits:
        last = steps[-1]
        _build(last, h.shape)
        h = last.layer.pre_activation(h, training)
    return h


# ----- a graph of layers: chains of steps between branch points ---------------------------------
class Segment(NamedTuple):
    """A chain of steps: reads the tensors in ``inputs`` (slots), writes ``output``."""

    steps: list
    inputs: tuple
    output: int


class Program(NamedTuple):
    """A model's plan: its segments in an order that runs each after those it reads, and
    the slots of the model's inputs and outputs."""

    segments: list
    inputs: tuple
    outputs: tuple


def program(inputs, outputs, nodes) -> Program:
    """The plan of a graph (:mod:`tinycnn.graph`): ``nodes`` in running order, each a layer
    called on symbolic tensors. A node joins the chain that wrote its one input when that
    tensor has no other reader and is not an output of the model, so the fusions of
    :func:`steps` also apply inside the branches of a graph; every other node starts a new
    chain (a merge layer, the first layer after a fork). A Sequential model is one chain."""
    readers = {}
    for node in nodes:
        for tensor in node.inputs:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    results = {id(t) for t in outputs}
    chains, open_chain = [], {}  # chain: [layers, input slots, output slot]
    for node in nodes:
        if not node.inputs:  # an input layer: its tensor is given
            continue
        slot, out = id(node.inputs[0]), id(node.outputs[0])
        chain = open_chain.get(slot) if len(node.inputs) == 1 and readers[slot] == 1 \
            and slot not in results else None
        if chain is None:
            chain = [[], tuple(id(t) for t in node.inputs), out]
            chains.append(chain)
        chain[0].append(node.layer)
        chain[2] = out
        open_chain[out] = chain
    return Program([Segment(steps(layers), ins, out) for layers, ins, out in chains],
                   tuple(id(t) for t in inputs), tuple(id(t) for t in outputs))


def run(program: Program, inputs: list, training, logits=frozenset()) -> list:
    """The model's outputs (a list) for ``inputs`` (a list of Tensors, one per model input);
    the outputs whose slots are in ``logits`` stop before their final softmax."""
    values = dict(zip(program.inputs, inputs))
    for segment in program.segments:
        h = [values[slot] for slot in segment.inputs]
        values[segment.output] = run_steps(segment.steps, h[0] if len(h) == 1 else h, training,
                                           segment.output in logits)
    return [values[slot] for slot in program.outputs]


def logit_loss(loss):
    """The loss that, given logits, equals ``loss`` of their softmax: the same class with
    ``from_logits=True`` for the (sparse) categorical cross-entropies on probabilities;
    None for every other loss."""
    if FUSE and type(loss) in (CategoricalCrossentropy, SparseCategoricalCrossentropy) \
            and not loss.from_logits:
        return type(loss).from_config({**loss.get_config(), "from_logits": True})
    return None


def ends_in_softmax(program: Program, index: int = 0) -> bool:
    """Does output ``index`` end in a softmax that no other layer reads (so that its logits
    can go to the loss)?"""
    slot = program.outputs[index]
    last = next((seg for seg in program.segments if seg.output == slot), None)
    read = any(slot in seg.inputs for seg in program.segments)
    return (last is not None and not read and _activation(last.steps[-1])[0] == "softmax"
            and last.steps[-1].pool is None)


def loss_and_predictions(program: Program, inputs: list, ys: list, losses: list, weights: list,
                         training) -> tuple:
    """``(total loss, [loss of each output], [each output])``: the total is the sum of each
    output's ``loss(y, output)`` times its weight (the one loss itself for a model of one
    output). An output that ends in a softmax, with a loss that has a logit form
    (:func:`logit_loss`), gets the softmax + cross-entropy fusion."""
    fused = [logit_loss(loss) if ends_in_softmax(program, i) else None for i, loss in enumerate(losses)]
    outs = run(program, inputs, training, logits={program.outputs[i] for i, f in enumerate(fused) if f})
    parts, predictions = [], []
    for out, y, loss, logit_form in zip(outs, ys, losses, fused):
        if logit_form is None:
            parts.append(loss(y, out))
            predictions.append(out)
        else:
            parts.append(logit_form(y, out))
            with no_grad():
                predictions.append(F.softmax(out))
    if len(parts) == 1 and weights[0] == 1.0:
        return parts[0], parts, predictions
    total = parts[0] * weights[0]
    for part, weight in zip(parts[1:], weights[1:]):
        total = total + part * weight
    return total, parts, predictions


def describe(steps, ends_model=True) -> list:
    """One line per step: the layers it joins, and how it runs (``ends_model``: the last
    step writes the model's output)."""
    return [" + ".join(f"{layer.name} ({_kind(layer)})" for layer in step if layer is not None)
            + "  ->  " + _runs_as(step, last=ends_model and step is steps[-1]) for step in steps]


def _kind(layer) -> str:
    activation = getattr(layer, "activation_name", "linear")
    return type(layer).__name__ + ("" if activation == "linear" else f" {activation}")


def _runs_as(step: Step, last: bool) -> str:
    name = _activation(step)[0]
    if _fused_conv(step):
        flags = [flag for flag, on in (("relu=True", name == "relu"), ("pool=True", step.pool is not None)) if on]
        text = f"F.conv2d({', '.join(flags)})"
    elif step.activation is not None or step.pool is not None:
        text = f"pre_activation, {name}" + (", max_pool2d" if step.pool is not None else "")
    else:
        text = "call"
    logits = "; with a cross-entropy loss, its logits go to the loss"
    return text + (logits if last and name == "softmax" and FUSE else "")


# ----- the device boundary ----------------------------------------------------------------------
def batch(x) -> Tensor:
    """A checked host batch as a Tensor on the current tier's device."""
    return Tensor(device.to_device(x))


def to_host(tensor: Tensor):
    """The values of ``tensor`` as a NumPy array."""
    return device.to_host(tensor.data)


def for_model(model) -> Program:
    """``model``'s program, ready to run: its plan (made again only when its graph, the
    tier, its weights, its optimizer or ``FUSE`` changed) with its weights and optimizer
    state on the current tier's device (moved only then too), so a training loop pays one
    comparison per batch; on the CPU tiers nothing is ever copied."""
    nodes, optimizer = model.nodes, getattr(model, "optimizer", None)
    weights = model.weights
    key = (tuple(map(id, nodes)), FUSE, device.tier_name(), len(weights), id(optimizer))
    cached = getattr(model, "_plan_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    for w in weights:
        w.data = device.to_device(w.data)
    if optimizer is not None:
        optimizer.map_slots(device.to_device)
    model._plan_cache = (key, program(model.inputs, model.outputs, nodes))
    return model._plan_cache[1]
