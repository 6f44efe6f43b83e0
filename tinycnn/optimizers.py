"""Optimizers: Keras's update rules, applied in place to each parameter after ``backward()``.

Every optimizer keeps, per parameter, a few *slots* (momentum, running averages), created on
the first update in the parameter's dtype. The arithmetic of each rule lives in one kernel
per tier (run through :func:`tinycnn.ops.updates.apply`; see :mod:`tinycnn.kernels.contract`),
so a faster tier speeds up training without changing this file. ``g`` is the gradient and
``t`` counts updates from 1.

Keras 2 spellings are accepted: ``lr=`` for ``learning_rate=``, ``epsilon=None`` for the
backend epsilon 1e-7, and the legacy ``decay``: inverse-time decay per update,
``lr_t = learning_rate / (1 + decay * (t - 1))``. ``learning_rate`` itself stays the base
rate; callbacks such as ReduceLROnPlateau change it.

``learning_rate`` may also be a schedule (:mod:`tinycnn.schedules`): the rate of update
``t`` is then ``schedule(t - 1)``, and ``optimizer.learning_rate`` reads its current value.

Every optimizer takes Keras 3's options, applied in Keras's order in each update:

1. Gradient clipping (at most one of the three): ``clipnorm`` rescales each gradient to L2
   norm at most ``clipnorm``: ``g * c / max(|g|, c)``; ``global_clipnorm`` does the same with
   the norm of all gradients together; ``clipvalue`` clips each entry to ``[-c, c]``.
2. ``weight_decay`` (decoupled, as Keras 3 and AdamW): ``p -= p * weight_decay * lr`` before
   the rule's own step.
3. The rule's update, with ``lr`` times the parameter's entry in
   ``learning_rate_multipliers`` (tinycnn's own option, PyTorch's parameter groups in one
   dict: ``{"*/beta": 64.0}`` matches weight names with :func:`fnmatch`; the first matching
   pattern counts, weight decay keeps the plain ``lr``).
4. ``use_ema``: a moving average of each parameter, ``avg = m avg + (1 - m) p`` with
   ``m = ema_momentum`` (the first update copies ``p``); every ``ema_overwrite_frequency``
   updates the parameters are set to their averages, and :meth:`finalize_variable_values`,
   called at the end of ``fit``, sets them once more.
5. The parameter's constraint (``max_norm`` ...).
"""
from __future__ import annotations

import numbers
from fnmatch import fnmatchcase

import numpy as np

from . import schedules
from .backend import EPSILON  # Keras's backend epsilon
from .ops import device, updates


def _number(value, what, owner, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{owner}: {what} must be a finite number, got {value!r}")
    value = float(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{owner}: {what} must be {bounds}, got {value}")
    return value


class Optimizer:
    """The shared machinery: learning rate and legacy decay, slots, state and config.

    A subclass names its hyperparameters in ``_hyper`` (the constructor's arguments, for
    ``get_config``), declares ``_slot_names()`` and implements ``_update(p, g, slots, lr,
    t)``, which runs its rule through :func:`tinycnn.ops.updates.apply`. ``options`` are
    the keywords every optimizer takes: ``lr`` (Keras 2's name for ``learning_rate``) and the clipping settings.
    """

    _hyper: tuple = ()
    _CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")
    _OPTIONS = _CLIPPING + ("weight_decay", "use_ema", "ema_momentum", "ema_overwrite_frequency",
                            "learning_rate_multipliers")

    def __init__(self, learning_rate, decay=0.0, **options):
        owner = type(self).__name__
        unknown = sorted(set(options) - {"lr", *self._OPTIONS})
        if unknown:
            raise TypeError(f"{owner}: unknown argument {unknown[0]!r}; {owner} takes "
                            f"learning_rate (or lr), {', '.join(self._hyper)}, decay, "
                            f"{', '.join(self._OPTIONS)}")
        if options.get("lr") is not None:
            learning_rate = options["lr"]  # Keras 2 spelling
        self._schedule = None
        if isinstance(learning_rate, dict):
            learning_rate = schedules.from_config(learning_rate)
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule, self._learning_rate = learning_rate, None
        else:
            self.learning_rate = learning_rate
        self.decay = _number(decay, "decay", owner, low=0.0)
        for name in self._CLIPPING:
            value = options.get(name)
            setattr(self, name, None if value is None else _number(value, name, owner, low=0.0))
        chosen = [name for name in self._CLIPPING if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise ValueError(f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got {', '.join(chosen)}")
        decay_rate = options.get("weight_decay")
        self.weight_decay = None if decay_rate is None else _number(decay_rate, "weight_decay", owner, low=0.0)
        self.use_ema = bool(options.get("use_ema", False))
        self.ema_momentum = _number(options.get("ema_momentum", 0.99), "ema_momentum", owner, 0.0, 1.0)
        frequency = options.get("ema_overwrite_frequency")
        self.ema_overwrite_frequency = None if frequency is None else int(_number(frequency, "ema_overwrite_frequency", owner, low=1))
        multipliers = options.get("learning_rate_multipliers") or {}
        if not isinstance(multipliers, dict) or not all(isinstance(k, str) for k in multipliers):
            raise ValueError(f"{owner}: learning_rate_multipliers must be a dict of weight-name "
                             f"patterns to factors, e.g. {{'*/beta': 64.0}}, got {multipliers!r}")
        self.learning_rate_multipliers = {k: _number(v, f"learning_rate_multipliers[{k!r}]", owner, low=0.0)
                                          for k, v in multipliers.items()}
        self.iterations = 0
        self._tracked: list = []     # parameters in the order first seen: position = index
        self._slots: dict = {}       # position -> {slot name: ndarray}

    # ----- learning rate ------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The base learning rate (before legacy decay); settable by callbacks. With a
        schedule, its value for the next update (not settable, as in Keras)."""
        if self._schedule is not None:
            return self._schedule(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if getattr(self, "_schedule", None) is not None:
            raise TypeError(f"{type(self).__name__}: the learning rate comes from the schedule "
                            f"{self._schedule!r} given as learning_rate, so it cannot be set")
        self._learning_rate = _number(value, "learning_rate", type(self).__name__, low=0.0)

    lr = learning_rate  # Keras 2 name: ``model.optimizer.lr``

    def current_learning_rate(self) -> float:
        """The rate the next update will use: ``learning_rate / (1 + decay * iterations)``
        (the schedule's value at ``iterations`` when there is one)."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def _multiplier(self, p) -> float:
        name = getattr(p, "name", None) or ""
        return next((factor for pattern, factor in self.learning_rate_multipliers.items()
                     if fnmatchcase(name, pattern)), 1.0)

    # ----- the update ---------------------------------------------------------------------
    def apply(self, params) -> None:
        """Update every parameter that has a gradient, in place, in the order of the module
        docstring (clip, weight decay, the rule, moving average, constraint). Counts one
        update."""
        lr, t = self.current_learning_rate(), self.iterations + 1
        overwrite = self.use_ema and self.ema_overwrite_frequency and t % self.ema_overwrite_frequency == 0
        work = []
        for p in params:
            position = self._position(p)
            if p.grad is None:
                continue
            g = updates.gradient_for(p.data, p.grad)
            if g.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}: gradient of shape {g.shape} does not "
                                 f"match parameter {p.name!r} of shape {p.data.shape}")
            work.append((position, p, g))
        for (position, p, _), g in zip(work, self._clip([g for _, _, g in work])):
            slots = self._slots.get(position)
            first = slots is None
            if first:
                slots = self._slots[position] = self._create_slots(p.data)
            if self.weight_decay:
                dtype = p.data.dtype.type
                p.data -= p.data * dtype(self.weight_decay) * dtype(lr)
            self._update(p.data, g, slots, lr * self._multiplier(p), t)
            if self.use_ema:
                self._average(p.data, slots, first, overwrite)
            constraint = getattr(p, "constraint", None)
            if constraint is not None:
                p.data[...] = constraint(p.data)
        self.iterations += 1

    def _average(self, p, slots, first, overwrite) -> None:
        """``avg = m avg + (1 - m) p`` (a copy of ``p`` on its first update); ``p = avg``
        when ``overwrite``."""
        average = slots["average"]
        if first:
            average[...] = p
        else:
            m = p.dtype.type(self.ema_momentum)
            average *= m
            average += (p.dtype.type(1) - m) * p
        if overwrite:
            p[...] = average

    def finalize_variable_values(self, params) -> None:
        """With ``use_ema``, set each parameter to its moving average (Keras calls this at
        the end of ``fit``); otherwise nothing."""
        if not self.use_ema:
            return
        for p in params:
            slots = self._slots.get(self._position(p))
            if slots is not None:
                p.data[...] = slots["average"]

    def _clip(self, grads: list) -> list:
        """The gradients after the clipping setting (new arrays; ``p.grad`` is kept). Only
        the arrays' own methods are used, so this works on any tier's arrays."""
        if self.clipvalue is not None:
            return [g.clip(-self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [g * (self.clipnorm / max(float((g * g).sum() ** 0.5), self.clipnorm))
                    for g in grads]
        if self.global_clipnorm is not None:
            norm = sum(float((g * g).sum()) for g in grads) ** 0.5
            return [g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in grads]
        return grads

    def _position(self, p) -> int:
        for i, q in enumerate(self._tracked):
            if q is p:
                return i
        self._tracked.append(p)
        return len(self._tracked) - 1

    def _create_slots(self, value: np.ndarray) -> dict:
        return {name: np.zeros_like(value) for name in self._all_slot_names()}

    def _all_slot_names(self) -> tuple:
        """The rule's slots, and ``average`` with ``use_ema``."""
        return self._slot_names() + (("average",) if self.use_ema else ())

    def _slot_names(self) -> tuple:
        raise NotImplementedError

    def _update(self, p, g, slots, lr, t):
        raise NotImplementedError

    # ----- state: resume training bit-for-bit ----------------------------------------------
    def get_state(self) -> dict:
        """Copies of everything the next update depends on: ``'iterations'``,
        ``'learning_rate'`` and each slot as ``'<position>/<slot>'`` (position = index of the
        parameter in the list given to :meth:`apply`)."""
        state = {"iterations": np.array(self.iterations, dtype=np.int64)}
        if self._schedule is None:
            state["learning_rate"] = np.array(self._learning_rate, dtype=np.float64)
        for position, slots in self._slots.items():
            for name, value in slots.items():
                state[f"{position}/{name}"] = device.to_host(value).copy()
        return state

    def map_slots(self, move) -> None:
        """Replace every slot array by ``move(slot)``: the model uses it to keep the
        optimizer's state on the same device as the weights."""
        for slots in self._slots.values():
            for name, value in slots.items():
                slots[name] = move(value)

    def set_state(self, state: dict, params) -> None:
        """Restore :meth:`get_state`'s output for ``params`` (the same list, in the same
        order, that :meth:`apply` will be given)."""
        owner = type(self).__name__
        params = list(params)
        slots: dict = {}
        for key, value in state.items():
            if key in ("iterations", "learning_rate"):
                continue
            position, _, name = key.partition("/")
            if not position.isdigit() or name not in self._all_slot_names():
                raise ValueError(f"{owner}.set_state: unknown entry {key!r}; {owner} keeps slots "
                                 f"{list(self._all_slot_names())} per parameter")
            position = int(position)
            if position >= len(params):
                raise ValueError(f"{owner}.set_state: the state has slots for parameter "
                                 f"{position} but only {len(params)} parameters were given")
            p = params[position]
            if np.shape(value) != p.data.shape:
                raise ValueError(f"{owner}.set_state: slot {key!r} has shape {np.shape(value)} "
                                 f"but parameter {p.name!r} has shape {p.data.shape}")
            slots.setdefault(position, {})[name] = np.array(value, dtype=p.data.dtype)
        if "iterations" not in state:
            raise ValueError(f"{owner}.set_state: the state has no 'iterations' entry")
        self.iterations = int(state["iterations"])
        if "learning_rate" in state and self._schedule is None:
            self.learning_rate = float(state["learning_rate"])
        self._tracked = params
        self._slots = slots

    # ----- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        """``{'class_name': ..., <constructor argument>: value, ...}``, JSON-able."""
        config = {"class_name": type(self).__name__,
                  "learning_rate": self._learning_rate if self._schedule is None else self._schedule.get_config()}
        config.update({name: getattr(self, name) for name in self._hyper})
        config["decay"] = self.decay
        config.update({name: getattr(self, name) for name in self._OPTIONS})
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        name = config.pop("class_name", cls.__name__)
        if name != cls.__name__:
            raise ValueError(f"{cls.__name__}.from_config: the config describes a {name}")
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class_name")
        return f"{type(self).__name__}({args})"


def _epsilon(value, owner):
    return EPSILON if value is None else _number(value, "epsilon", owner, low=0.0)


class SGD(Optimizer):
    """``v = momentum * v - lr * g``; nesterov: ``p += momentum * v - lr * g``, else
    ``p += v``. Without momentum: ``p -= lr * g``."""

    _hyper = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, **options):
        super().__init__(learning_rate, decay, **options)
        self.momentum = _number(momentum, "momentum", "SGD", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _slot_names(self):
        return ("momentum",) if self.momentum > 0 else ()

    def _update(self, p, g, slots, lr, t):
        updates.apply("sgd", p, g, slots.get("momentum"), lr, self.momentum, self.nesterov)


class RMSprop(Optimizer):
    """``a = rho a + (1 - rho) g^2``; ``inc = lr g / sqrt(a + eps)`` (centered: ``mg = rho mg
    + (1 - rho) g`` and ``sqrt(a - mg^2 + eps)``); with momentum ``m = momentum m + inc;
    p -= m``, else ``p -= inc``. Epsilon inside the root, as Keras 3."""

    _hyper = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 decay=0.0, **options):
        super().__init__(learning_rate, decay, **options)
        self.rho = _number(rho, "rho", "RMSprop", 0.0, 1.0)
        self.momentum = _number(momentum, "momentum", "RMSprop", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon, "RMSprop")
        self.centered = bool(centered)

    def _slot_names(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def _update(self, p, g, slots, lr, t):
        updates.apply("rmsprop", p, g, slots["velocity"], slots.get("momentum"),
                               slots.get("average_gradient"), lr, self.rho, self.momentum,
                               self.epsilon)


class Adam(Optimizer):
    """``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.
    ``amsgrad=False`` is accepted (Keras 2 code spells it out); the AMSGrad variant is not
    implemented."""

    _hyper = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0,
                 amsgrad=False, **options):
        super().__init__(learning_rate, decay, **options)
        if amsgrad:
            raise NotImplementedError("Adam: amsgrad=True is not implemented in tinycnn; use "
                                      "amsgrad=False (the default)")
        self.beta_1 = _number(beta_1, "beta_1", "Adam", 0.0, 1.0)
        self.beta_2 = _number(beta_2, "beta_2", "Adam", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon, "Adam")

    def _slot_names(self):
        return ("m", "v")

    def _update(self, p, g, slots, lr, t):
        updates.apply("adam", p, g, slots["m"], slots["v"], lr, self.beta_1, self.beta_2,
                            self.epsilon, t)


class Adamax(Optimizer):
    """``m = b1 m + (1 - b1) g``; ``u = max(b2 u, |g|)``;
    ``p -= lr m / ((1 - b1^t) (u + eps))``. Default rate 0.001 (Keras 3; Keras 2 had 0.002)."""

    _hyper = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0,
                 **options):
        super().__init__(learning_rate, decay, **options)
        self.beta_1 = _number(beta_1, "beta_1", "Adamax", 0.0, 1.0)
        self.beta_2 = _number(beta_2, "beta_2", "Adamax", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon, "Adamax")

    def _slot_names(self):
        return ("m", "u")

    def _update(self, p, g, slots, lr, t):
        updates.apply("adamax", p, g, slots["m"], slots["u"], lr, self.beta_1, self.beta_2,
                              self.epsilon, t)


class Adagrad(Optimizer):
    """``acc += g^2`` (acc starts at ``initial_accumulator_value``);
    ``p -= lr g / sqrt(acc + eps)``."""

    _hyper = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 decay=0.0, **options):
        super().__init__(learning_rate, decay, **options)
        self.initial_accumulator_value = _number(initial_accumulator_value,
                                                 "initial_accumulator_value", "Adagrad", low=0.0)
        self.epsilon = _epsilon(epsilon, "Adagrad")

    def _slot_names(self):
        return ("accumulator",)

    def _create_slots(self, value):
        return {"accumulator": np.full_like(value, self.initial_accumulator_value)}

    def _update(self, p, g, slots, lr, t):
        updates.apply("adagrad", p, g, slots["accumulator"], lr, self.epsilon)


class Adadelta(Optimizer):
    """``acc_g = rho acc_g + (1 - rho) g^2``;
    ``dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) * g``;
    ``acc_dx = rho acc_dx + (1 - rho) dx^2``; ``p += lr dx``."""

    _hyper = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, decay=0.0, **options):
        super().__init__(learning_rate, decay, **options)
        self.rho = _number(rho, "rho", "Adadelta", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon, "Adadelta")

    def _slot_names(self):
        return ("accumulated_grad", "accumulated_delta")

    def _update(self, p, g, slots, lr, t):
        updates.apply("adadelta", p, g, slots["accumulated_grad"], slots["accumulated_delta"], lr,
                                self.rho, self.epsilon)


# Keras 2's lower-case names: ``keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)``.
sgd, rmsprop, adam, adamax, adagrad, adadelta = SGD, RMSprop, Adam, Adamax, Adagrad, Adadelta

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, Adamax, Adagrad, Adadelta)}


def from_config(config: dict) -> Optimizer:
    """An optimizer from :meth:`Optimizer.get_config`'s dict, or Keras's
    ``{'class_name': ..., 'config': {...}}`` form."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"optimizers.from_config: expected a dict with a 'class_name', "
                         f"got {config!r}")
    name = config["class_name"]
    arguments = config["config"] if isinstance(config.get("config"), dict) else \
        {k: v for k, v in config.items() if k != "class_name"}
    return _class_named(name)(**arguments)


def _class_named(name) -> type:
    cls = _BY_NAME.get(str(name).lower())
    if cls is None:
        valid = ", ".join(repr(c.__name__) for c in _BY_NAME.values())
        raise ValueError(f"Unknown optimizer {name!r}; valid names (any case) are {valid}")
    return cls


def get(identifier) -> Optimizer:
    """An optimizer from an instance (returned as is), a name in any case (``'adam'``,
    ``'RMSprop'``: the defaults) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _class_named(identifier)()
    if isinstance(identifier, dict):
        return from_config(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer {identifier!r}: pass an optimizer, its "
                     f"name (e.g. 'adam') or a config dict")
