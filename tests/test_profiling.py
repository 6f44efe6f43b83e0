"""model.profile times each step as training runs it: the data's gradient is never computed."""
import numpy as np

from tinycnn import plan
from tinycnn.layers import Conv2D, Flatten, Dense
from tinycnn.models import Sequential


def _profile_recording_input_grads(model, x, monkeypatch):
    """Profile ``model`` on ``x``; return the rows and, per step, whether its input asked for a gradient."""
    asked = {}
    run_step = plan.run_step

    def recording(step, h, training):
        asked.setdefault(step.layer.name, h.requires_grad)
        return run_step(step, h, training)

    monkeypatch.setattr(plan, "run_step", recording)
    return model.profile(x, repeats=1, print_fn=lambda line: None), asked


def test_the_first_convolution_does_not_differentiate_the_images(monkeypatch):
    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 3)), Conv2D(4, 3), Flatten(), Dense(2)])
    rows, asked = _profile_recording_input_grads(model, np.ones((2, 8, 8, 3), np.float32), monkeypatch)
    assert len(rows) == 4
    assert [asked[layer.name] for layer in model.layers] == [False, True, True, True]


def test_a_weightless_first_step_has_no_backward(monkeypatch):
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3)])
    rows, asked = _profile_recording_input_grads(model, np.ones((2, 4, 4, 1), np.float32), monkeypatch)
    assert asked[model.layers[0].name] is False
    assert rows[0]["backward_ms"] == 0.0
