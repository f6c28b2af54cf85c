"""The classroom bench's measurement (not its speed): panels in their own processes, started
together, each reporting the epochs it trained and the frames it drew."""
from lrlab.bench import classroom


def test_two_panels_in_their_own_processes_train_and_draw_at_once():
    results = classroom.panels_at_once(2, 1.0)
    assert len(results) == 2
    for r in results:
        assert r["epochs_per_s"] > 0 and r["frames_per_s"] > 0
        assert r["drawn"]  # where the frames were drawn (the renderer process, or why not)
