"""Optimizers against Keras's update formulas (KERAS_SEMANTICS.md), on every kernel tier.

Each expected trajectory comes from a plain float64 transcription of the formula written
here, step by step, independent of the kernels under test.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinycnn
from tinycnn import optimizers
from tinycnn.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, RMSprop

STEPS = 6


def gradient_sequence(shapes, steps=STEPS, seed=0):
    """A fixed list (one entry per step) of gradients for parameters of ``shapes``."""
    r = np.random.default_rng(seed)
    return [[r.normal(size=s) for s in shapes] for _ in range(steps)]


def make_params(dtype=np.float64):
    r = np.random.default_rng(42)
    values = [r.normal(size=(2, 3)), r.normal(size=(3,))]
    return [tinycnn.Tensor(v, requires_grad=True, dtype=dtype, name=f"p{i}")
            for i, v in enumerate(values)]


def run(optimizer, params, grads_per_step):
    """Apply ``optimizer`` once per step; returns the parameter values after every step."""
    trajectory = []
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = None if g is None else np.asarray(g, dtype=p.dtype)
        optimizer.apply(params)
        trajectory.append([p.data.copy() for p in params])
    return trajectory


# ----- the formulas, transcribed (t counts from 1; lr_t is the legacy inverse-time decay) -------
def lr_at(lr, decay, t):
    return lr / (1 + decay * (t - 1))


def ref_sgd(p, grads, lr=0.01, momentum=0.0, nesterov=False, decay=0.0):
    out, v = [], np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        a = lr_at(lr, decay, t)
        if momentum == 0:
            p = p - a * g
        else:
            v = momentum * v - a * g
            p = p + (momentum * v - a * g if nesterov else v)
        out.append(p)
    return out


def ref_rmsprop(p, grads, lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                decay=0.0):
    out = []
    acc, mg, m = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        acc = rho * acc + (1 - rho) * g ** 2
        denominator = acc + epsilon
        if centered:
            mg = rho * mg + (1 - rho) * g
            denominator = acc - mg ** 2 + epsilon
        inc = lr_at(lr, decay, t) * g / np.sqrt(denominator)
        if momentum > 0:
            m = momentum * m + inc
            p = p - m
        else:
            p = p - inc
        out.append(p)
    return out


def ref_adam(p, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0):
    out, m, v = [], np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        a = lr_at(lr, decay, t) * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        p = p - a * m / (np.sqrt(v) + epsilon)
        out.append(p)
    return out


def ref_adamax(p, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0):
    out, m, u = [], np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        m = beta_1 * m + (1 - beta_1) * g
        u = np.maximum(beta_2 * u, np.abs(g))
        p = p - lr_at(lr, decay, t) * m / ((1 - beta_1 ** t) * (u + epsilon))
        out.append(p)
    return out


def ref_adagrad(p, grads, lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7, decay=0.0):
    out, acc = [], np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        acc = acc + g ** 2
        p = p - lr_at(lr, decay, t) * g / np.sqrt(acc + epsilon)
        out.append(p)
    return out


def ref_adadelta(p, grads, lr=0.001, rho=0.95, epsilon=1e-7, decay=0.0):
    out, acc_g, acc_dx = [], np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        acc_g = rho * acc_g + (1 - rho) * g ** 2
        dx = -np.sqrt(acc_dx + epsilon) / np.sqrt(acc_g + epsilon) * g
        acc_dx = rho * acc_dx + (1 - rho) * dx ** 2
        p = p + lr_at(lr, decay, t) * dx
        out.append(p)
    return out


def expected_trajectory(reference, kwargs, initial, grads_per_step):
    per_param = [reference(p0, [step[i] for step in grads_per_step], **kwargs)
                 for i, p0 in enumerate(initial)]
    return [[per_param[i][t] for i in range(len(initial))] for t in range(len(grads_per_step))]


# (optimizer factory, reference, the reference's arguments)
CASES = {
    "sgd-defaults": (lambda: SGD(), ref_sgd, {}),
    "sgd-momentum": (lambda: SGD(learning_rate=0.1, momentum=0.9), ref_sgd,
                     dict(lr=0.1, momentum=0.9)),
    "sgd-nesterov": (lambda: SGD(learning_rate=0.1, momentum=0.8, nesterov=True), ref_sgd,
                     dict(lr=0.1, momentum=0.8, nesterov=True)),
    "sgd-nesterov-no-momentum": (lambda: SGD(0.1, nesterov=True), ref_sgd, dict(lr=0.1)),
    "sgd-keras2": (lambda: SGD(lr=0.01, momentum=0.9, decay=1e-6, nesterov=False), ref_sgd,
                   dict(lr=0.01, momentum=0.9, decay=1e-6)),
    "sgd-strong-decay": (lambda: SGD(lr=0.1, momentum=0.5, decay=0.5), ref_sgd,
                         dict(lr=0.1, momentum=0.5, decay=0.5)),
    "rmsprop-defaults": (lambda: RMSprop(), ref_rmsprop, {}),
    "rmsprop-keras2": (lambda: RMSprop(lr=0.0005, decay=1e-6), ref_rmsprop,
                       dict(lr=0.0005, decay=1e-6)),
    "rmsprop-strong-decay": (lambda: RMSprop(0.01, decay=0.3), ref_rmsprop,
                             dict(lr=0.01, decay=0.3)),
    "rmsprop-momentum": (lambda: RMSprop(0.01, rho=0.8, momentum=0.9), ref_rmsprop,
                         dict(lr=0.01, rho=0.8, momentum=0.9)),
    "rmsprop-centered": (lambda: RMSprop(0.01, centered=True), ref_rmsprop,
                         dict(lr=0.01, centered=True)),
    "rmsprop-centered-momentum": (lambda: RMSprop(0.01, momentum=0.5, centered=True, epsilon=1e-3),
                                  ref_rmsprop, dict(lr=0.01, momentum=0.5, centered=True,
                                                    epsilon=1e-3)),
    "adam-defaults": (lambda: Adam(), ref_adam, {}),
    "adam-custom": (lambda: Adam(lr=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4, decay=0.1),
                    ref_adam, dict(lr=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4, decay=0.1)),
    "adamax-defaults": (lambda: Adamax(), ref_adamax, {}),
    "adamax-custom": (lambda: Adamax(0.002, beta_1=0.7, decay=0.2), ref_adamax,
                      dict(lr=0.002, beta_1=0.7, decay=0.2)),
    "adagrad-defaults": (lambda: Adagrad(), ref_adagrad, {}),
    "adagrad-custom": (lambda: Adagrad(0.1, initial_accumulator_value=0.5, epsilon=1e-3),
                       ref_adagrad, dict(lr=0.1, initial_accumulator_value=0.5, epsilon=1e-3)),
    "adadelta-defaults": (lambda: Adadelta(), ref_adadelta, {}),
    "adadelta-custom": (lambda: Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6), ref_adadelta,
                        dict(lr=1.0, rho=0.9, epsilon=1e-6)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_the_formula(case, tier):
    factory, reference, kwargs = CASES[case]
    params = make_params()
    initial = [p.data.copy() for p in params]
    grads = gradient_sequence([p.shape for p in params])
    got = run(factory(), params, grads)
    want = expected_trajectory(reference, kwargs, initial, grads)
    for t, (got_t, want_t) in enumerate(zip(got, want), 1):
        for g, w in zip(got_t, want_t):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"{case}, step {t}")


@pytest.mark.parametrize("case", ["sgd-momentum", "rmsprop-centered-momentum", "adam-defaults",
                                  "adamax-defaults", "adagrad-defaults", "adadelta-custom"])
def test_float32_parameters_keep_float32_slots_and_follow_the_formula(case, tier):
    factory, reference, kwargs = CASES[case]
    params = make_params(np.float32)
    initial = [p.data.astype(np.float64) for p in params]
    grads = gradient_sequence([p.shape for p in params])
    optimizer = factory()
    got = run(optimizer, params, grads)
    want = expected_trajectory(reference, kwargs, initial, grads)
    for g, w in zip(got[-1], want[-1]):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    slots = [v for k, v in optimizer.get_state().items() if "/" in k]
    assert slots and all(v.dtype == np.float32 for v in slots)


def test_legacy_decay_changes_the_trajectory():
    """Guards the decay cases above: with these numbers, ignoring decay would be visible."""
    grads = gradient_sequence([(3,)])
    p0 = np.ones(3)
    with_decay = ref_sgd(p0, [g[0] for g in grads], lr=0.1, momentum=0.5, decay=0.5)
    without = ref_sgd(p0, [g[0] for g in grads], lr=0.1, momentum=0.5)
    assert np.abs(with_decay[-1] - without[-1]).max() > 1e-3


def test_decay_uses_the_base_rate_and_the_update_count(tier):
    optimizer = SGD(lr=0.5, decay=0.25)
    p = tinycnn.Tensor(np.zeros(1), requires_grad=True)
    for k in range(1, 4):
        assert optimizer.current_learning_rate() == pytest.approx(0.5 / (1 + 0.25 * (k - 1)))
        p.grad = np.ones(1)
        optimizer.apply([p])
    assert optimizer.learning_rate == 0.5
    assert optimizer.iterations == 3


def test_parameters_without_gradient_are_left_alone_and_get_no_slots(tier):
    params = make_params()
    frozen = params[1].data.copy()
    grads = [[g[0], None] for g in gradient_sequence([params[0].shape])]
    optimizer = Adam(0.01)
    run(optimizer, params, grads)
    np.testing.assert_array_equal(params[1].data, frozen)
    assert sorted(k for k in optimizer.get_state() if "/" in k) == ["0/m", "0/v"]
    assert optimizer.iterations == STEPS


def test_update_is_in_place(tier):
    p = make_params()[0]
    buffer = p.data
    p.grad = np.ones(p.shape)
    SGD(0.1, momentum=0.9).apply([p])
    assert p.data is buffer


def test_constraint_is_applied_after_each_update(tier):
    def max_norm_1(w):
        norms = np.sqrt((w * w).sum(axis=0, keepdims=True))
        return w * np.clip(norms, 0, 1.0) / (1e-7 + norms)

    params = make_params()
    params[0].data *= 5  # columns well above norm 1
    params[0].constraint = max_norm_1
    start = params[0].data.copy()
    grads = gradient_sequence([params[0].shape], steps=3)
    run(SGD(0.1, momentum=0.9), params[:1], grads)
    # the formula with the constraint after each step
    p, v = start, np.zeros_like(start)
    for (g,) in grads:
        v = 0.9 * v - 0.1 * g
        p = max_norm_1(p + v)
    np.testing.assert_allclose(params[0].data, p, rtol=1e-12)
    assert np.all(np.linalg.norm(params[0].data, axis=0) <= 1.0 + 1e-9)


@pytest.mark.parametrize("case", ["sgd-keras2", "rmsprop-centered-momentum", "adam-custom",
                                  "adamax-custom", "adagrad-custom", "adadelta-custom"])
def test_state_round_trip_continues_bit_for_bit(case, tier):
    factory, _, _ = CASES[case]
    grads = gradient_sequence([(2, 3), (3,)], steps=6, seed=3)
    params = make_params()
    original = factory()
    run(original, params, grads[:3])
    state = original.get_state()
    saved_values = [p.data.copy() for p in params]
    json.dumps(original.get_config())  # the config is JSON-able
    continued = run(original, params, grads[3:])

    resumed_params = make_params()
    for p, value in zip(resumed_params, saved_values):
        p.data[...] = value
    resumed = optimizers.from_config(json.loads(json.dumps(original.get_config())))
    resumed.set_state(state, resumed_params)
    assert resumed.iterations == 3
    again = run(resumed, resumed_params, grads[3:])
    for step_a, step_b in zip(continued, again):
        for a, b in zip(step_a, step_b):
            np.testing.assert_array_equal(a, b)


def test_get_state_returns_copies_and_includes_the_learning_rate():
    params = make_params()
    optimizer = SGD(0.1, momentum=0.9)
    run(optimizer, params, gradient_sequence([p.shape for p in params], steps=1))
    state = optimizer.get_state()
    assert set(state) == {"iterations", "learning_rate", "0/momentum", "1/momentum"}
    state["0/momentum"][...] = 123.0
    assert not np.any(optimizer.get_state()["0/momentum"] == 123.0)
    optimizer.learning_rate = 0.05
    other = SGD(0.1, momentum=0.9)
    other.set_state(optimizer.get_state(), params)
    assert other.learning_rate == 0.05


def test_set_state_rejects_mismatched_parameters():
    params = make_params()
    optimizer = Adam()
    run(optimizer, params, gradient_sequence([p.shape for p in params], steps=1))
    state = optimizer.get_state()
    with pytest.raises(ValueError, match="shape"):
        Adam().set_state(state, params[::-1])
    with pytest.raises(ValueError, match="only 1 parameters"):
        Adam().set_state(state, params[:1])
    with pytest.raises(ValueError, match="unknown entry '0/velocity'"):
        Adam().set_state({"iterations": np.array(1), "0/velocity": np.zeros((2, 3))}, params)


def test_setting_the_learning_rate_changes_the_next_update(tier):
    p = tinycnn.Tensor(np.zeros(2), requires_grad=True)
    optimizer = SGD(0.1)
    p.grad = np.ones(2)
    optimizer.apply([p])
    optimizer.learning_rate = 0.01
    optimizer.apply([p])
    np.testing.assert_allclose(p.data, [-0.11, -0.11], rtol=1e-12)
    optimizer.lr = 0.5  # the Keras 2 name
    assert optimizer.learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        optimizer.learning_rate = -1


def test_gradient_of_the_wrong_shape_is_refused():
    p = tinycnn.Tensor(np.zeros((2, 2)), requires_grad=True, name="dense/kernel")
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match="'dense/kernel' of shape \\(2, 2\\)"):
        SGD().apply([p])


# ----- construction, names and configs -------------------------------------------------------
def test_lr_is_an_alias_of_learning_rate():
    assert SGD(lr=0.5).learning_rate == 0.5
    assert RMSprop(lr=0.0005, decay=1e-6).get_config()["learning_rate"] == 0.0005
    assert Adam(lr=0.02).lr == 0.02


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam, Adamax, Adagrad, Adadelta])
def test_unknown_keyword_raises_type_error_naming_it(cls):
    with pytest.raises(TypeError, match=f"{cls.__name__}: unknown argument 'learnig_rate'"):
        cls(learnig_rate=0.1)


def test_keras2_adam_signature_with_amsgrad_false():
    adam = Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False)
    assert adam.get_config()["epsilon"] == 1e-7
    with pytest.raises(NotImplementedError, match="amsgrad=True is not implemented"):
        Adam(amsgrad=True)


# ----- gradient clipping (before the update) -------------------------------------------------
def clipped_sgd_step(params, grads, lr, clip):
    """One plain SGD step with the gradients clipped by ``clip(list of grads)``."""
    return [p - lr * g for p, g in zip(params, clip(grads))]


@pytest.mark.parametrize("setting, clip", [
    (dict(clipvalue=0.5), lambda gs: [np.minimum(np.maximum(g, -0.5), 0.5) for g in gs]),
    (dict(clipnorm=1.0), lambda gs: [g / max(np.linalg.norm(g), 1.0) for g in gs]),
    (dict(global_clipnorm=1.5),
     lambda gs: [g * 1.5 / max(np.sqrt(sum((h ** 2).sum() for h in gs)), 1.5) for g in gs]),
])
def test_gradient_clipping(setting, clip, tier):
    params = make_params()
    start = [p.data.copy() for p in params]
    grads = [2.0 * g for g in gradient_sequence([p.shape for p in params], steps=1)[0]]
    grads[1] *= 0.01  # one small gradient, left alone by clipnorm
    optimizer = SGD(0.1, **setting)
    run(optimizer, params, [grads])
    expected = clipped_sgd_step(start, grads, 0.1, clip)
    for p, want in zip(params, expected):
        np.testing.assert_allclose(p.data, want, rtol=1e-12)
    assert not np.allclose(expected[0], start[0] - 0.1 * grads[0])  # clipping did something
    np.testing.assert_array_equal(params[0].grad, grads[0])  # the gradient itself is kept
    assert optimizer.get_config()[next(iter(setting))] == next(iter(setting.values()))


def test_only_one_clipping_setting_is_allowed():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        Adam(clipnorm=1.0, clipvalue=0.5)


def test_keras_defaults():
    no_clipping = {"clipnorm": None, "clipvalue": None, "global_clipnorm": None, "weight_decay": None,
                   "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                   "learning_rate_multipliers": {}}  # Keras 3's defaults, and tinycnn's multipliers
    assert SGD().get_config() == {"class_name": "SGD", "learning_rate": 0.01, "momentum": 0.0,
                                  "nesterov": False, "decay": 0.0, **no_clipping}
    assert RMSprop().get_config() == {"class_name": "RMSprop", "learning_rate": 0.001, "rho": 0.9,
                                      "momentum": 0.0, "epsilon": 1e-7, "centered": False,
                                      "decay": 0.0, **no_clipping}
    assert Adam().get_config()["learning_rate"] == 0.001
    assert Adamax().learning_rate == 0.001  # Keras 3 (Keras 2 had 0.002)
    assert Adagrad().initial_accumulator_value == 0.1
    assert (Adadelta().learning_rate, Adadelta().rho) == (0.001, 0.95)
    assert Adam(epsilon=None).epsilon == 1e-7  # Keras 2's "backend epsilon"


def test_bad_hyperparameters_are_refused_in_the_users_terms():
    with pytest.raises(ValueError, match="SGD: momentum must be \\[0.0, 1.0\\], got 1.5"):
        SGD(momentum=1.5)
    with pytest.raises(ValueError, match="RMSprop: decay"):
        RMSprop(decay=-1)
    with pytest.raises(ValueError, match="Adam: learning_rate must be a finite number"):
        Adam(learning_rate="fast")


@pytest.mark.parametrize("name, cls", [("sgd", SGD), ("SGD", SGD), ("rmsprop", RMSprop),
                                       ("RMSprop", RMSprop), ("ADAM", Adam), ("Adamax", Adamax),
                                       ("adagrad", Adagrad), ("Adadelta", Adadelta)])
def test_get_by_name_in_any_case_gives_the_defaults(name, cls):
    optimizer = optimizers.get(name)
    assert type(optimizer) is cls
    assert optimizer.get_config() == cls().get_config()


def test_get_passes_instances_through_and_reads_configs():
    sgd = SGD(0.3)
    assert optimizers.get(sgd) is sgd
    flat = optimizers.get({"class_name": "SGD", "learning_rate": 0.3, "momentum": 0.9})
    nested = optimizers.get({"class_name": "sgd", "config": {"learning_rate": 0.3, "momentum": 0.9}})
    assert flat.get_config() == nested.get_config() == SGD(0.3, momentum=0.9).get_config()
    assert RMSprop.from_config(RMSprop(0.1, centered=True).get_config()).centered is True


def test_keras2_lower_case_factories():
    optimizer = optimizers.rmsprop(lr=0.0001, decay=1e-6)
    assert isinstance(optimizer, RMSprop)
    assert (optimizer.learning_rate, optimizer.decay) == (0.0001, 1e-6)
    assert isinstance(optimizers.sgd(lr=0.01, momentum=0.9, nesterov=True), SGD)
    assert isinstance(optimizers.adam(), Adam)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown optimizer 'nadamm'.*'SGD'.*'Adadelta'"):
        optimizers.get("nadamm")
    with pytest.raises(ValueError, match="Could not interpret optimizer 3"):
        optimizers.get(3)
    with pytest.raises(ValueError, match="describes a Adam"):
        SGD.from_config(Adam().get_config())


# ----- learning-rate schedules, multipliers, weight decay and moving averages ----------------
def test_a_schedule_sets_each_steps_rate():
    """Update t uses schedule(t - 1); with a schedule SGD is the formula with lr varying per step."""
    from tinycnn.schedules import PiecewiseLinear
    schedule = PiecewiseLinear([0, 2, 5], [0.1, 0.5, 0.0])
    params = make_params()
    start = [p.data.copy() for p in params]
    grads = gradient_sequence([p.shape for p in params])
    run(SGD(schedule), params, grads)
    rates = [0.1, 0.3, 0.5, 1 / 3, 1 / 6, 0.0]   # np.interp by hand at steps 0..5
    for j, p in enumerate(params):
        want = start[j] - sum(lr * g[j] for lr, g in zip(rates, grads))
        np.testing.assert_allclose(p.data, want, rtol=1e-12)


def test_a_scheduled_rate_is_read_not_set_and_saved_in_the_config():
    from tinycnn.schedules import PiecewiseLinear
    opt = SGD(PiecewiseLinear([0, 10], [1.0, 0.0]), momentum=0.5, nesterov=True)
    opt.iterations = 5
    assert opt.learning_rate == 0.5 and opt.current_learning_rate() == 0.5
    with pytest.raises(TypeError, match="comes from the schedule"):
        opt.learning_rate = 0.1
    again = optimizers.from_config(json.loads(json.dumps(opt.get_config())))
    again.iterations = 5
    assert again.learning_rate == 0.5 and "learning_rate" not in opt.get_state()
    with pytest.raises(ValueError, match="boundaries must increase"):
        PiecewiseLinear([0, 5, 5], [1, 2, 3])


def test_learning_rate_multipliers_scale_the_step_of_matching_weights_only():
    """p0 under '*0' moves as SGD at 4x the rate; weight decay keeps the plain rate."""
    params, alone = make_params(), make_params()
    grads = gradient_sequence([p.shape for p in params])
    run(SGD(0.1, weight_decay=0.5, learning_rate_multipliers={"p0": 4.0}), params, grads)
    p = alone[0].data.copy()
    for g in grads:
        p = p - p * 0.5 * 0.1 - 0.4 * g[0]
    np.testing.assert_allclose(params[0].data, p, rtol=1e-12)
    q = alone[1].data.copy()
    for g in grads:
        q = q - q * 0.5 * 0.1 - 0.1 * g[1]
    np.testing.assert_allclose(params[1].data, q, rtol=1e-12)
    with pytest.raises(ValueError, match="learning_rate_multipliers"):
        SGD(learning_rate_multipliers=[("p0", 2.0)])


def test_fit_ends_on_the_moving_average_weights():
    """use_ema: after fit the weights are the averages (as Keras's finalize_variable_values);
    a second identical optimizer without EMA ends elsewhere."""
    from tinycnn import layers
    from tinycnn.models import Sequential

    def trained(**options):
        tinycnn.utils.set_random_seed(3)
        model = Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile(optimizer=SGD(0.5, **options), loss="categorical_crossentropy")
        x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
        model.fit(x, np.eye(3, dtype=np.float32)[np.arange(64) % 3], batch_size=8, epochs=2, verbose=0,
                  shuffle=False)
        return model
    averaged, plain = trained(use_ema=True, ema_momentum=0.9), trained()
    slots = averaged.optimizer._slots
    for j, w in enumerate(averaged.trainable_weights):
        np.testing.assert_array_equal(w.data, slots[j]["average"])
    assert not np.allclose(averaged.get_weights()[0], plain.get_weights()[0])
