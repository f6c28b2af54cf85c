"""SurfaceExplorer, headless: sliders redraw, the start point moves the paths, the map view works."""
import hashlib

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from lrlab import optim, surfaces  # noqa: E402
from lrlab.widgets import SurfaceExplorer  # noqa: E402
from lrlab.widgets import surface_explorer as module  # noqa: E402


def digest(panel):
    return hashlib.sha1(panel.image.value).hexdigest()


@pytest.fixture(scope="module")
def panel():
    return SurfaceExplorer("quadratic", optimizers=("sgd", "adam"), steps=60, map_resolution=15)


def test_builds_with_a_png_and_classes(panel):
    assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "lrlab-figure" in panel.image._dom_classes
    assert "lrlab-status" in panel.status._dom_classes
    assert panel.paths.points.shape == (2, 61, 2)
    assert "Ill-conditioned" in panel.status.value


def test_paths_are_the_library_trajectories(panel):
    for k, name in enumerate(panel.chosen):
        expected = surfaces.trajectory(panel.surface, name, start=panel.start, steps=60, **panel.hyper(name))
        np.testing.assert_allclose(panel.paths.points[k], expected, equal_nan=True)


def test_changing_the_lr_slider_redraws_and_changes_the_path(panel):
    panel.tune.value = "sgd"
    before, path_before = digest(panel), panel.paths.points[0].copy()
    panel.lr.value = 0.02
    assert panel.settings["sgd"]["lr"] == pytest.approx(0.02, rel=1e-6)
    assert digest(panel) != before
    assert not np.allclose(panel.paths.points[0], path_before)


def test_other_sliders_redraw(panel):
    panel.tune.value = "adam"
    assert panel.momentum.disabled and not panel.beta1.disabled
    before = digest(panel)
    panel.beta1.value = 0.5
    assert panel.settings["adam"]["betas"][0] == pytest.approx(0.5)
    assert digest(panel) != before
    before = digest(panel)
    panel.steps.value = 120
    assert panel.paths.points.shape[1] == 121 and panel.step.max == 120
    assert digest(panel) != before


def test_setting_the_start_point_moves_the_paths(panel):
    before, digest_before = panel.paths.points[:, 0].copy(), digest(panel)
    panel.set_start(4.0, -2.0)
    np.testing.assert_allclose(panel.paths.points[:, 0], [[4.0, -2.0]] * 2)
    assert not np.allclose(before, panel.paths.points[:, 0])
    assert digest(panel) != digest_before
    panel.start_y.value = 1.0  # the sliders do the same
    np.testing.assert_allclose(panel.paths.points[:, 0, 1], [1.0, 1.0])


def test_a_click_on_the_picture_sets_the_start(panel):
    fig, ax = panel._figure["fig"], panel._figure["ax"]
    px, py = ax.transData.transform((-5.0, 2.5))
    assert panel.click(px, fig.bbox.height - py)
    np.testing.assert_allclose(panel.start, (-5.0, 2.5), atol=0.05)
    np.testing.assert_allclose(panel.paths.points[0, 0], panel.start)
    assert not panel.click(-100, -100)  # outside the axes: ignored


def test_step_slider_and_advance_animate(panel):
    panel.jump(0)
    frame0 = digest(panel)
    panel.advance(5)
    assert panel.step.value == 5 and digest(panel) != frame0
    panel.jump(10_000)
    assert panel.step.value == panel.step.max


def test_optimizer_toggles(panel):
    panel.optimizer_buttons["sgd"].value = False
    assert panel.chosen == ["adam"] and panel.paths.points.shape[0] == 1
    panel.optimizer_buttons["adam"].value = False  # the last one stays
    assert panel.chosen == ["adam"]
    panel.optimizer_buttons["sgd"].value = True
    assert panel.chosen == ["sgd", "adam"]


def test_convergence_map_view(panel):
    panel.tune.value = "sgd"
    panel.show("convergence map")
    assert panel.map is not None and panel.map.codes.shape == (15, 15)
    expected = surfaces.convergence_map(panel.surface, "sgd", resolution=15, steps=panel.steps.value,
                                        **panel.hyper("sgd"))
    np.testing.assert_array_equal(panel.map.codes, expected.codes)
    map_digest = digest(panel)
    panel.lr.value = 0.5  # too large for the ravine: the map turns to 'diverged'
    assert (panel.map.codes == surfaces.DIVERGED).mean() > 0.9  # all but the starts on the valley floor y = 0
    assert digest(panel) != map_digest
    assert "diverged" in panel.status.value
    panel.lr.value = 0.05
    panel.show("paths")


def test_surface_change_resets_box_and_start():
    p = SurfaceExplorer("rosenbrock", optimizers=("adam",), steps=20)
    p.surface_box.value = "himmelblau"
    assert p.surface.name == "himmelblau"
    assert (p.start_x.min, p.start_x.max) == (-5.0, 5.0)
    assert p.start == pytest.approx(surfaces.get("himmelblau").start)
    assert p.condition.layout.display == "none"
    p.surface_box.value = "quadratic"
    assert p.condition.layout.display is None
    p.condition.value = 100.0
    assert p.surface.params["condition"] == pytest.approx(100.0)


def test_every_optimizer_can_race():
    names = list(optim.OPTIMIZERS)
    p = SurfaceExplorer("beale", optimizers=names, steps=30)
    assert p.chosen == names and p.paths.points.shape == (len(names), 31, 2)
    for name in names:
        p.tune.value = name  # the sliders follow the tuned optimizer without recomputing nonsense
        assert p.lr.value == pytest.approx(p.settings[name]["lr"], rel=0.15)


def test_fallback_without_ipyevents(monkeypatch):
    monkeypatch.setattr(module, "_Event", None)
    p = SurfaceExplorer("saddle", optimizers=("sgd",), steps=10)
    assert not p.clicks_enabled
    p.set_start(-1.0, 0.5)
    np.testing.assert_allclose(p.paths.points[0, 0], (-1.0, 0.5))


def test_the_tuned_optimizers_formula_keeps_its_lines(panel):
    """The update rule is printed one line per step, as the optimizer's docstring writes it."""
    from lrlab import optim
    panel.tune.value = "adam"
    text = panel.status.value
    formula = optim.get("adam").formula
    assert "<pre" in text and formula.count("\n") >= 2
    import html
    assert html.escape(formula) in text  # the newlines are kept inside <pre>


def png_size(png) -> tuple[int, int]:
    png = bytes(png)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_the_figure_is_drawn_at_the_size_it_is_shown_with_readable_text(panel):
    """528 x 418 px beside the 390 px column of controls (JupyterLab at 1366 px with its file browser
    open leaves ~930 px), shown 1:1: tick labels, axis labels and legends >= 12 px, titles >= 14 px."""
    from lrlab.plots.surfaces import EXPLORER_DPI, EXPLORER_SIZE
    assert png_size(panel.image.value) == (528, 418) == tuple(int(v * EXPLORER_DPI) for v in EXPLORER_SIZE)
    assert (panel.image.layout.width, panel.image.layout.max_width) == ("auto", "100%")  # natural size, 1:1
    controls = panel.children[1].children[1]
    assert controls.layout.width == "390px" and 528 + 390 <= 930
    for view in ("paths", "gap to minimum", "convergence map"):
        panel.show(view)
        fig = panel._figure["fig"]
        assert png_size(panel.image.value) == (528, 418), view
        px = fig.dpi / 72
        (ax,) = fig.axes
        assert ax.title.get_fontsize() * px >= 14, view
        texts = [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels(),
                 *ax.get_legend().get_texts()]
        assert min(t.get_fontsize() for t in texts) * px >= 12, view
    panel.show("paths")


def test_the_view_picker_shows_one_chart_at_a_time(panel):
    assert panel.view.options == ("paths", "gap to minimum", "convergence map")
    panel.show("paths")
    paths_png, start = panel.image.value, panel.start
    panel.view.value = "gap to minimum"  # the learner's pick: the same paths, another chart
    assert panel.image.value != paths_png and png_size(panel.image.value) == (528, 418)
    (ax,) = panel._figure["fig"].axes
    assert ax.get_ylabel() == "f(θ) − f*" and ax.get_yscale() == "log"
    panel.jump(3)  # the gap chart animates with the step slider too
    early = panel.image.value
    panel.jump(panel.step.max)
    assert panel.image.value != early
    assert not panel.click(100, 100) and panel.start == start  # the gap chart has no start points
    panel.view.value = "paths"
    assert panel.image.value == paths_png  # the same picture as before the detour
    fig, ax = panel._figure["fig"], panel._figure["ax"]
    px, py = ax.transData.transform((2.0, -1.0))
    assert panel.click(px, fig.bbox.height - py)  # clicks on the map still move the start
    np.testing.assert_allclose(panel.start, (2.0, -1.0), atol=0.05)
    with pytest.raises(ValueError, match="view"):
        panel.show("surface plot")


def test_only_the_sliders_the_tuned_optimizer_has_are_shown(panel):
    shown = lambda: [s.description for s in (panel.momentum, panel.beta1, panel.beta2, panel.decay)  # noqa: E731
                     if s.layout.display != "none"]
    panel.tune.value = "sgd"
    assert shown() == [] and panel.momentum.disabled
    panel.tune.value = "adam"
    assert shown() == ["β₁", "β₂"]
    p = SurfaceExplorer("saddle", optimizers=("rmsprop", "momentum"), steps=10)
    assert [s.description for s in (p.momentum, p.beta1, p.beta2, p.decay)
                               if s.layout.display != "none"] == ["momentum", "decay α"]
    p.tune.value = "momentum"
    assert [s.description for s in (p.momentum, p.beta1, p.beta2, p.decay) if s.layout.display != "none"] == ["momentum"]


def test_the_status_is_compact_the_update_rule_shown_what_it_does_one_click_away(panel):
    panel.tune.value = "sgd"
    text = panel.status.value
    assert "line-height:1.45" in text  # not the widget's 28 px a line
    assert "<details" in text and optim.get("sgd").description.split(":")[0] in text
    assert text.index("<details") < text.index("<pre")  # the rule itself is not folded away
    p = SurfaceExplorer("quadratic", optimizers=("sgd", "momentum", "adam"), steps=40)
    assert "diverged" not in p.status.value
    p.settings["sgd"]["lr"] = p.settings["momentum"]["lr"] = 0.5
    p.recompute()
    assert p.paths.diverged.tolist() == [True, True, False]
    first, second = p.paths.diverged_at[:2]
    assert (f"sgd diverged at step {first}, momentum at step {second}: lower their learning rates."
            in p.status.value)  # one line for both
