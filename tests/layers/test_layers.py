"""Layers: weights in Keras's order, names, building, modes, initializers, constraints and
regularizers. Expected values are computed in each test from the defining formula."""
import numpy as np
import pytest

from tinycnn import Tensor, constraints, initializers, regularizers
from tinycnn.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense,
                            Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Input,
                            MaxPooling2D, ReLU)
from tinycnn.models import Sequential
from tinycnn.utils import clear_session, set_random_seed


def test_default_names_follow_keras_numbering():
    clear_session()
    layers = [Conv2D(2, 3), Conv2D(2, 3), MaxPooling2D(), ReLU(), BatchNormalization(), Dense(1)]
    assert [l.name for l in layers] == ["conv2d", "conv2d_1", "max_pooling2d", "re_lu",
                                        "batch_normalization", "dense"]


def test_conv2d_weights_have_keras_shapes_and_order():
    layer = Conv2D(5, (3, 2), input_shape=(9, 9, 4))
    Sequential([layer])
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 4, 5) and bias.shape == (5,)
    assert kernel.dtype == np.float32 and not bias.any()
    with pytest.raises(ValueError, match=r'layer "conv2d(_\d+)?" \(Conv2D\) expects weights of shapes '
                                         r"\[\(3, 2, 4, 5\), \(5,\)\], got \[\(3, 3, 4, 5\), \(5,\)\]"):
        layer.set_weights([np.zeros((3, 3, 4, 5)), np.zeros(5)])


def test_dense_applies_to_the_last_axis():
    layer = Dense(3, input_shape=(4, 2))
    model = Sequential([layer])
    x = np.random.default_rng(0).normal(size=(5, 4, 2)).astype(np.float32)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-6)
    assert model.output_shape == (None, 4, 3)


def test_glorot_uniform_draws_within_its_limit_with_the_right_variance():
    set_random_seed(0)
    shape = (3, 3, 16, 32)
    w = initializers.get("glorot_uniform")(shape)
    fan_in, fan_out = 3 * 3 * 16, 3 * 3 * 32
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(limit ** 2 / 3, rel=0.05)  # variance of U(-l, l)


@pytest.mark.parametrize("name, variance", [("he_normal", lambda i, o: 2 / i),
                                            ("glorot_normal", lambda i, o: 2 / (i + o)),
                                            ("lecun_normal", lambda i, o: 1 / i)])
def test_truncated_normal_initializers_have_the_named_variance(name, variance):
    set_random_seed(1)
    w = initializers.get(name)((400, 300))
    assert w.var() == pytest.approx(variance(400, 300), rel=0.03)
    scale = np.sqrt(variance(400, 300)) / initializers.TRUNCATED_STD
    assert np.abs(w).max() <= 2 * scale


def test_max_norm_rescales_only_columns_above_the_limit():
    w = np.array([[3.0, 0.3], [4.0, 0.4]], dtype=np.float32)  # column norms 5 and 0.5
    out = constraints.max_norm(2)(w)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 0.5], rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], w[:, 1], rtol=1e-5)


def test_kernel_constraint_is_applied_after_every_update():
    set_random_seed(0)
    model = Sequential([Input(shape=(4,)), Dense(3, kernel_constraint=constraints.maxnorm(0.1))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4)), np.full((8, 3), 5.0), epochs=2, verbose=0)
    assert np.linalg.norm(model.layers[0].get_weights()[0], axis=0).max() <= 0.1 + 1e-6


def test_l2_regularizer_adds_its_penalty_to_the_loss():
    set_random_seed(0)
    model = Sequential([Input(shape=(4,)), Dense(3, kernel_regularizer=regularizers.l2(0.5))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32)
    kernel, bias = model.layers[0].get_weights()
    data_loss = np.mean((x @ kernel + bias - y) ** 2)
    assert model.test_on_batch(x, y) == pytest.approx(data_loss + 0.5 * np.sum(kernel ** 2), rel=1e-5)


def test_l1_regularizer_penalty():
    w = Tensor(np.array([1.0, -2.0, 3.0]))
    assert float(regularizers.l1(0.1)(w).data) == pytest.approx(0.6)
    assert float(regularizers.l1_l2(0.1, 0.01)(w).data) == pytest.approx(0.6 + 0.14)


def test_dropout_is_identity_at_inference_and_scales_survivors_in_training():
    layer = Dropout(0.5, seed=3)
    x = Tensor(np.ones((200, 50)))
    np.testing.assert_array_equal(layer(x, training=False).data, x.data)
    out = layer(x, training=True).data
    assert set(np.unique(out)) == {0.0, 2.0}
    assert (out > 0).mean() == pytest.approx(0.5, abs=0.02)


def test_batch_normalization_training_and_inference_modes():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3)
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 4, 4, 3)).astype(np.float32)
    y = layer(Tensor(x), training=True).data
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * var, rtol=1e-5)
    inference = layer(Tensor(x), training=False).data
    np.testing.assert_allclose(inference, (x - moving_mean) / np.sqrt(moving_var + 1e-3) * gamma + beta,
                               rtol=1e-5, atol=1e-5)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(layer.trainable_weights) == 2


def test_pooling_and_flatten_output_shapes():
    model = Sequential([Input(shape=(7, 9, 2)), MaxPooling2D(), AveragePooling2D(2, 1, "same"), Flatten()])
    assert [l.output_shape for l in model.layers] == [(None, 3, 4, 2), (None, 3, 4, 2), (None, 24)]
    assert Sequential([Input(shape=(5, 5, 3)), GlobalAveragePooling2D()]).output_shape == (None, 3)
    assert Sequential([Input(shape=(5, 5, 3)), GlobalMaxPooling2D()]).output_shape == (None, 3)


def test_flatten_uses_height_width_channel_order():
    x = np.arange(2 * 2 * 3 * 2, dtype=np.float32).reshape(2, 2, 3, 2)
    out = Sequential([Input(shape=(2, 3, 2)), Flatten()]).predict(x)
    np.testing.assert_array_equal(out, x.reshape(2, -1))


def test_relu_layer_options():
    x = Tensor(np.array([-2.0, -0.5, 0.5, 3.0]))
    np.testing.assert_allclose(ReLU()(x).data, [0, 0, 0.5, 3])
    np.testing.assert_allclose(ReLU(max_value=1.0)(x).data, [0, 0, 0.5, 1])
    np.testing.assert_allclose(ReLU(negative_slope=0.1)(x).data, [-0.2, -0.05, 0.5, 3])


def test_activation_layer_softmax_rows_sum_to_one():
    out = Activation("softmax")(Tensor(np.random.default_rng(0).normal(size=(4, 5)))).data
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="Conv2D: unknown padding 'full'"):
        Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv2D: strides must be at least 1, got \(0, 0\)"):
        Conv2D(3, 3, strides=0)
    with pytest.raises(ValueError, match="only data_format='channels_last'"):
        MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) does not fit the input \(4, 4\) with padding 'valid'"):
        Sequential([Input(shape=(4, 4, 1)), Conv2D(2, 5)])
    with pytest.raises(ValueError, match=r"Dropout: rate must be in \[0, 1\), got 1.5"):
        Dropout(1.5)


def test_dirac_filters_pass_their_channel_through_and_the_rest_are_drawn():
    from tinycnn import functional as F
    w = initializers.get("dirac")((3, 3, 4, 6), "float32")
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 4)).astype(np.float32)
    y = F.conv2d(x, w, padding="same").data
    np.testing.assert_array_equal(y[..., :4], x)          # the identity on the first 4 filters
    assert np.abs(w[..., 4:]).max() > 0                  # the others keep glorot draws
    with pytest.raises(ValueError, match="conv kernel shape"):
        initializers.get("dirac")((4, 4), "float32")


def test_rescaling_multiplies_and_offsets_and_refuses_non_numbers():
    from tinycnn import layers
    layer = layers.Rescaling(1 / 255, offset=-0.5)
    x = np.array([[0.0, 255.0]], dtype=np.float32)
    np.testing.assert_allclose(layer(x).data, [[-0.5, 0.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="scale must be a finite number"):
        layers.Rescaling("1/255")
