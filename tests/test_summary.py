"""model.summary(): Keras's table and the parameter counts of the acceptance models.

The models come from :mod:`tinycnn.zoo`, where each is written the way its notebook writes
it (Keras 2 style: ``input_shape=`` on the first layer, separate ``Activation`` layers where
the notebook has them). The expected totals are the figures those notebooks print, as listed
in KERAS_SEMANTICS.md, typed here independently of the zoo's own records.
"""
import pytest

from tinycnn import zoo
from tinycnn.layers import BatchNormalization, Conv2D, Dense, Flatten
from tinycnn.models import Sequential
from tinycnn.utils import clear_session

ACCEPTANCE = {
    "seed001_model1": 181_162,
    "seed001_model2": 252_378,
    "seed002_cifar10_deep": 2_915_114,
    "seed003_cifar10_small": 528_054,
    "seed004_mnist_cnn": 220_234,
    "seed004_mnist_mlp": 669_706,
    "mnist_cnn": 1_199_882,
    "cifar10_cnn": 1_250_858,
}


@pytest.mark.parametrize("name, total", sorted(ACCEPTANCE.items()))
def test_summary_totals_match_the_notebooks(name, total):
    lines = []
    zoo.build(name).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert f"Total params: {total:,} (" in text
    assert f"Trainable params: {total:,} (" in text
    assert "Non-trainable params: 0 (0.00 B)" in text


def test_every_zoo_entry_builds_compiles_and_records_its_count():
    for name in zoo.names():
        model = zoo.build(name)
        entry = zoo.get(name)
        assert model.optimizer is not None and model.count_params() > 0
        if entry.params is not None:
            assert model.count_params() == entry.params
    with pytest.raises(ValueError, match="unknown model 'resnet'; the zoo has: cifar10_cnn, mnist_cnn"):
        zoo.get("resnet")


def test_summary_table_rows_names_shapes_and_counts():
    clear_session()
    lines = []
    zoo.build("seed004_mnist_cnn").summary(print_fn=lines.append)
    rows = [line.split() for line in lines if line.startswith(("conv2d", "max_pooling2d", "flatten", "dense"))]
    assert [r[0] for r in rows] == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten",
                                    "dense", "dense_1"]
    assert " ".join(rows[0][2:]) == "(None, 28, 28, 32) 320"
    assert " ".join(rows[4][2:]) == "(None, 3136) 0"
    assert " ".join(rows[5][2:]) == "(None, 64) 200,768"
    assert lines[0] == 'Model: "sequential"'


def test_batch_norm_weights_count_as_non_trainable():
    model = Sequential([Conv2D(8, 3, input_shape=(8, 8, 3)), BatchNormalization(), Flatten(), Dense(2)])
    lines = []
    model.summary(print_fn=lines.append)
    conv, bn, dense = 3 * 3 * 3 * 8 + 8, 4 * 8, 6 * 6 * 8 * 2 + 2
    text = "\n".join(lines)
    assert f"Total params: {conv + bn + dense:,} (" in text
    assert f"Trainable params: {conv + 2 * 8 + dense:,} (" in text
    assert f"Non-trainable params: {2 * 8:,} (" in text


def test_summary_of_an_unbuilt_model_explains_what_to_do():
    with pytest.raises(ValueError, match="not built yet; give the first layer an input_shape"):
        Sequential([Dense(3)]).summary()
