"""A model's architecture in Keras's own terms, both ways (Sequential and functional).

Keras describes a model as ``{"class_name": "Sequential", "config": {"name": ...,
"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [None, 32, 32, 3], ...}},
{"class_name": "Conv2D", "config": {"filters": 32, ...}}, ...]}}``; Keras 3 adds ``module``
and ``registered_name`` to each object. Layer arguments have the same names in tinycnn and
Keras, so the translation is small:

* tinycnn -> Keras: the input shape becomes a first ``InputLayer`` (Keras 3 wants no
  ``input_shape`` on a layer); initializers, regularizers and constraints, which tinycnn
  keeps as flat ``{"class_name": ..., <arguments>}`` dicts, get Keras's
  ``{"class_name": ..., "config": {...}}`` form; and the arguments Keras has and tinycnn
  fixes (``data_format='channels_last'``, ``dilation_rate=1``, ``groups=1``) are written.
* Keras -> tinycnn: the same, the other way; arguments tinycnn does not take are dropped
  when they are unset (None) or hold the value tinycnn computes anyway, and refused (naming
  the layer and the argument) when they do not.
"""
from __future__ import annotations

import inspect
import re

from . import graph
from . import layers as layers_mod

SUPPORTED = ("Conv2D", "Dense", "Activation", "ReLU", "Rescaling", "Dropout", "Flatten", "MaxPooling2D",
             "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "BatchNormalization",
             "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
# Keras arguments that tinycnn does not take, with the one value it supports
FIXED = {"data_format": ("channels_last", None), "dilation_rate": ([1, 1], (1, 1), 1), "groups": (1,),
         "keepdims": (False,), "noise_shape": (None,), "threshold": (0, 0.0), "sparse": (False, None),
         "synchronized": (False,), "activity_regularizer": (None,), "beta_regularizer": (None,),
         "gamma_regularizer": (None,), "beta_constraint": (None,), "gamma_constraint": (None,),
         "renorm": (False,), "fused": (None, True, False), "virtual_batch_size": (None,),
         "adjustment": (None,), "renorm_clipping": (None,), "renorm_momentum": (0.99,)}
OBJECT_KEYS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
               "kernel_constraint", "bias_constraint", "beta_initializer", "gamma_initializer",
               "moving_mean_initializer", "moving_variance_initializer")
MODULES = {"initializer": "keras.initializers", "regularizer": "keras.regularizers", "constraint": "keras.constraints"}


def _keras_object(value, key: str):
    """A tinycnn object description (a name, or a flat dict) in Keras's form."""
    if not isinstance(value, dict):
        return value
    params = {k: v for k, v in value.items() if k != "class_name"}
    module = next(m for kind, m in MODULES.items() if key.endswith(kind))
    return {"module": module, "class_name": value["class_name"], "config": params, "registered_name": None}


def _tinycnn_object(value):
    """A Keras object description in tinycnn's form (a snake-case name when it has no
    arguments that matter)."""
    if not isinstance(value, dict):
        return value
    params = {k: v for k, v in (value.get("config") or {}).items() if v is not None}
    if not params:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", value["class_name"]).lower()
    return {"class_name": value["class_name"], **params}


def to_keras(model, keras3=True) -> dict:
    """``model``'s architecture as Keras's model config (Keras 3's form, or with
    ``keras3=False`` Keras 2's, which the legacy ``.h5`` format stores)."""
    if model.config_kind == "Functional":
        return _functional_to_keras(model, keras3)
    entries = [_input_entry(model.input_shape, "input_layer", keras3)]
    entries += [_entry(type(layer).__name__, _layer_config(layer), keras3) for layer in model.layers]
    return _entry("Sequential", {"name": model.name, "layers": entries}, keras3, module="keras")


def _layer_config(layer) -> dict:
    """A layer's config as Keras writes it."""
    if type(layer).__name__ not in SUPPORTED:
        raise ValueError(f'saving for Keras: layer "{layer.name}" ({type(layer).__name__}) has no Keras '
                         f"equivalent tinycnn can write; supported: {', '.join(SUPPORTED)}")
    config = {k: v for k, v in layer.get_config().items() if k != "input_shape"}
    for key in OBJECT_KEYS:
        if key in config:
            config[key] = _keras_object(config[key], key)
    if type(layer).__name__ in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten",
                                "GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        config["data_format"] = "channels_last"
    if type(layer).__name__ == "Conv2D":
        config.update(dilation_rate=[1, 1], groups=1)
    return config


def _input_entry(shape, name, keras3) -> dict:
    key = "batch_shape" if keras3 else "batch_input_shape"
    return _entry("InputLayer", {key: [None, *shape[1:]], "dtype": "float32", "sparse": False, "name": name}, keras3)


def _entry(class_name, config, keras3, module="keras.layers") -> dict:
    if not keras3:
        return {"class_name": class_name, "config": config}
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _functional_to_keras(model, keras3) -> dict:
    """A graph model as Keras's ``Functional`` config: each layer with the calls that feed
    it (Keras 2: ``[[name, node, tensor, {}], ...]`` per call; Keras 3: the call's arguments,
    symbolic tensors written as ``__keras_tensor__`` with their ``keras_history``)."""
    def entry(layer):
        made = (_input_entry(layer.requested_input_shape, layer.name, keras3)
                if isinstance(layer, layers_mod.InputLayer) else
                _entry(type(layer).__name__, _layer_config(layer), keras3))
        return {**made, "name": layer.name}

    described = graph.describe(model.inputs, model.outputs, model.nodes, entry,
                               lambda node, refs: _keras_node(node, refs, keras3))
    ends = {which: described[which] for which in ("input_layers", "output_layers")}
    if keras3:  # Keras 3 writes a single input or output unlisted
        ends = {which: refs[0] if len(refs) == 1 else refs for which, refs in ends.items()}
    body = {"name": model.name, "trainable": True, "layers": described["layers"], **ends}
    if not keras3:
        return {"class_name": "Functional", "config": body}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": body,
            "registered_name": "Functional"}


def _keras_node(node, refs, keras3):
    """One call of a layer in Keras's form, from the histories ``refs`` of what it read."""
    if not keras3:
        return [[*ref, {}] for ref in refs]
    tensors = [{"class_name": "__keras_tensor__", "config": {"shape": list(t.shape), "dtype": "float32",
                                                            "keras_history": ref}}
               for t, ref in zip(node.inputs, refs)]
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": {}}


def from_keras(config: dict, what: str, classes: dict):
    """A tinycnn model from a Keras model config (Keras 2's or Keras 3's form): a
    ``Sequential`` or a ``Functional`` one, made as the class ``classes`` names for it."""
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional", "Model"):
        raise ValueError(f"{what}: the file holds a Keras {kind!r} model; tinycnn reads Sequential and "
                         "functional models from Keras files")
    body = config["config"]
    if kind == "Sequential":
        model = classes["Sequential"](name=body.get("name"))
        for entry in body["layers"]:
            model.add(_layer_from_keras(entry["class_name"], dict(entry["config"]), what))
        return model
    made = {entry["config"]["name"]: (_layer_from_keras(entry["class_name"], dict(entry["config"]), what),
                                      [_refs(node) for node in entry.get("inbound_nodes", [])])
            for entry in body["layers"]}
    inputs, outputs = graph.rebuild(made, _listed(body["input_layers"]), _listed(body["output_layers"]))
    return classes["Functional"](inputs, outputs, name=body.get("name"))


def _listed(refs) -> list:
    """``[name, node, tensor]`` or a list of them, as a list of them."""
    return [refs] if refs and isinstance(refs[0], str) else list(refs)


def _refs(node) -> list:
    """The ``[name, node, tensor]`` of every tensor one call read, from either form."""
    if isinstance(node, dict):  # Keras 3: the call's arguments, tensors anywhere inside
        found = []

        def walk(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                found.append(list(value["config"]["keras_history"]))
            elif isinstance(value, (list, tuple)):
                for item in value:
                    walk(item)
        walk(node.get("args", []))
        return found
    return [list(ref[:3]) for ref in node]


def _layer_from_keras(class_name, config, what):
    if class_name == "InputLayer":
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        return layers_mod.InputLayer(shape=tuple(shape[1:]), name=config.get("name"))
    if class_name not in SUPPORTED:
        raise ValueError(f"{what}: layer {config.get('name')!r} is a Keras {class_name}, which tinycnn does "
                         f"not have; supported: {', '.join(SUPPORTED)}")
    cls = getattr(layers_mod, class_name)
    accepted = set(inspect.signature(cls.__init__).parameters) | set(
        inspect.signature(layers_mod.Layer.__init__).parameters)
    kwargs = {}
    for key, value in config.items():
        if key in accepted:
            kwargs[key] = _tinycnn_object(value) if key in OBJECT_KEYS else value
        elif key in FIXED and value not in FIXED[key]:
            raise ValueError(f"{what}: layer {config.get('name')!r} ({class_name}) has {key}={value!r}; "
                             f"tinycnn supports only {key}={FIXED[key][0]!r}")
        elif key not in FIXED and value not in (None, False, {}, []) and key not in ("build_config",):
            raise ValueError(f"{what}: layer {config.get('name')!r} ({class_name}) sets {key}={value!r}, "
                             "a Keras option tinycnn does not have")
    if isinstance(kwargs.get("dtype"), dict):  # Keras 3's DTypePolicy
        kwargs["dtype"] = kwargs["dtype"].get("config", {}).get("name", "float32")
    for key in ("batch_input_shape", "input_shape"):
        kwargs.pop(key, None)
    return cls(**kwargs)
