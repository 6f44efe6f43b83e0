"""The classic notebooks' architectures, by name, with each notebook's training defaults.

Every builder is written the way its notebook writes the model (Keras 2 style, separate
``Activation`` layers where the notebook has them), so that it doubles as an example of
notebook code running unchanged on tinycnn.

>>> from tinycnn import zoo
>>> model = zoo.build("seed004_mnist_cnn")          # a compiled model
>>> zoo.names()                                      # what is available
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import optimizers
from .constraints import maxnorm
from .layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from .models import Sequential


def seed000_cifar10():
    """CIFAR-10 with augmentation notebook (543,210 params): 32 3x3, 32 2x2 and 64 2x2 'same'
    convolutions, each with 2x2 pooling, dropout 0.25 and Dense 512; trained with
    ``optimizer='Adamax'``, whose default learning rate was 0.002 in the notebook's Keras 2
    (Keras 3's is 0.001), batch 35, 50 epochs."""
    input_shape = (32, 32, 3)
    model = Sequential()
    model.add(Conv2D(filters=32, kernel_size=3, padding="same", kernel_initializer="glorot_uniform",
                     activation="relu", input_shape=input_shape))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Conv2D(filters=32, kernel_size=2, padding="same", kernel_initializer="glorot_uniform",
                     activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Dropout(0.25))
    model.add(Conv2D(filters=64, kernel_size=2, kernel_initializer="glorot_uniform", padding="same",
                     activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(512, kernel_initializer="glorot_uniform", activation="relu"))
    model.add(Dropout(0.25))
    model.add(Dense(10, activation="softmax"))
    return model


def seed001_model1():
    """CIFAR-10 layers notebook, model_1: two strided 5x5 convolutions (181,162 params),
    RMSprop(lr=0.0005, decay=1e-6), batch 32."""
    model = Sequential()
    model.add(Conv2D(32, (5, 5), strides=(2, 2), padding="same", input_shape=(32, 32, 3)))
    model.add(Activation("relu"))
    model.add(Conv2D(32, (5, 5), strides=(2, 2)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(512))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    return model


def seed001_model2():
    """CIFAR-10 layers notebook, the exercise's model_2 (252,378 params): Conv -> Conv ->
    MaxPool -> Conv -> Conv -> MaxPool -> Dense, strides 1; RMSprop(lr=0.0001, decay=1e-6),
    batch 32, 5 epochs."""
    num_classes = 10
    model_2 = Sequential()
    model_2.add(Conv2D(32, (5, 5), strides=(1, 1), padding="same", input_shape=(32, 32, 3)))
    model_2.add(Activation("relu"))
    model_2.add(Conv2D(32, (5, 5), strides=(1, 1)))
    model_2.add(Activation("relu"))
    model_2.add(MaxPooling2D(pool_size=(2, 2)))
    model_2.add(Dropout(0.5))
    model_2.add(Conv2D(32, (3, 3), strides=(1, 1)))
    model_2.add(Activation("relu"))
    model_2.add(Conv2D(16, (3, 3), strides=(1, 1)))
    model_2.add(Activation("relu"))
    model_2.add(MaxPooling2D(pool_size=(2, 2)))
    model_2.add(Dropout(0.5))
    model_2.add(Flatten())
    model_2.add(Dense(512))
    model_2.add(Activation("relu"))
    model_2.add(Dropout(0.5))
    model_2.add(Dense(num_classes))
    model_2.add(Activation("softmax"))
    return model_2


def seed002_cifar10_deep():
    """Deeper CIFAR-10 network (2,915,114 params): six 3x3 convolutions with dropout and
    pooling, max-norm constrained Dense 1024 and 512; SGD(lr=0.01, momentum=0.9,
    decay=0.01/25), batch 32."""
    model = Sequential()
    model.add(Conv2D(32, (3, 3), input_shape=(32, 32, 3), activation="relu", padding="same"))
    model.add(Dropout(0.2))
    model.add(Conv2D(32, (3, 3), activation="relu", padding="same"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3), activation="relu", padding="same"))
    model.add(Dropout(0.2))
    model.add(Conv2D(64, (3, 3), activation="relu", padding="same"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(128, (3, 3), activation="relu", padding="same"))
    model.add(Dropout(0.2))
    model.add(Conv2D(128, (3, 3), activation="relu", padding="same"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.2))
    model.add(Dense(1024, activation="relu", kernel_constraint=maxnorm(3)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation="relu", kernel_constraint=maxnorm(3)))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation="softmax"))
    return model


def seed003_cifar10_small():
    """Small AlexNet-like CIFAR-10 model (528,054 params): three 2x2 convolutions with
    pooling, Dense 500; RMSprop, batch 32."""
    model = Sequential()
    model.add(Conv2D(filters=16, kernel_size=2, padding="same", activation="relu", input_shape=(32, 32, 3)))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Conv2D(filters=32, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Conv2D(filters=64, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Dropout(0.3))
    model.add(Flatten())
    model.add(Dense(500, activation="relu"))
    model.add(Dropout(0.4))
    model.add(Dense(10, activation="softmax"))
    return model


def seed004_mnist_mlp():
    """MNIST multi-layer perceptron 512-512-10 (669,706 params); RMSprop, batch 64."""
    model = Sequential()
    model.add(Flatten(input_shape=(28, 28)))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    return model


def seed004_mnist_cnn():
    """MNIST CNN (220,234 params): two 3x3 'same' convolutions with pooling, Dense 64;
    RMSprop, batch 64."""
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3), padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    return model


def keras_mnist_cnn():
    """Keras's classic examples/mnist_cnn.py (1,199,882 params); Adadelta with Keras 2's
    default rate 1.0 (Keras 3's default is 0.001, too slow for this example), batch 128."""
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    return model


def keras_cifar10_cnn():
    """Keras's classic examples/cifar10_cnn.py (1,250,858 params); RMSprop(lr=0.0001,
    decay=1e-6), batch 32."""
    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)))
    model.add(Activation("relu"))
    model.add(Conv2D(32, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), padding="same"))
    model.add(Activation("relu"))
    model.add(Conv2D(64, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(512))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    return model


@dataclass(frozen=True)
class Entry:
    """A zoo model and its notebook's training recipe."""
    build: Callable[[], Sequential]
    optimizer: Callable[[], object]
    batch_size: int
    dataset: str                 # 'mnist' or 'cifar10'
    params: int | None           # the notebook's reported parameter count, when known
    loss: str = "categorical_crossentropy"


ENTRIES = {
    "seed000_cifar10": Entry(seed000_cifar10, lambda: optimizers.Adamax(learning_rate=0.002), 35, "cifar10", 543_210),
    "seed001_model1": Entry(seed001_model1, lambda: optimizers.RMSprop(lr=0.0005, decay=1e-6), 32, "cifar10", 181_162),
    "seed001_model2": Entry(seed001_model2, lambda: optimizers.RMSprop(lr=0.0001, decay=1e-6), 32, "cifar10", 252_378),
    "seed002_cifar10_deep": Entry(seed002_cifar10_deep,
                                  lambda: optimizers.SGD(lr=0.01, momentum=0.9, decay=0.01 / 25, nesterov=False),
                                  32, "cifar10", 2_915_114),
    "seed003_cifar10_small": Entry(seed003_cifar10_small, lambda: optimizers.RMSprop(), 32, "cifar10", 528_054),
    "seed004_mnist_mlp": Entry(seed004_mnist_mlp, lambda: optimizers.RMSprop(), 64, "mnist", 669_706),
    "seed004_mnist_cnn": Entry(seed004_mnist_cnn, lambda: optimizers.RMSprop(), 64, "mnist", 220_234),
    "mnist_cnn": Entry(keras_mnist_cnn, lambda: optimizers.Adadelta(learning_rate=1.0), 128, "mnist", 1_199_882),
    "cifar10_cnn": Entry(keras_cifar10_cnn, lambda: optimizers.RMSprop(lr=0.0001, decay=1e-6), 32, "cifar10",
                         1_250_858),
}


def names() -> list[str]:
    return sorted(ENTRIES)


def get(name: str) -> Entry:
    if name not in ENTRIES:
        raise ValueError(f"unknown model {name!r}; the zoo has: {', '.join(names())}")
    return ENTRIES[name]


def build(name: str, compile: bool = True) -> Sequential:
    """A fresh model by zoo name, compiled with its notebook's optimizer and loss."""
    entry = get(name)
    model = entry.build()
    if compile:
        model.compile(optimizer=entry.optimizer(), loss=entry.loss, metrics=["accuracy"])
    return model
