"""ImageDataGenerator: geometry of each transform, fill modes, normalisation, seeding, flow."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinycnn import utils
from tinycnn.preprocessing import ImageDataGenerator


def random_image(h=9, w=7, c=3, seed=0):
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


# --- geometry -------------------------------------------------------------------------------

def test_identity_transforms_return_the_image_exactly():
    img = random_image()
    gen = ImageDataGenerator(rotation_range=0, zoom_range=0.0)
    np.testing.assert_array_equal(gen.apply_transform(img, {}), img)
    np.testing.assert_array_equal(gen.apply_transform(img, {"theta": 0, "zx": 1, "zy": 1}), img)
    np.testing.assert_array_equal(gen.random_transform(img, seed=1), img)


def test_shift_moves_content_by_whole_pixels():
    img = np.zeros((12, 10, 1), np.float32)
    img[6, 4] = 1.0
    gen = ImageDataGenerator(fill_mode="constant")
    # As in Keras, tx/ty name the sampling offset: content moves by -tx rows and -ty columns.
    out = gen.apply_transform(img, {"tx": 3, "ty": -2})
    assert np.argwhere(out[..., 0] == 1.0).tolist() == [[3, 6]]
    assert out.sum() == 1.0
    out = ImageDataGenerator().apply_transform(random_image(), {"tx": 2})
    np.testing.assert_array_equal(out[:-2], random_image()[2:])


def test_random_shift_ranges_follow_keras():
    def shifts(key, **kwargs):
        gen = ImageDataGenerator(**kwargs)
        return np.array([gen.get_random_transform((20, 10, 3), seed=s)[key] for s in range(300)])

    fraction = shifts("ty", width_shift_range=0.2)            # < 1: fraction of width 10
    assert np.abs(fraction).max() <= 2.0 and np.abs(fraction).max() > 1.5
    assert not np.all(fraction == np.round(fraction))
    pixels = shifts("tx", height_shift_range=3)               # int: whole pixels in (-3, 3)
    assert set(pixels) == {-2.0, -1.0, 0.0, 1.0, 2.0}
    listed = shifts("ty", width_shift_range=[1, 4])           # list: one of them, either sign
    assert set(listed) == {-4.0, -1.0, 1.0, 4.0}


def test_random_shift_resamples_by_the_drawn_offset():
    img = random_image(16, 16, 3)
    gen = ImageDataGenerator(width_shift_range=5, height_shift_range=5, fill_mode="wrap")
    params = gen.get_random_transform(img.shape, seed=7)
    expected = np.roll(img, (-int(params["tx"]), -int(params["ty"])), axis=(0, 1))
    np.testing.assert_array_equal(gen.random_transform(img, seed=7), expected)


def test_flips_are_exact_and_twice_is_identity():
    img = random_image()
    gen = ImageDataGenerator()
    once = gen.apply_transform(img, {"flip_horizontal": True})
    np.testing.assert_array_equal(once, img[:, ::-1])
    np.testing.assert_array_equal(gen.apply_transform(once, {"flip_horizontal": True}), img)
    both = gen.apply_transform(img, {"flip_horizontal": True, "flip_vertical": True})
    np.testing.assert_array_equal(both, img[::-1, ::-1])
    flipper = ImageDataGenerator(horizontal_flip=True)
    outcomes = []
    for seed in range(100):                  # every draw is either flipped or untouched
        out = flipper.random_transform(img, seed=seed)
        if np.array_equal(out, img[:, ::-1]):
            outcomes.append("flipped")
        elif np.array_equal(out, img):
            outcomes.append("same")
    assert len(outcomes) == 100 and 25 < outcomes.count("flipped") < 75


def test_rotation_turns_about_the_centre():
    img = random_image(8, 8, 2)
    gen = ImageDataGenerator()
    # theta > 0 turns the content clockwise (Keras's rotation matrix, rows down).
    for theta, expected in ((90, np.rot90(img, -1)), (-90, np.rot90(img, 1)),
                            (180, img[::-1, ::-1])):
        np.testing.assert_allclose(gen.apply_transform(img, {"theta": theta}), expected, atol=1e-5)


def test_zoom_scales_about_the_centre_with_bilinear_sampling():
    ramp = np.broadcast_to(np.arange(9, dtype=np.float32)[:, None, None], (9, 5, 1)).copy()
    gen = ImageDataGenerator()
    # Output row r samples input row 4 + zx * (r - 4); a linear ramp is reproduced exactly.
    zoomed_in = gen.apply_transform(ramp, {"zx": 0.5})
    np.testing.assert_allclose(zoomed_in[:, 2, 0], 4 + 0.5 * (np.arange(9) - 4), atol=1e-6)
    nearest = ImageDataGenerator(interpolation_order=0).apply_transform(ramp, {"zx": 0.5})
    assert set(np.unique(nearest)) <= set(range(9))
    zx = [ImageDataGenerator(zoom_range=0.2).get_random_transform((9, 5, 1), seed=s)["zx"]
          for s in range(200)]
    assert 0.8 <= min(zx) < 0.85 and 1.15 < max(zx) <= 1.2
    zy = [ImageDataGenerator(zoom_range=(0.5, 0.7)).get_random_transform((9, 5, 1), seed=s)["zy"]
          for s in range(50)]
    assert 0.5 <= min(zy) and max(zy) <= 0.7


@pytest.mark.parametrize("mode, expected", [
    ("nearest", [0, 0, 0, 1, 2]),     # aaaa|abcd|dddd
    ("constant", [9, 9, 0, 1, 2]),    # kkkk|abcd|kkkk
    ("reflect", [1, 0, 0, 1, 2]),     # dcba|abcd|dcba
    ("wrap", [3, 4, 0, 1, 2]),        # abcd|abcd|abcd
])
def test_fill_modes(mode, expected):
    column = np.broadcast_to(np.arange(5, dtype=np.float32)[:, None, None], (5, 3, 1))
    out = ImageDataGenerator(fill_mode=mode, cval=9).apply_transform(column, {"tx": -2})
    np.testing.assert_array_equal(out[:, 1, 0], expected)


def test_shapes_and_dtypes_are_kept():
    img = (random_image(10, 6, 3) * 255).astype(np.uint8)
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.2, zoom_range=0.1,
                             horizontal_flip=True)
    out = gen.random_transform(img, seed=0)
    assert out.shape == (10, 6, 3) and out.dtype == np.float32
    out64 = ImageDataGenerator(rotation_range=30, dtype="float64").random_transform(img, seed=0)
    assert out64.dtype == np.float64
    x_batch, y_batch = next(gen.flow(np.stack([img] * 5), np.arange(5), batch_size=4, seed=0))
    assert x_batch.shape == (4, 10, 6, 3) and x_batch.dtype == np.float32
    assert y_batch.dtype == np.arange(5).dtype


# --- randomness -----------------------------------------------------------------------------

def augmenting():
    return ImageDataGenerator(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                              zoom_range=0.1, horizontal_flip=True)


def test_seeded_streams_reproduce_and_differ_by_seed():
    x = np.random.default_rng(0).random((10, 8, 8, 3), dtype=np.float32)
    y = np.arange(10)
    a, b, c = (augmenting().flow(x, y, batch_size=4, seed=s) for s in (5, 5, 6))
    for _ in range(7):                       # more than two epochs
        (xa, ya), (xb, yb), (xc, _) = next(a), next(b), next(c)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(xa, xc)
    img = x[0]
    np.testing.assert_array_equal(augmenting().random_transform(img, seed=3),
                                  augmenting().random_transform(img, seed=3))


def test_unseeded_draws_use_tinycnn_rng_never_numpys_global_state():
    img = random_image()
    before = np.random.get_state()[1].copy()
    utils.set_random_seed(11)
    first = augmenting().random_transform(img)
    utils.set_random_seed(11)
    np.testing.assert_array_equal(augmenting().random_transform(img), first)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


# --- normalisation --------------------------------------------------------------------------

def test_featurewise_normalisation_gives_zero_mean_unit_std_per_channel():
    r = np.random.default_rng(0)
    x = r.normal([10.0, -3.0, 100.0], [2.0, 0.5, 30.0], size=(200, 6, 6, 3)).astype(np.float32)
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True).fit(x)
    assert gen.mean.shape == gen.std.shape == (1, 1, 3)
    out = gen.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)
    with pytest.warns(UserWarning, match="call .fit"):
        ImageDataGenerator(featurewise_center=True).standardize(x[0])


def test_samplewise_normalisation_and_rescale():
    x = np.random.default_rng(0).random((4, 5, 5, 3)).astype(np.float32) * 255
    gen = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    out = gen.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-4)
    rescaled = ImageDataGenerator(rescale=1 / 255).standardize(x)
    np.testing.assert_allclose(rescaled, x / 255, rtol=1e-6)
    assert out is not x and x.max() > 1          # the input is left untouched


# --- flow -----------------------------------------------------------------------------------

def test_flow_batch_counts_epochs_and_looping():
    x = np.zeros((10, 4, 4, 1), np.float32)
    y = np.arange(10)
    it = ImageDataGenerator().flow(x, y, batch_size=4, seed=0)
    assert len(it) == math.ceil(10 / 4) == 3
    epochs = []
    for _ in range(3):
        batches = [next(it) for _ in range(len(it))]
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        epochs.append(np.concatenate([b[1] for b in batches]))
    for order in epochs:
        assert sorted(order) == list(range(10))        # every sample once per epoch
    assert not np.array_equal(epochs[0], epochs[1])    # reshuffled each epoch
    ordered = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert [next(ordered)[1].tolist() for _ in range(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9],
                                                            [0, 1, 2, 3]]
    only_x = next(ImageDataGenerator(rescale=2.0).flow(x + 1, batch_size=3, shuffle=False))
    assert isinstance(only_x, np.ndarray) and only_x.shape == (3, 4, 4, 1) and only_x.max() == 2.0


def test_flow_as_a_sequence():
    x = np.zeros((5, 2, 2, 1), np.float32)
    it = ImageDataGenerator().flow(x, np.arange(5), batch_size=2, seed=1)
    seen = np.concatenate([it[i][1] for i in range(len(it))])
    assert sorted(seen) == list(range(5))
    with pytest.raises(IndexError, match="3 batches per epoch"):
        it[3]


def test_flow_validation_split_takes_the_first_samples():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.array([0, 1] * 5)
    gen = ImageDataGenerator(validation_split=0.2)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert next(val)[0].ravel().tolist() == [0, 1]
    assert next(train)[0].ravel().tolist() == list(range(2, 10))
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.sort(y), subset="training")


def test_invalid_arguments_are_rejected_in_plain_words():
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="zoom_range must be a float or a pair"):
        ImageDataGenerator(zoom_range=[0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        ImageDataGenerator().flow(np.zeros((3, 2, 2, 1)), [0, 1])
    with pytest.raises(ValueError, match=r"\(n, height, width, channels\)"):
        ImageDataGenerator().flow(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="unknown parameter"):
        ImageDataGenerator().apply_transform(random_image(), {"shear": 10})
