"""Real-time image augmentation with Keras's ``ImageDataGenerator`` API (channels last).

A batch is augmented in one go: every image gets its own affine map (rotation, shift, zoom,
flips) from output pixel to input point, all maps are evaluated over the pixel grid at once
with array arithmetic, and the whole batch is resampled by bilinear interpolation (four
gathers; one with ``interpolation_order=0``, nearest). Points outside the image follow
``fill_mode``; no Python loop runs per image or per pixel.

Conventions, as Keras's: ``theta`` is in degrees, ``tx``/``ty`` shift rows/columns (the image
content moves by ``-tx`` rows and ``-ty`` columns), ``zx``/``zy`` > 1 zoom out. One
difference: Keras rotates and zooms about the point (h/2 + 0.5, w/2 + 0.5), one pixel off the
centre; tinycnn uses the true centre ((h-1)/2, (w-1)/2), so a 180-degree rotation is exactly
both flips. Randomness comes from a ``numpy.random.Generator``: ``seed`` where given, else
:func:`tinycnn.utils.rng`; NumPy's global state is never used.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import utils
from .image_files import array_to_img, img_to_array, load_img  # noqa: F401  (Keras's keras.preprocessing.image)

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
TRANSFORM_KEYS = ("theta", "tx", "ty", "zx", "zy", "flip_horizontal", "flip_vertical")
_IDENTITY = {"theta": 0.0, "tx": 0.0, "ty": 0.0, "zx": 1.0, "zy": 1.0,
             "flip_horizontal": False, "flip_vertical": False}


def _generator(seed):
    """A generator seeded with ``seed``, or tinycnn's shared one when ``seed`` is None."""
    return utils.rng() if seed is None else np.random.default_rng(seed)


def _check_shift_range(name, value):
    """Keras's shift ranges: a number >= 0 or a 1-D list of candidate shifts."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"ImageDataGenerator: {name} must be >= 0, got {value}")
        return value
    array = np.asarray(value, dtype=float) if isinstance(value, (list, tuple, np.ndarray)) else None
    if array is None or array.ndim != 1 or array.size == 0:
        raise ValueError(f"ImageDataGenerator: {name} must be a number or a 1-D list of "
                         f"numbers, got {value!r}")
    return array


def _random_shifts(shift_range, n, size, gen):
    """``n`` shifts in pixels drawn as Keras draws them, for an axis of ``size`` pixels.

    A float r gives uniform(-r, r); an int r an integer in (-r, r); a list one of its values
    with a random sign. Ranges below 1 are fractions of ``size``.
    """
    if isinstance(shift_range, np.ndarray):
        shifts = gen.choice(shift_range, n) * gen.choice([-1.0, 1.0], n)
    elif isinstance(shift_range, numbers.Integral):
        shifts = gen.integers(0, shift_range, n) * gen.choice([-1.0, 1.0], n)
    else:
        shifts = gen.uniform(-shift_range, shift_range, n)
    return shifts * size if np.max(shift_range) < 1 else shifts


def _fill_indices(i, size, mode):
    """Map integer coordinates onto ``0..size-1`` by ``mode``; also return the in-bounds mask
    for 'constant' (None otherwise)."""
    if mode == "nearest":                                   # aaaa|abcd|dddd
        return np.clip(i, 0, size - 1), None
    if mode == "wrap":                                      # abcd|abcd|abcd
        return np.mod(i, size), None
    if mode == "reflect":                                   # dcba|abcd|dcba
        m = np.mod(i, 2 * size)
        return np.where(m < size, m, 2 * size - 1 - m), None
    inside = (i >= 0) & (i < size)                          # kkkk|abcd|kkkk
    return np.clip(i, 0, size - 1), inside


class ImageDataGenerator:
    """Keras's ``ImageDataGenerator`` for channels-last images: random augmentation and
    normalisation, with :meth:`flow` yielding augmented batches forever.

    Supported: rotation_range (degrees), width/height_shift_range (< 1: fraction of the
    size, >= 1: pixels), zoom_range (float z means [1-z, 1+z], or a pair), horizontal/
    vertical flips, fill_mode ('nearest', 'constant' with ``cval``, 'reflect', 'wrap'),
    rescale, sample- and feature-wise centring and std normalisation, validation_split and
    interpolation_order (1 bilinear, Keras's default; 0 nearest). Arguments are keyword-only.
    """

    def __init__(self, *, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 rotation_range=0, width_shift_range=0.0, height_shift_range=0.0, zoom_range=0.0,
                 horizontal_flip=False, vertical_flip=False, fill_mode="nearest", cval=0.0,
                 rescale=None, validation_split=0.0, interpolation_order=1, dtype="float32"):
        if not isinstance(rotation_range, numbers.Real) or rotation_range < 0:
            raise ValueError(f"ImageDataGenerator: rotation_range must be a number of degrees "
                             f">= 0, got {rotation_range!r}")
        if isinstance(zoom_range, numbers.Real):
            zoom = (1 - zoom_range, 1 + zoom_range)
        elif isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2:
            zoom = (float(zoom_range[0]), float(zoom_range[1]))
        else:
            raise ValueError(f"ImageDataGenerator: zoom_range must be a float or a pair of "
                             f"floats, got {zoom_range!r}")
        if zoom[0] <= 0 or zoom[0] > zoom[1]:
            raise ValueError(f"ImageDataGenerator: zoom factors must satisfy 0 < low <= high, "
                             f"got {zoom}")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of "
                             f"{', '.join(FILL_MODES)}, got {fill_mode!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be in [0, 1), got "
                             f"{validation_split}")
        if interpolation_order not in (0, 1):
            raise ValueError(f"ImageDataGenerator: interpolation_order must be 0 (nearest) or 1 "
                             f"(bilinear), got {interpolation_order!r}")
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.rotation_range = rotation_range
        self.width_shift_range = _check_shift_range("width_shift_range", width_shift_range)
        self.height_shift_range = _check_shift_range("height_shift_range", height_shift_range)
        self.zoom_range = zoom
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.fill_mode = fill_mode
        self.cval = cval
        self.rescale = rescale
        self.validation_split = validation_split
        self.interpolation_order = interpolation_order
        self.dtype = np.dtype(dtype)
        self.mean = None
        self.std = None

    @property
    def augments(self) -> bool:
        """Whether any random geometric transform is configured."""
        return bool(self.rotation_range or np.any(self.width_shift_range)
                    or np.any(self.height_shift_range) or self.zoom_range != (1.0, 1.0)
                    or self.horizontal_flip or self.vertical_flip)

    # --- normalisation ---------------------------------------------------------------------

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the per-channel mean and std of ``x`` (n, h, w, c) for the feature-wise options.

        As in Keras, ``rescale`` is not applied here (but is applied before the feature-wise
        statistics in :meth:`standardize`); with ``augment=True`` the statistics are taken
        over ``rounds`` randomly augmented copies of ``x``.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"fit: expected a batch of images (n, height, width, channels), "
                             f"got shape {x.shape}")
        if augment:
            gen = _generator(seed)
            x = np.concatenate([self._transform(x, self._random_params(x.shape, gen))
                                for _ in range(rounds)])
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)
        return self

    def standardize(self, x):
        """Apply rescale, then sample-wise, then feature-wise normalisation to one image
        (h, w, c) or a batch (n, h, w, c); sample-wise statistics are per image. Returns a
        new array of ``dtype``."""
        x = np.array(x, dtype=self.dtype)
        if x.ndim not in (3, 4):
            raise ValueError(f"standardize: expected an image (h, w, c) or a batch (n, h, w, c), "
                             f"got shape {x.shape}")
        image_axes = (-3, -2, -1)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, axis=image_axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, axis=image_axes, keepdims=True) + 1e-6
        for flag, stat, name in ((self.featurewise_center, self.mean, "featurewise_center"),
                                 (self.featurewise_std_normalization, self.std,
                                  "featurewise_std_normalization")):
            if flag and stat is None:
                warnings.warn(f"ImageDataGenerator specifies {name} but has not been fit on any "
                              f"data; call .fit(x_train) first", stacklevel=2)
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-6
        return x

    # --- random transforms -----------------------------------------------------------------

    def _random_params(self, shape, gen):
        """One random transform per image of a batch of ``shape`` (n, h, w, c): length-n arrays."""
        n, h, w = shape[:3]
        params = {
            "theta": gen.uniform(-self.rotation_range, self.rotation_range, n)
            if self.rotation_range else np.zeros(n),
            "tx": _random_shifts(self.height_shift_range, n, h, gen)
            if np.any(self.height_shift_range) else np.zeros(n),
            "ty": _random_shifts(self.width_shift_range, n, w, gen)
            if np.any(self.width_shift_range) else np.zeros(n),
        }
        if self.zoom_range == (1.0, 1.0):
            params["zx"] = params["zy"] = np.ones(n)
        else:
            params["zx"], params["zy"] = gen.uniform(*self.zoom_range, (2, n))
        for key, enabled in (("flip_horizontal", self.horizontal_flip),
                             ("flip_vertical", self.vertical_flip)):
            params[key] = (gen.random(n) < 0.5) if enabled else np.zeros(n, bool)
        return params

    def _transform(self, x, params):
        """Resample the batch ``x`` (n, h, w, c) through each image's affine map and flips."""
        n, h, w, c = x.shape
        theta = np.deg2rad(params["theta"]).astype(np.float32)
        cos, sin = np.cos(theta), np.sin(theta)
        zx, zy = (np.asarray(params[k], np.float32) for k in ("zx", "zy"))
        tx, ty = (np.asarray(params[k], np.float32) for k in ("tx", "ty"))
        # input = R Z (q - centre) + R t + centre, where q is the (flipped) output pixel.
        a00, a01, a10, a11 = cos * zx, -sin * zy, sin * zx, cos * zy
        centre_r, centre_c = (h - 1) / 2, (w - 1) / 2
        off_r = cos * tx - sin * ty + centre_r
        off_c = sin * tx + cos * ty + centre_c
        rows, cols = np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32)
        q_r = np.where(params["flip_vertical"][:, None], h - 1 - rows, rows) - centre_r  # (n, h)
        q_c = np.where(params["flip_horizontal"][:, None], w - 1 - cols, cols) - centre_c  # (n, w)
        q_r, q_c = q_r[:, :, None], q_c[:, None, :]
        in_r = a00[:, None, None] * q_r + a01[:, None, None] * q_c + off_r[:, None, None]
        in_c = a10[:, None, None] * q_r + a11[:, None, None] * q_c + off_c[:, None, None]

        # Channel planes (c, n*h*w): each gather and blend then runs over long contiguous rows.
        planes = np.ascontiguousarray(np.moveaxis(x, -1, 0)).reshape(c, n * h * w)
        base = (np.arange(n) * (h * w))[:, None, None]

        mode = self.fill_mode

        def row_starts(i):
            """Flat offsets of rows ``i`` (mapped by fill_mode) and their in-bounds mask."""
            ri, inside = _fill_indices(i, h, mode)
            return base + ri * w, inside

        def gather(rows_, cols_):
            """Pixels at rows from :func:`row_starts` and fill-mapped columns: (c, n*h*w)."""
            (row_start, r_in), (ci, c_in) = rows_, cols_
            values = planes.take((row_start + ci).ravel(), axis=1)
            if r_in is not None:
                values = np.where((r_in & c_in).ravel(), values, np.float32(self.cval))
            return values

        if self.interpolation_order == 0:
            out = gather(row_starts(np.floor(in_r + 0.5).astype(np.intp)),
                         _fill_indices(np.floor(in_c + 0.5).astype(np.intp), w, mode))
        else:
            r0, c0 = np.floor(in_r), np.floor(in_c)
            fr, fc = (in_r - r0).ravel(), (in_c - c0).ravel()
            r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
            ra, rb = row_starts(r0), row_starts(r0 + 1)
            ca, cb = _fill_indices(c0, w, mode), _fill_indices(c0 + 1, w, mode)
            top, bottom = gather(ra, ca), gather(rb, ca)
            top += (gather(ra, cb) - top) * fc                   # lerp along columns
            bottom += (gather(rb, cb) - bottom) * fc
            out = top + (bottom - top) * fr                      # then along rows
        out = np.moveaxis(out.reshape(c, n, h, w), 0, -1)
        return np.ascontiguousarray(out, dtype=self.dtype)

    def _augment_batch(self, x, gen):
        """Randomly transform a float batch (n, h, w, c); a no-op when nothing is configured."""
        return self._transform(x, self._random_params(x.shape, gen)) if self.augments else x

    def get_random_transform(self, img_shape, seed=None):
        """A dict of random transform parameters for one image of shape (h, w, c)."""
        params = self._random_params((1, *img_shape[:2]), _generator(seed))
        return {k: (bool(v[0]) if v.dtype == bool else float(v[0])) for k, v in params.items()}

    def apply_transform(self, x, transform_parameters):
        """Transform one image (h, w, c) with a dict of parameters (missing ones are identity):
        theta (degrees), tx, ty (pixels), zx, zy, flip_horizontal, flip_vertical."""
        unknown = set(transform_parameters) - set(TRANSFORM_KEYS)
        if unknown:
            raise ValueError(f"apply_transform: unknown parameter(s) {', '.join(sorted(unknown))}; "
                             f"supported: {', '.join(TRANSFORM_KEYS)}")
        x = self._as_image(x, "apply_transform")
        params = {k: np.array([transform_parameters.get(k, v)]) for k, v in _IDENTITY.items()}
        return self._transform(x[None], params)[0]

    def random_transform(self, x, seed=None):
        """One image (h, w, c) randomly transformed, as a new array of ``dtype``."""
        x = self._as_image(x, "random_transform")
        return self._augment_batch(x[None], _generator(seed))[0].copy()

    def _as_image(self, x, caller):
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 3:
            raise ValueError(f"{caller}: expected one image (height, width, channels), got shape "
                             f"{x.shape}")
        return x

    # --- batches ---------------------------------------------------------------------------

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None, subset=None):
        """An endless iterator of augmented, standardised batches ``(x_batch, y_batch)``
        (``x_batch`` alone when ``y`` is None); ``len()`` is the number of batches per epoch.
        ``subset`` is 'training' or 'validation' when ``validation_split`` is set."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                  subset=subset)


class NumpyArrayIterator:
    """Batches from in-memory arrays, looping forever and reshuffling at every epoch start.

    Iterate with ``next()``; or index it like a Keras ``Sequence`` (``it[i]`` for
    ``i < len(it)``, then ``on_epoch_end()`` to reshuffle). ``x_batch`` is ``dtype`` (float32
    by default); ``y_batch`` keeps the dtype of ``y``, as in Keras.
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=True, seed=None,
                 subset=None):
        x = np.asarray(x)  # kept as given (uint8 stays compact); batches are cast on the way out
        if x.ndim != 4:
            raise ValueError(f"flow: x must be a batch of images (n, height, width, channels), "
                             f"got shape {x.shape}")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"flow: x has {len(x)} samples but y has {len(y)}")
        if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"flow: batch_size must be a positive integer, got {batch_size!r}")
        if subset is not None:
            x, y = self._split(x, y, image_data_generator.validation_split, subset)
        if len(x) == 0:
            raise ValueError("flow: no samples to iterate over")
        self.x, self.y = x, y
        self.image_data_generator = image_data_generator
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.n = len(x)
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None

    @staticmethod
    def _split(x, y, validation_split, subset):
        """Keras's split: the first ``validation_split`` of the samples are for validation."""
        if subset not in ("training", "validation"):
            raise ValueError(f"flow: subset must be 'training' or 'validation', got {subset!r}")
        if not validation_split:
            raise ValueError("flow: subset needs ImageDataGenerator(validation_split=...) > 0")
        split = int(len(x) * validation_split)
        if y is not None and not np.array_equal(np.unique(y[:split]), np.unique(y[split:])):
            raise ValueError("flow: the training and validation subsets hold different classes "
                             "after the split; shuffle x and y first if they are sorted by label")
        part = slice(None, split) if subset == "validation" else slice(split, None)
        return x[part], (None if y is None else y[part])

    @property
    def rng(self):
        """The generator for shuffling and augmentation: the seeded one, else tinycnn's."""
        return self._rng if self._rng is not None else utils.rng()

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def on_epoch_end(self):
        """Draw the sample order of the next epoch (shuffled when ``shuffle``)."""
        self.index_array = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def reset(self):
        """Start the next ``next()`` at a new epoch."""
        self.batch_index = 0

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} out of range: this iterator has {len(self)} batches "
                             f"per epoch")
        if self.index_array is None:
            self.on_epoch_end()
        return self._batch(self.index_array[i * self.batch_size:(i + 1) * self.batch_size])

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_index == 0:
            self.on_epoch_end()
        start = self.batch_index * self.batch_size
        indices = self.index_array[start:start + self.batch_size]
        self.batch_index = (self.batch_index + 1) % len(self)
        self.total_batches_seen += 1
        return self._batch(indices)

    def _batch(self, indices):
        gen = self.image_data_generator
        x = gen.standardize(gen._augment_batch(self.x[indices].astype(gen.dtype), self.rng))
        return x if self.y is None else (x, self.y[indices])
