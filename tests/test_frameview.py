"""FrameView: a browser view acknowledges each frame; no live frame goes out while one is unacknowledged."""
import time

import pytest

from lrlab.widgets import frameview
from lrlab.widgets.frameview import FrameView

PNG1, PNG2, PNG3 = b"\x89PNG one", b"\x89PNG two", b"\x89PNG three"


def browser(view, content):
    """What anywidget delivers when the front end calls model.send(content)."""
    view._handle_custom_msg(content, [])


def test_without_a_browser_view_every_frame_goes_out():
    view = FrameView()
    assert view.views == 0 and view.ready()
    for png in (PNG1, PNG2, PNG3):
        assert view.show(png, live=True)
    assert view.value == PNG3 and view.seq == 3 and view.frames_skipped == 0


def test_a_live_frame_waits_for_the_browser_to_take_the_last_one(monkeypatch):
    monkeypatch.setattr(frameview, "MAX_IN_FLIGHT", 1)
    view = FrameView()
    browser(view, {"hello": "tab-1"})
    assert view.views == 1
    assert view.show(PNG1, live=True) and view.seq == 1
    assert not view.ready()
    assert not view.show(PNG2, live=True)  # skipped: the browser is still taking frame 1
    assert view.value == PNG1 and view.frames_skipped == 1
    browser(view, {"ack": 1, "id": "tab-1"})
    assert view.ready() and view.show(PNG2, live=True) and view.value == PNG2
    assert view.show(PNG3) and view.value == PNG3  # a final frame always goes out
    browser(view, {"bye": "tab-1"})
    assert view.views == 0 and view.ready()  # the view is gone: nothing to wait for


def test_two_frames_may_be_in_flight_not_three():
    view = FrameView()
    browser(view, {"hello": "tab-1"})
    assert view.show(PNG1, live=True) and view.show(PNG2, live=True)
    assert not view.show(PNG3, live=True) and view.value == PNG2
    browser(view, {"ack": 1})
    assert view.show(PNG3, live=True)


def test_a_silent_browser_holds_frames_back_for_a_few_seconds_at_most(monkeypatch):
    monkeypatch.setattr(frameview, "ACK_TIMEOUT_S", 0.05)
    view = FrameView()
    browser(view, {"hello": "tab-1"})
    view.show(PNG1, live=True)
    view.show(PNG2, live=True)
    assert not view.ready()
    time.sleep(0.08)
    assert view.ready()


@pytest.mark.parametrize("content", [{"ack": "many"}, {"ack": None}, "ack", ["hello"], {"other": 1}, {"ack": 10**9}])
def test_odd_messages_change_nothing_they_should_not(content):
    view = FrameView()
    browser(view, {"hello": "tab-1"})
    view.show(PNG1, live=True)
    browser(view, content)
    assert view.acked <= view.seq == 1  # an ack past the last frame sent counts as that frame at most
    assert view.views == 1


def test_the_runner_takes_no_live_frame_while_the_display_is_not_ready():
    from lrlab.train import TrainConfig, Trainer
    from lrlab.widgets.runner import Runner
    shown = []
    ready = {"now": False}
    trainer = Trainer(TrainConfig(n_samples=60, max_epochs=100_000))
    runner = Runner(lambda final: {"final": final, "epoch": trainer.epoch_index}, shown.append, max_fps=120,
                    display_ready=lambda: ready["now"])
    runner.attach(trainer.engine)
    runner.start()
    time.sleep(0.3)
    assert trainer.epoch_index > 10 and runner.frames_handed == 0  # no frame taken, none even drawn
    ready["now"] = True
    deadline = time.time() + 30
    while not shown and time.time() < deadline:
        time.sleep(0.01)
    assert shown and not shown[0]["final"]  # live frames flow once the display is ready
    runner.stop()
    assert runner.wait(30) and shown[-1]["final"]
    runner.close()


@pytest.mark.parametrize("name", ["SurfaceExplorer", "ScheduleExplorer", "BackpropExplorer"])
def test_an_explorer_drawn_at_once_carries_its_picture_from_its_image_widget(name):
    """The explorers draw into an ``ipywidgets.Image`` (its bytes a memoryview): the saved output holds them."""
    import lrlab.widgets as lw
    panel = getattr(lw, name)()
    bundle = panel._repr_mimebundle_()
    assert bundle["image/png"][:4] == b"\x89PNG" and bundle["image/png"] == bytes(panel.image.value)
    panel.close()


def test_a_saved_panel_carries_its_picture_for_viewers_without_widgets():
    """GitHub and nbviewer do not render widgets: the output also holds the last frame as image/png."""
    from lrlab.widgets import SweepPanel, TrainingPanel
    panel = TrainingPanel(dataset="moons", n_samples=80, hidden=(4,), max_epochs=5)
    empty = SweepPanel()
    assert "image/png" not in (empty._repr_mimebundle_() or {})  # nothing drawn yet: no picture
    panel.run()
    bundle = panel._repr_mimebundle_()
    assert bundle["image/png"] == panel.image.value and bundle["image/png"][:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/plain" in bundle
    panel.close()
    empty.close()


def test_the_overlay_goes_out_only_when_it_changes():
    view = FrameView()
    sent = []
    view.observe(lambda change: sent.append(len(change["new"])), names="overlay")
    view.show(b"\x89PNG one", overlay=b"\x89PNG points")
    view.show(b"\x89PNG two", overlay=b"\x89PNG points")  # the same overlay: not sent again
    view.show(b"\x89PNG three")  # None: the one in place
    assert sent == [len(b"\x89PNG points")] and view.overlay == b"\x89PNG points"
    view.show(b"\x89PNG whole", overlay=b"")  # a whole picture: no overlay
    assert view.overlay == b"" and sent[-1] == 0
    view.close()
