"""BackpropExplorer, headless: the stages in order, the equation and the image change, Update lowers the loss."""
import pytest
import torch

from lrlab import backprop
from lrlab.widgets import BackpropExplorer




def test_clicking_through_the_stages_changes_image_and_equation():
    ex = BackpropExplorer(architecture="2-3-2", activation="tanh", loss="cross_entropy")
    assert "lrlab-figure" in ex.image._dom_classes and "lrlab-status" in ex.status._dom_classes
    assert ex.stage is None and not ex.forward_button.disabled and ex.backward_button.disabled
    images, equations = [ex.image.value], [ex.status.value]
    buttons = ([ex.forward_button] * 2 + [ex.loss_button] + [ex.backward_button] * 2 + [ex.update_button])
    for button in buttons:
        assert not button.disabled
        button.click()
        images.append(ex.image.value)
        equations.append(ex.status.value)
    assert [s for s in backprop.stages(2)] == [("forward", 1), ("forward", 2), ("loss", 2), ("backward", 2),
                                                ("backward", 1), ("update", 0)]
    assert ex.stage == ("update", 0)
    assert all(a != b for a, b in zip(images, images[1:]))
    assert all(a != b for a, b in zip(equations, equations[1:]))
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    # the equations carry the trace's numbers
    t = ex.trace
    assert f"{float(t.layers[0].z[0, 0]):.3f}" in equations[1]
    assert "Loss (cross-entropy)" in equations[3] and f"{float(t.loss):.4f}" in equations[3]
    assert "&delta;" in equations[4] and "chain rule" in equations[5]
    assert "Update" in equations[6]
    # after Update, Forward starts a new cycle with the new weights
    assert not ex.forward_button.disabled and ex.update_button.disabled
    assert ex.next_stage() == ("forward", 1)


def test_buttons_out_of_order_do_nothing_but_say_what_comes_next():
    ex = BackpropExplorer()
    assert ex.backward() is None and ex.stage is None
    assert "Next comes forward" in ex.status.value


@pytest.mark.parametrize("activation,loss", [("relu", "mse"), ("sigmoid", "cross_entropy")])
def test_update_lowers_the_loss_on_the_sample_with_a_small_learning_rate(activation, loss):
    ex = BackpropExplorer(architecture="2-4-2", activation=activation, loss=loss, sample=3)
    ex.lr.value = 0.01
    before = float(ex.trace.loss)
    after = ex.run_cycle()
    assert after < before
    assert ex.sample_losses == [before, after]
    assert f"{after:.5f}" in ex.status.value


def test_the_trace_shown_is_checked_against_autograd():
    ex = BackpropExplorer(architecture="2-8-8-2", activation="sigmoid", loss="mse")
    errors = ex.trace.check()
    assert errors["autograd"] < 1e-10 and errors["finite_differences"] < 1e-6


def test_controls_pick_sample_activation_loss_and_network():
    ex = BackpropExplorer()
    ex.next_stage()
    image = ex.image.value
    ex.sample.value = 7
    assert ex.stage is None and torch.equal(ex.trace.x[0], ex.data.X_train[7]) and ex.image.value != image
    ex.activation.value = "relu"
    assert ex.model.activation == "relu" and ex.trace.activation == "relu"
    ex.loss.value = "mse"
    assert ex.trace.loss_name == "mse"
    ex.architecture.value = "2-8-8-2"
    assert ex.model.sizes == (2, 8, 8, 2) and len(ex.stages) == 3 + 1 + 3 + 1
    assert ex.sample.max == len(ex.data.X_train) - 1
    with pytest.raises(ValueError, match="architecture"):
        BackpropExplorer(architecture="2-100-2")
    with pytest.raises(ValueError, match="activation"):
        BackpropExplorer(activation="swish")


def test_train_lowers_the_loss_until_convergence_or_budget_and_shows_new_points():
    ex = BackpropExplorer(architecture="2-4-2", dataset="blobs", lr=0.5, tolerance=1e-4)
    image = ex.image.value
    result = ex.train(iterations=500, redraw_every=None)
    assert result.stop_reason == "converged" and result.iterations < 500
    assert result.losses[-1] < result.losses[0]
    assert ex.losses == result.losses and ex.trained
    assert "new points" in ex.status.value and ex.image.value != image
    budget = BackpropExplorer(architecture="2-3-2", dataset="xor", tolerance=1e-9).train(iterations=20,
                                                                                    redraw_every=None)
    assert budget.stop_reason == "max_iterations" and budget.iterations == 20
