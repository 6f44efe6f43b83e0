"""The CIFAR-10 speedrun: a small ResNet-free CNN trained to about 90 % in a few epochs.

The recipe is Keller Jordan's airbench (github.com/KellerJordan/cifar10-airbench), its 93 %
variant, written with tinycnn's Keras API; each trick is one line below:

* a frozen first convolution that *whitens* 2x2 patches: its 24 filters are the
  eigenvectors of the patches' covariance, each scaled by 1/sqrt(eigenvalue), and their
  negatives (:func:`whitening_kernel`); only its bias trains, for the first epochs;
* three blocks ``conv 3x3 -> max-pool 2 -> BN -> GELU -> conv 3x3 -> BN -> GELU``, convs
  without bias and initialised as the identity on their first channels (``dirac``), BN
  without gamma, with momentum 0.6 per 1024 images and epsilon 1e-12;
* max-pool 3 -> Dense(10, no bias) -> a fixed output scale of 1/9 (``Rescaling``);
* SGD with Nesterov momentum 0.85 and decoupled weight decay; BN biases at 64x the rate;
  the rate warms up linearly from 0.2x to 1x over the first 23 % of steps, then decays
  linearly to 0.07x (:class:`tinycnn.schedules.PiecewiseLinear`, per step);
* label smoothing 0.2;
* augmentation: every image flipped at random once, then the whole set flipped on every
  other epoch (alternating flips), and a random translation of up to 2 pixels with
  reflect padding, drawn per image per epoch (:func:`epoch_images`);
* Lookahead: every 5 batches of 1024 images the weights are pulled toward their slow
  average, ``s <- d s + (1 - d) w; w <- s``, with d rising as ``0.95^5 (step / steps)^3``
  from 0 to 0.77, and the run ends on the average (:func:`lookahead`);
* every epoch drops its last partial batch, as airbench does;
* test-time augmentation: logits averaged over the image, its mirror and two shifted views
  (:func:`predict_tta`).

airbench expresses its rates "per 1024 examples" for a loss *summed* over the batch; with
Keras's mean loss the same steps need ``lr_keras = lr * batch / 1024 / (1 + 1 / (1 - m))``
and, because Keras's weight decay is decoupled (``p -= p wd lr``, not added to the gradient
that momentum then amplifies by ``1 / (1 - m)``), ``wd_keras = wd * batch / 1024 /
(1 + 1 / (1 - m)) / (1 - m) / lr_keras`` (:func:`compile_recipe`).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


@dataclass
class Recipe:
    """The hyperparameters (airbench93's, rates per 1024 examples of a summed loss)."""
    epochs: int = 10
    batch_size: int = 256          # on 2 cores 256 ran 304 img/s, 512 260 (64,128,128 widths, Zen 4)
    widths: tuple = (64, 128, 128)
    lr: float = 11.5
    momentum: float = 0.85
    weight_decay: float = 0.0153
    bias_scaler: float = 64.0
    label_smoothing: float = 0.2
    whiten_bias_epochs: int = 3
    bn_momentum: float = 0.6      # per 1024 images: momentum ** (batch / 1024) per batch
    output_scale: float = 1 / 9
    warmup: float = 0.23          # fraction of the steps spent warming up
    start_factor: float = 0.2     # rate at step 0, as a fraction of the peak
    end_factor: float = 0.07      # rate at the last step
    translate: int = 2
    flip: bool = True
    tta_level: int = 2            # 0 none, 1 mirror, 2 mirror + two shifted views
    seed: int = 0
    tricks_off: list = field(default_factory=list)  # names of tricks removed (the ablation)

    def __post_init__(self):
        unknown = sorted(set(self.tricks_off) - set(TRICKS))
        if unknown:
            raise ValueError(f"speedrun: unknown trick {unknown[0]!r} to leave out; the tricks are "
                             f"{', '.join(TRICKS)}")
        self.widths = tuple(self.widths)


TRICKS = ("whitening", "dirac", "label_smoothing", "bias_scaler", "alternating_flip", "translate", "tta",
          "schedule", "lookahead")


# ----- data --------------------------------------------------------------------------------
def normalise(images_uint8) -> np.ndarray:
    """uint8 NHWC -> float32, each channel to zero mean and unit variance (CIFAR-10's)."""
    return (images_uint8.astype(np.float32) / 255 - CIFAR_MEAN) / CIFAR_STD


def whitening_kernel(images, size=2, eps=5e-4) -> np.ndarray:
    """The whitening convolution's kernel, shape ``(size, size, c, 2 * size * size * c)``.

    Every ``size x size x c`` patch of ``images`` (stride 1) is a vector p; with the
    second-moment matrix ``S = mean(p p^T)`` = ``V diag(l) V^T``, filter k is ``v_k /
    sqrt(l_k + eps)``, largest eigenvalue first, followed by the same filters negated
    (so a GELU after it keeps both signs). The filters' outputs on the patches are
    uncorrelated with unit variance: the first layer starts with whitened inputs."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w, c = images.shape
    patches = np.stack([images[:, i:h - size + 1 + i, j:w - size + 1 + j, :]
                        for i in range(size) for j in range(size)], axis=3)  # (n, h', w', taps, c)
    flat = patches.reshape(-1, size * size * c)
    eigenvalues, eigenvectors = np.linalg.eigh(flat.T @ flat / len(flat))
    order = np.argsort(eigenvalues)[::-1]
    filters = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)  # column k = filter k
    kernel = filters.reshape(size, size, c, size * size * c)
    return np.concatenate([kernel, -kernel], axis=-1).astype(np.float32)


def epoch_images(base, padded, epoch, rng, recipe) -> np.ndarray:
    """The training images of ``epoch``: ``base`` (already flipped at random once) flipped
    as a whole on odd epochs, then each image cut from ``padded`` (``base`` with
    ``translate`` pixels of reflect padding) at a random offset in [-translate, translate]^2.
    One vectorised copy per offset (25 for 2 pixels), no per-image Python loop."""
    flip_all = recipe.flip and "alternating_flip" not in recipe.tricks_off and epoch % 2 == 1
    r = recipe.translate if "translate" not in recipe.tricks_off else 0
    source = padded if r else base
    if flip_all:
        source = source[:, :, ::-1]
    if not r:
        return np.ascontiguousarray(source)
    n, h, w = base.shape[:3]
    shifts = rng.integers(0, 2 * r + 1, size=(n, 2))
    out = np.empty_like(base)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            chosen = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            out[chosen] = source[chosen, dy:dy + h, dx:dx + w]
    return out


# ----- model and optimizer -----------------------------------------------------------------
def build_model(recipe: Recipe, whitening=None):
    """The network (logits out). ``whitening``: the first layer's kernel (from
    :func:`whitening_kernel`); its kernel is frozen, its bias trains."""
    from . import layers
    from .models import Sequential
    torch_like = {"class_name": "VarianceScaling", "scale": 1 / 3, "mode": "fan_in", "distribution": "uniform"}
    conv_init = {"class_name": "Dirac", "fill": torch_like} if "dirac" not in recipe.tricks_off else torch_like

    def conv(width):
        return layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=conv_init)

    # the moving statistics forget at the same rate per image whatever the batch: 0.6 per
    # 1024 images is 0.88 per batch of 256 (at 0.6 per batch the test-time statistics would
    # come from the last ~600 images only)
    momentum = recipe.bn_momentum ** (recipe.batch_size / 1024)

    def norm():
        return layers.BatchNormalization(momentum=momentum, epsilon=1e-12, scale=False)

    stack = [layers.Input((32, 32, 3)),
             layers.Conv2D(24, 2, padding="valid", name="whiten", kernel_initializer=torch_like),
             layers.Activation("gelu")]
    for width in recipe.widths:
        stack += [conv(width), layers.MaxPooling2D(2), norm(), layers.Activation("gelu"),
                  conv(width), norm(), layers.Activation("gelu")]
    stack += [layers.MaxPooling2D(3), layers.Flatten(),
              layers.Dense(10, use_bias=False, kernel_initializer=torch_like),
              layers.Rescaling(recipe.output_scale)]
    model = Sequential(stack, name="speedrun")
    if whitening is not None:
        model.layers[0].kernel.data[...] = whitening
        freeze(model.layers[0].kernel)
    return model


def freeze(weight) -> None:
    """Stop training ``weight``: the optimizer skips it and, once nothing before it in the
    graph needs a gradient, the backward pass does not reach its layer at all."""
    weight.trainable = weight.requires_grad = False


def compile_recipe(model, recipe: Recipe, steps: int) -> None:
    """SGD (Nesterov) with the schedule, weight decay and bias rate of the module docstring,
    and the smoothed cross-entropy on logits."""
    from . import losses, optimizers, schedules
    m, batch = recipe.momentum, recipe.batch_size
    kilostep = 1 + 1 / (1 - m)              # how much Nesterov momentum enlarges a constant step
    lr = recipe.lr * batch / 1024 / kilostep
    decay_per_step = recipe.weight_decay * batch / 1024 / kilostep / (1 - m)
    if "schedule" in recipe.tricks_off:
        rate = lr
    else:
        warm = max(1, int(steps * recipe.warmup))
        rate = schedules.PiecewiseLinear([0, warm, max(warm + 1, steps)],
                                         [lr * recipe.start_factor, lr, lr * recipe.end_factor])
    multipliers = {"*/beta": recipe.bias_scaler} if "bias_scaler" not in recipe.tricks_off else {}
    model.compile(optimizer=optimizers.SGD(rate, momentum=m, nesterov=True, weight_decay=decay_per_step / lr,
                                           learning_rate_multipliers=multipliers),
                  loss=losses.CategoricalCrossentropy(
                      from_logits=True,
                      label_smoothing=0.0 if "label_smoothing" in recipe.tricks_off else recipe.label_smoothing),
                  metrics=["accuracy"])


def lookahead(recipe: Recipe, steps: int):
    """airbench's Lookahead: an update every 5 batches of 1024 images (every 20 of 256; at
    least 10 updates in a run), its decay ``0.95^5 (t / steps)^3`` (none at first, 0.77 at
    the end); None when left out."""
    from .callbacks import Lookahead
    if "lookahead" in recipe.tricks_off:
        return None
    return Lookahead(steps, every=max(1, min(round(5 * 1024 / recipe.batch_size), steps // 10)),
                     decay=lambda fraction: 0.95 ** 5 * fraction ** 3)


def predict_tta(model, images, level=2, batch_size=1000) -> np.ndarray:
    """Logits averaged over views of each image: level 0 the image; 1 the image and its
    mirror; 2 that, half-weighted, plus the mirrored pairs of two views shifted by one
    pixel (up-left and down-right, reflect padding) for the other half."""
    def mirrored(x):
        logits = model.predict(x, batch_size=batch_size, verbose=0)
        return logits if level == 0 else 0.5 * logits + 0.5 * model.predict(
            np.ascontiguousarray(x[:, :, ::-1]), batch_size=batch_size, verbose=0)
    logits = mirrored(images)
    if level < 2:
        return logits
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    h, w = images.shape[1:3]
    shifted = [mirrored(np.ascontiguousarray(padded[:, a:a + h, a:a + w])) for a in (0, 2)]
    return 0.5 * logits + 0.25 * (shifted[0] + shifted[1])


# ----- the run -----------------------------------------------------------------------------
def run(recipe: Recipe, data, verbose=1, evaluate_every_epoch=True, plot=None) -> dict:
    """Train and test; returns the summary (test_accuracy, seconds, epochs, threads, ...).
    ``data`` is ``((x_train, y_train), (x_test, y_test))`` as Keras's load_data gives (uint8
    images, integer labels); the clock starts before normalising them."""
    from . import utils
    from .kernels.threads import get_num_threads
    start = time.perf_counter()
    utils.set_random_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    (x_train, y_train), (x_test, y_test) = data
    x, xt = normalise(x_train), normalise(x_test)
    y = np.eye(10, dtype=np.float32)[np.asarray(y_train).reshape(-1)]
    labels_test = np.asarray(y_test).reshape(-1)
    if recipe.flip:  # every image mirrored at random once; alternate epochs mirror them all
        x = np.where((rng.random(len(x)) < 0.5)[:, None, None, None], x[:, :, ::-1], x)
    r = recipe.translate
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="reflect") if r else None
    whitening = whitening_kernel(x[:5000]) if "whitening" not in recipe.tricks_off else None
    model = build_model(recipe, whitening)
    steps_per_epoch = len(x) // recipe.batch_size  # the last partial batch is dropped
    if steps_per_epoch < 1:
        raise ValueError(f"speedrun: {len(x)} training images make no batch of {recipe.batch_size}; "
                         "give more images or a smaller batch size")
    steps = recipe.epochs * steps_per_epoch
    compile_recipe(model, recipe, steps)
    averaging = lookahead(recipe, steps)
    curve, reporting = [], 0.0
    for epoch in range(recipe.epochs):
        if epoch == recipe.whiten_bias_epochs and whitening is not None:
            freeze(model.layers[0].bias)
        history = model.fit(epoch_images(x, padded, epoch, rng, recipe), y, batch_size=recipe.batch_size,
                            epochs=epoch + 1, initial_epoch=epoch, shuffle=True, steps_per_epoch=steps_per_epoch,
                            callbacks=[averaging] if averaging else None, verbose=verbose)
        point = {"epoch": epoch + 1, "seconds": time.perf_counter() - start - reporting,
                 "loss": history.history["loss"][-1], "accuracy": history.history["accuracy"][-1]}
        if evaluate_every_epoch:  # reporting only: its time is left out of the run's seconds
            began = time.perf_counter()
            point["test_accuracy"] = float(np.mean(model.predict(xt, batch_size=1000, verbose=0).argmax(1)
                                                   == labels_test))
            reporting += time.perf_counter() - began
        curve.append(point)
        if verbose:
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in point.items()}))
    level = recipe.tta_level if "tta" not in recipe.tricks_off else 0
    accuracy = float(np.mean(predict_tta(model, xt, level).argmax(1) == labels_test))
    seconds = time.perf_counter() - start - reporting
    summary = {"test_accuracy": accuracy, "seconds": round(seconds, 2), "epochs": recipe.epochs,
               "threads": get_num_threads(), "train_images": len(x), "test_images": len(xt),
               "recipe": asdict(recipe), "curve": curve}
    if plot:
        plot_curve(curve, accuracy, plot)
    return summary


def plot_curve(curve, final_accuracy, path) -> None:
    """Test accuracy (no TTA) and training loss per epoch against wall time, to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    seconds = [p["seconds"] / 60 for p in curve]
    if "test_accuracy" in curve[0]:
        left.plot(seconds, [100 * p["test_accuracy"] for p in curve], "o-", label="test (no TTA)")
    left.plot(seconds, [100 * p["accuracy"] for p in curve], "s--", label="train (augmented)")
    left.axhline(100 * final_accuracy, color="k", lw=0.8, label=f"final with TTA {100 * final_accuracy:.2f} %")
    left.set(xlabel="minutes", ylabel="accuracy %", title="CIFAR-10 speedrun")
    left.legend()
    right.plot(seconds, [p["loss"] for p in curve], "o-")
    right.set(xlabel="minutes", ylabel="training loss (smoothed labels)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
