"""Loss objects: batch means of the functional per-sample losses, the fused softmax path,
names, lookup and errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinycnn
from tinycnn import functional as F
from tinycnn import losses, plan

R = np.random.default_rng(7)
LOGITS = R.normal(size=(5, 4))
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
LABELS = np.array([0, 3, 1, 1, 2])
ONE_HOT = np.eye(4)[LABELS]
BINARY_TARGETS = (R.random((5, 3)) > 0.5).astype(float)
BINARY_PROBS = R.uniform(0.05, 0.95, size=(5, 3))
REGRESSION = R.normal(size=(5, 3)), R.normal(size=(5, 3))


@pytest.mark.parametrize("loss, per_sample, y_true, y_pred", [
    (losses.CategoricalCrossentropy(), F.categorical_crossentropy, ONE_HOT, PROBS),
    (losses.SparseCategoricalCrossentropy(), F.sparse_categorical_crossentropy, LABELS, PROBS),
    (losses.BinaryCrossentropy(), F.binary_crossentropy, BINARY_TARGETS, BINARY_PROBS),
    (losses.MeanSquaredError(), F.mean_squared_error, *REGRESSION),
    (losses.MeanAbsoluteError(), F.mean_absolute_error, *REGRESSION),
])
def test_value_is_the_batch_mean_of_the_functional_loss(loss, per_sample, y_true, y_pred):
    value = loss(y_true, tinycnn.Tensor(y_pred))
    assert value.shape == ()
    expected = per_sample(y_true, tinycnn.Tensor(y_pred)).data.mean()
    np.testing.assert_allclose(value.data, expected, rtol=1e-12)


def test_categorical_crossentropy_by_hand():
    y_pred = tinycnn.Tensor(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    y_true = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    value = losses.CategoricalCrossentropy()(y_true, y_pred)
    np.testing.assert_allclose(value.data, -(np.log(0.5) + np.log(0.8)) / 2, rtol=1e-12)


def test_mse_by_hand_and_its_gradient():
    y_pred = tinycnn.Tensor(np.array([[1.0, 2.0], [3.0, 5.0]]), requires_grad=True)
    value = losses.get("mse")(np.array([[0.0, 2.0], [3.0, 3.0]]), y_pred)
    np.testing.assert_allclose(value.data, (1 + 0 + 0 + 4) / 4)
    value.backward()
    # d/dy_pred of mean over 4 entries of (y_pred - y)^2 = 2 (y_pred - y) / 4
    np.testing.assert_allclose(y_pred.grad, [[0.5, 0.0], [0.0, 1.0]])


def test_from_logits_variants_equal_the_probability_versions():
    for loss_cls, y_true in ((losses.CategoricalCrossentropy, ONE_HOT),
                             (losses.SparseCategoricalCrossentropy, LABELS)):
        from_logits = loss_cls(from_logits=True)(y_true, tinycnn.Tensor(LOGITS))
        from_probs = loss_cls()(y_true, tinycnn.Tensor(PROBS))
        np.testing.assert_allclose(from_logits.data, from_probs.data, rtol=1e-10)
    z = R.normal(size=(5, 3))
    np.testing.assert_allclose(
        losses.BinaryCrossentropy(from_logits=True)(BINARY_TARGETS, tinycnn.Tensor(z)).data,
        losses.BinaryCrossentropy()(BINARY_TARGETS, tinycnn.Tensor(1 / (1 + np.exp(-z)))).data,
        rtol=1e-10)


def test_sample_weight_weights_each_sample_and_divides_by_the_batch_size():
    weights = np.array([1.0, 0.0, 2.0, 1.0, 0.5])
    loss = losses.CategoricalCrossentropy()
    per_sample = F.categorical_crossentropy(ONE_HOT, tinycnn.Tensor(PROBS)).data
    value = loss(ONE_HOT, tinycnn.Tensor(PROBS), sample_weight=weights)
    np.testing.assert_allclose(value.data, (per_sample * weights).sum() / 5, rtol=1e-12)
    fused = plan.logit_loss(loss)(ONE_HOT, tinycnn.Tensor(LOGITS), sample_weight=weights[:, None])
    np.testing.assert_allclose(fused.data, value.data, rtol=1e-10)
    with pytest.raises(ValueError, match="sample_weight of shape \\(3,\\)"):
        loss(ONE_HOT, tinycnn.Tensor(PROBS), sample_weight=np.ones(3))


@pytest.mark.parametrize("name, cls, keras_name", [
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy"),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy,
     "sparse_categorical_crossentropy"),
    ("binary_crossentropy", losses.BinaryCrossentropy, "binary_crossentropy"),
    ("mean_squared_error", losses.MeanSquaredError, "mean_squared_error"),
    ("mse", losses.MeanSquaredError, "mean_squared_error"),
    ("mean_absolute_error", losses.MeanAbsoluteError, "mean_absolute_error"),
    ("mae", losses.MeanAbsoluteError, "mean_absolute_error"),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy"),
])
def test_get_by_name(name, cls, keras_name):
    loss = losses.get(name)
    assert type(loss) is cls and loss.name == keras_name


def test_get_maps_keras_loss_functions_to_loss_objects():
    """``loss=keras.losses.categorical_crossentropy`` must keep the fused path."""
    loss = losses.get(losses.categorical_crossentropy)
    assert isinstance(loss, losses.CategoricalCrossentropy) and plan.logit_loss(loss) is not None
    assert isinstance(losses.get(losses.mse), losses.MeanSquaredError)


def test_get_wraps_a_user_function():
    def doubled_mse(y_true, y_pred):
        return 2 * F.mean_squared_error(y_true, y_pred)

    loss = losses.get(doubled_mse)
    assert loss.name == "doubled_mse" and plan.logit_loss(loss) is None
    y_true, y_pred = REGRESSION
    np.testing.assert_allclose(loss(y_true, tinycnn.Tensor(y_pred)).data,
                               2 * np.mean((y_pred - y_true) ** 2), rtol=1e-12)
    with pytest.raises(TypeError, match="must return a Tensor"):
        losses.get(lambda y_true, y_pred: 0.0)(y_true, tinycnn.Tensor(y_pred))


def test_instances_pass_through_and_configs_round_trip():
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    assert losses.get(loss) is loss
    config = json.loads(json.dumps(loss.get_config()))
    assert config == {"class_name": "CategoricalCrossentropy", "name": "categorical_crossentropy",
                      "from_logits": True, "label_smoothing": 0.1}
    again = losses.get(config)
    assert isinstance(again, losses.CategoricalCrossentropy) and again.from_logits
    assert again.label_smoothing == 0.1
    assert isinstance(losses.MeanSquaredError.from_config(losses.MeanSquaredError().get_config()),
                      losses.MeanSquaredError)
    nested = losses.from_config({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}})
    assert nested.from_logits


def test_unknown_names_and_objects_raise_value_errors_listing_valid_names():
    with pytest.raises(ValueError, match="Unknown loss 'categorical_crossentropi'.*'mse'"):
        losses.get("categorical_crossentropy"[:-1] + "i")
    with pytest.raises(ValueError, match="Could not interpret loss 3"):
        losses.get(3)
    with pytest.raises(ValueError, match="class_name"):
        losses.from_config({"class_name": "Huber"})


def test_shape_mismatch_is_reported_by_the_functional_check():
    with pytest.raises(ValueError, match="targets have shape \\(5,\\)"):
        losses.CategoricalCrossentropy()(LABELS, tinycnn.Tensor(PROBS))


def test_label_smoothing_is_checked_and_kept_through_the_fused_softmax_loss():
    """A softmax model trains with the fused logit loss: it must smooth as the plain loss does."""
    from tinycnn import layers
    from tinycnn.models import Sequential
    with pytest.raises(ValueError, match="label_smoothing must be a number in"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    model = Sequential([layers.Input((3,)), layers.Dense(4, activation="softmax")])
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]]
    loss = losses.CategoricalCrossentropy(label_smoothing=0.3)
    model.compile(optimizer="sgd", loss=loss)
    plain = float(loss(y, tinycnn.Tensor(model.predict_on_batch(x))).data)
    assert abs(model.test_on_batch(x, y) - plain) < 1e-6
    assert abs(plain - float(losses.CategoricalCrossentropy()(y, tinycnn.Tensor(model.predict_on_batch(x))).data)) > 1e-3
