"""Metrics: per-sample values on hand-made cases, and what 'accuracy' resolves to."""
from __future__ import annotations

import numpy as np
import pytest

import tinycnn
from tinycnn import losses, metrics

Y_PRED = np.array([[0.1, 0.7, 0.2],
                   [0.5, 0.3, 0.2],
                   [0.2, 0.2, 0.6],
                   [0.3, 0.4, 0.3]])
LABELS = np.array([1, 2, 2, 0])          # right, wrong, right, wrong
ONE_HOT = np.eye(3)[LABELS]


def test_categorical_accuracy_by_hand():
    np.testing.assert_array_equal(metrics.categorical_accuracy(ONE_HOT, Y_PRED), [1, 0, 1, 0])


@pytest.mark.parametrize("labels", [LABELS, LABELS[:, None], LABELS.astype(float)])
def test_sparse_categorical_accuracy_by_hand(labels):
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, Y_PRED), [1, 0, 1, 0])


def test_binary_accuracy_by_hand_uses_a_strict_threshold():
    y_true = np.array([[1.0], [0.0], [1.0], [0.0]])
    y_pred = np.array([[0.9], [0.5], [0.5], [0.2]])  # 0.5 is not above the threshold
    np.testing.assert_array_equal(metrics.binary_accuracy(y_true, y_pred), [1, 1, 0, 1])
    two_columns = metrics.binary_accuracy(np.array([[1.0, 0.0]]), np.array([[0.8, 0.6]]))
    np.testing.assert_array_equal(two_columns, [0.5])
    np.testing.assert_array_equal(
        metrics.binary_accuracy(y_true, y_pred, threshold=0.4), [1, 0, 1, 1])


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.5, 0.3, 0.05, 0.05],
                       [0.4, 0.3, 0.2, 0.06, 0.04]])
    labels = np.array([2, 3])  # class 2 is 2nd best in row 0; class 3 is 4th in row 1
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(labels, scores, k=2),
                                  [1, 0])
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(np.eye(5)[labels], scores, k=4),
                                  [1, 1])
    np.testing.assert_array_equal(metrics.TopKCategoricalAccuracy(k=1)(np.eye(5)[labels], scores),
                                  [0, 0])


def test_top_k_counts_ties_at_the_boundary_as_in_like_tensorflow():
    scores = np.array([[0.4, 0.3, 0.3]])
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy([2], scores, k=2), [1])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy([2], np.array([[np.nan, 0.3, 0.3]]), k=2), [0])


def test_default_k_is_five():
    scores = np.arange(6.0)[None, :]  # class 0 is the 6th best
    np.testing.assert_array_equal(metrics.get("sparse_top_k_categorical_accuracy")([0], scores), [0])
    np.testing.assert_array_equal(metrics.get("sparse_top_k_categorical_accuracy")([1], scores), [1])


@pytest.mark.parametrize("loss, y_true, expected", [
    ("categorical_crossentropy", ONE_HOT, metrics.categorical_accuracy),
    (losses.CategoricalCrossentropy(), ONE_HOT, metrics.categorical_accuracy),
    ("sparse_categorical_crossentropy", LABELS, metrics.sparse_categorical_accuracy),
    (losses.sparse_categorical_crossentropy, LABELS[:, None], metrics.sparse_categorical_accuracy),
])
def test_accuracy_resolves_from_the_cross_entropy_loss(loss, y_true, expected):
    for spelling in ("accuracy", "acc", "Accuracy"):
        metric = metrics.get(spelling, loss=loss)
        assert metric.name == spelling
        assert metric.fn is expected  # decided before any data is seen
        np.testing.assert_array_equal(metric(y_true, Y_PRED), [1, 0, 1, 0])


def test_accuracy_with_binary_crossentropy_follows_the_shapes_as_keras_3():
    one_column = metrics.get("accuracy", loss="binary_crossentropy")
    np.testing.assert_array_equal(one_column(np.array([[1.0], [0.0]]), np.array([[0.7], [0.6]])),
                                  [1, 0])
    assert one_column.fn is metrics.binary_accuracy
    # several columns: Keras 3 reports categorical accuracy (argmax), not the per-column rate
    several = metrics.get("acc", loss="binary_crossentropy")
    np.testing.assert_array_equal(several(ONE_HOT, Y_PRED), [1, 0, 1, 0])
    assert several.fn is metrics.categorical_accuracy


@pytest.mark.parametrize("y_true_shape, y_pred_shape, expected", [
    ((8, 1), (8, 1), metrics.binary_accuracy),
    ((8,), (8, 10), metrics.sparse_categorical_accuracy),
    ((8, 1), (8, 10), metrics.sparse_categorical_accuracy),
    ((8, 10), (8, 10), metrics.categorical_accuracy),
])
def test_accuracy_shape_rule(y_true_shape, y_pred_shape, expected):
    assert metrics.accuracy_function_for(y_true_shape, y_pred_shape) is expected


@pytest.mark.parametrize("name, expected_fn", [
    ("categorical_accuracy", metrics.categorical_accuracy),
    ("sparse_categorical_accuracy", metrics.sparse_categorical_accuracy),
    ("binary_accuracy", metrics.binary_accuracy),
    ("top_k_categorical_accuracy", metrics.top_k_categorical_accuracy),
    ("mae", metrics.mean_absolute_error),
    ("mean_squared_error", metrics.mean_squared_error),
])
def test_explicit_names_keep_their_spelling(name, expected_fn):
    metric = metrics.get(name)
    assert metric.name == name and metric.fn is expected_fn


def test_loss_functions_as_metrics_give_per_sample_values():
    y_true, y_pred = np.array([[0.0, 2.0], [1.0, 1.0]]), np.array([[1.0, 2.0], [3.0, 1.0]])
    np.testing.assert_allclose(metrics.get("mse")(y_true, y_pred), [0.5, 2.0])
    np.testing.assert_allclose(metrics.get("mae")(y_true, y_pred), [0.5, 1.0])
    np.testing.assert_allclose(metrics.get("categorical_crossentropy")(ONE_HOT, Y_PRED),
                               -np.log([0.7, 0.2, 0.6, 0.3]), rtol=1e-6)


def test_callables_and_metric_objects():
    def always_half(y_true, y_pred):
        return np.full(len(y_true), 0.5)

    metric = metrics.get(always_half)
    assert metric.name == "always_half"
    np.testing.assert_array_equal(metric(ONE_HOT, Y_PRED), [0.5] * 4)
    instance = metrics.SparseCategoricalAccuracy()
    assert metrics.get(instance) is instance
    # a Keras metric function passed directly keeps its name and returns arrays for Tensors too
    direct = metrics.get(metrics.categorical_accuracy)
    assert direct.name == "categorical_accuracy"
    np.testing.assert_array_equal(direct(ONE_HOT, tinycnn.Tensor(Y_PRED)), [1, 0, 1, 0])


def test_unknown_metric_names_raise_and_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'.*'accuracy'.*'binary_accuracy'"):
        metrics.get("acuracy")
    with pytest.raises(ValueError, match="Could not interpret metric 5"):
        metrics.get(5)


def test_shape_errors_are_explained():
    with pytest.raises(ValueError, match="categorical_accuracy: targets have shape \\(4,\\)"):
        metrics.categorical_accuracy(LABELS, Y_PRED)
    with pytest.raises(ValueError, match="integer labels must have shape \\(4,\\)"):
        metrics.sparse_categorical_accuracy(LABELS[:3], Y_PRED)
