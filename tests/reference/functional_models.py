"""Functional models built the same way in Keras and in tinycnn: ``api`` is ``keras`` in
``make_keras_golden.py`` and a namespace of ``tinycnn.layers`` and ``tinycnn.models.Model``
in the tests, so the golden file and the test run one definition."""


def resnet_block_model(api):
    """A small ResNet-style functional model: a stem, one residual block (two 3x3 convs and
    batch normalization, added to the block's input), a strided block whose projection
    shortcut meets the main path in every merge layer, global pooling and a softmax."""
    L = api.layers
    x = L.Input(shape=(8, 8, 3))
    stem = L.Conv2D(6, (3, 3), padding="same", activation="relu")(x)
    r = L.Conv2D(6, (3, 3), padding="same")(stem)
    r = L.BatchNormalization()(r)
    r = L.Activation("relu")(r)
    r = L.Conv2D(6, (3, 3), padding="same")(r)
    h = L.Activation("relu")(L.Add()([stem, r]))
    shortcut = L.Conv2D(4, (1, 1), strides=(2, 2))(h)
    main = L.Conv2D(4, (3, 3), strides=(2, 2), padding="same", activation="relu")(h)
    merged = [L.Add()([shortcut, main]), L.Subtract()([shortcut, main]), L.Multiply()([shortcut, main]),
              L.Average()([shortcut, main]), L.Maximum()([shortcut, main]), L.Minimum()([shortcut, main])]
    h = L.Concatenate()(merged)
    h = L.MaxPooling2D((2, 2))(h)
    h = L.GlobalAveragePooling2D()(h)
    y = L.Dense(5, activation="softmax")(h)
    return api.Model(inputs=x, outputs=y)
