"""The execution plan (tinycnn/plan.py): which layers run as one step, that every fusion
gives the values and gradients of the layers run one by one, the softmax + cross-entropy
fusion of the loss, the printed plan, and the device placement of the weights."""
from __future__ import annotations

import numpy as np
import pytest

import tinycnn
from tinycnn import functional as F
from tinycnn import losses, plan, zoo
from tinycnn.layers import Activation, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from tinycnn.models import Sequential
from tinycnn.utils import set_random_seed

R = np.random.default_rng(7)
LOGITS = R.normal(size=(5, 4))
LABELS = np.array([0, 3, 1, 1, 2])
ONE_HOT = np.eye(4)[LABELS]


# ----- which layers join ------------------------------------------------------------------------
def test_an_activation_layer_joins_the_layer_before_it_only_when_that_layer_has_none():
    conv, relu = Conv2D(4, 3, input_shape=(8, 8, 2)), Activation("relu")
    conv_relu, relu_again = Conv2D(4, 3, activation="relu"), Activation("relu")
    drop, relu_after_drop = Dropout(0.5), Activation("relu")
    flat, dense, softmax = Flatten(), Dense(3), Activation("softmax")
    steps = plan.steps([conv, relu, conv_relu, relu_again, drop, relu_after_drop, flat, dense, softmax])
    assert steps == [(conv, relu, None), (conv_relu, None, None), (relu_again, None, None), (drop, None, None),
                     (relu_after_drop, None, None), (flat, None, None), (dense, softmax, None)]


def test_a_halving_max_pooling_joins_the_convolution_before_it():
    conv, relu, pool = Conv2D(4, 3), Activation("relu"), MaxPooling2D(2)
    conv_relu, pool_2 = Conv2D(4, 3, activation="relu"), MaxPooling2D((2, 2), strides=2)
    other_pools = [MaxPooling2D(3), MaxPooling2D(2, strides=1), MaxPooling2D(2, padding="same")]
    assert plan.steps([conv, relu, pool, conv_relu, pool_2]) == [(conv, relu, pool), (conv_relu, None, pool_2)]
    for other in other_pools:
        assert plan.steps([conv, other]) == [(conv, None, None), (other, None, None)]
    assert plan.steps([Dense(3), MaxPooling2D(2)])[0][2] is None
    assert [pool for _, _, pool in plan.steps([conv, Dropout(0.1), pool])] == [None, None, None]


# ----- the softmax + cross-entropy fusion of the loss --------------------------------------------
@pytest.mark.parametrize("loss, y_true", [(losses.CategoricalCrossentropy(), ONE_HOT),
                                          (losses.SparseCategoricalCrossentropy(), LABELS),
                                          (losses.SparseCategoricalCrossentropy(), LABELS[:, None])])
def test_fused_on_logits_equals_softmax_then_loss_where_the_clip_is_inactive(loss, y_true, tier):
    assert plan.logit_loss(loss) is not None
    logits_a = tinycnn.Tensor(LOGITS, requires_grad=True)
    fused = plan.logit_loss(loss)(y_true, logits_a)
    fused.backward()
    logits_b = tinycnn.Tensor(LOGITS, requires_grad=True)
    unfused = loss(y_true, F.softmax(logits_b))
    unfused.backward()
    np.testing.assert_allclose(fused.data, unfused.data, rtol=1e-10)
    np.testing.assert_allclose(logits_a.grad, logits_b.grad, rtol=1e-8, atol=1e-12)


def test_fused_loss_is_not_clipped_where_softmax_then_loss_is():
    logits = np.array([[0.0, 30.0, 0.0]])  # p(class 0) ~ 9e-14, far below the 1e-7 clip
    y_true = np.array([[1.0, 0.0, 0.0]])
    loss = losses.CategoricalCrossentropy()
    fused = plan.logit_loss(loss)(y_true, tinycnn.Tensor(logits)).item()
    clipped = loss(y_true, F.softmax(tinycnn.Tensor(logits))).item()
    np.testing.assert_allclose(fused, 30 + np.log(1 + np.exp(-30) * 2), rtol=1e-12)
    np.testing.assert_allclose(clipped, -np.log(1e-7), rtol=1e-6)


def test_only_the_softmax_cross_entropies_support_fusion():
    assert [plan.logit_loss(cls()) is not None for cls in
            (losses.BinaryCrossentropy, losses.MeanSquaredError, losses.MeanAbsoluteError)] == [False] * 3


# ----- every fusion computes what the layers compute one by one ------------------------------
def fused_and_unfused(monkeypatch, build, x, y, loss):
    """(loss, gradients, predictions) with the plan's fusions and with FUSE off, from the same
    weights."""
    results = []
    for fuse in (True, False):
        monkeypatch.setattr(plan, "FUSE", fuse)
        set_random_seed(1)
        model = build()
        model.compile(optimizer="sgd", loss=loss)
        value, _, _ = model._loss_and_predictions(x, y, training=True)
        value.backward()
        results.append((float(value.data), [w.grad.copy() for w in model.trainable_weights],
                        model.predict(x, verbose=0)))
    return results


def conv_relu_pool_softmax():
    return Sequential([Input(shape=(10, 10, 2)), Conv2D(4, 3), Activation("relu"), MaxPooling2D(2),
                       Conv2D(6, 3, activation="relu", padding="same"), MaxPooling2D(2), Flatten(),
                       Dense(8), Activation("relu"), Dense(3, activation="softmax")])


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_the_fused_plan_gives_the_values_and_gradients_of_the_layers_one_by_one(monkeypatch, tier, loss):
    r = np.random.default_rng(0)
    x = r.normal(size=(6, 10, 10, 2)).astype(np.float32)
    labels = r.integers(0, 3, 6)
    y = labels if loss.startswith("sparse") else np.eye(3, dtype=np.float32)[labels]
    (fused_loss, fused_grads, fused_out), (loss_1by1, grads_1by1, out_1by1) = \
        fused_and_unfused(monkeypatch, conv_relu_pool_softmax, x, y, loss)
    # float32 sums in another order (fused kernels, logits instead of probabilities): 1e-5
    np.testing.assert_allclose(fused_loss, loss_1by1, rtol=1e-5)
    for a, b in zip(fused_grads, grads_1by1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused_out, out_1by1, rtol=1e-5, atol=1e-7)


def test_without_fusion_every_layer_is_its_own_step(monkeypatch):
    model = conv_relu_pool_softmax()
    assert len(plan.steps(model.layers)) == 5   # conv+relu+pool, conv+pool, flatten, dense+relu, dense
    monkeypatch.setattr(plan, "FUSE", False)
    assert plan.steps(model.layers) == [(layer, None, None) for layer in model.layers]
    assert plan.logit_loss(losses.CategoricalCrossentropy()) is None


def test_the_plan_of_a_model_names_its_fused_steps():
    lines = zoo.build("seed004_mnist_cnn", compile=False).plan(print_fn=lambda line: None)
    assert len(lines) == 5
    assert lines[0].endswith("->  F.conv2d(relu=True, pool=True)") and "(Conv2D relu) + " in lines[0]
    assert lines[2].endswith("->  call") and "(Flatten)" in lines[2]
    assert lines[-1].endswith("its logits go to the loss") and "(Dense softmax)" in lines[-1]


def test_a_cross_entropy_on_logits_is_not_fused_again():
    """A loss that already takes logits would get a softmax's probabilities as its logits if
    the plan swapped it: with from_logits=True it runs on the model's output, as in Keras."""
    assert plan.logit_loss(losses.CategoricalCrossentropy(from_logits=True)) is None


# ----- the device boundary -------------------------------------------------------------------
def test_weights_are_placed_and_the_plan_made_once_per_change(monkeypatch):
    model = Sequential([Input(shape=(3,)), Dense(2)])
    moved = []
    monkeypatch.setattr(plan.device, "to_device", lambda a: moved.append(a.shape) or a)
    first = plan.for_model(model)
    assert plan.for_model(model) is first and moved == [(3, 2), (2,)]
    model.compile(optimizer="adam", loss="mse")   # a new optimizer: its state is placed too
    plan.for_model(model)
    assert moved == [(3, 2), (2,)] * 2
    model.add(Activation("relu"))                 # a new layer: a new plan
    assert plan.for_model(model).segments[0].steps == [(model.layers[0], model.layers[1], None)]
    monkeypatch.setattr(plan, "FUSE", False)
    assert len(plan.for_model(model).segments[0].steps) == 2
