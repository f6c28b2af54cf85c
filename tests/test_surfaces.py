"""lrlab.surfaces: gradients vs finite differences, minima, trajectories vs torch.optim hand loops,
batched vs single, divergence."""
import inspect
import math

import numpy as np
import pytest
import torch

from lrlab import optim, surfaces

SURFACE_NAMES = list(surfaces.SURFACES)
OPTIMIZER_NAMES = list(optim.OPTIMIZERS)

#: lrlab optimizer -> (torch.optim class, extra torch kwargs)
TORCH_COUNTERPART = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {}),
    "nesterov": (torch.optim.SGD, {"nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adadelta": (torch.optim.Adadelta, {}),
}
#: hyper-parameters worth exercising, given only where the optimizer has them
INTERESTING = {"momentum": 0.9, "betas": (0.8, 0.95), "alpha": 0.9, "rho": 0.9}


def hyper_for(name, surface):
    spec = optim.get(name)
    given = {k: v for k, v in INTERESTING.items() if k in spec.defaults}
    if name == "momentum" and "momentum" in spec.defaults:
        given["momentum"] = 0.8
    given["lr"] = surface.suggested_lr(name)
    return given


def torch_kwargs(name, resolved):
    cls, extra = TORCH_COUNTERPART[name]
    accepted = set(inspect.signature(cls.__init__).parameters)
    kwargs = {k: v for k, v in resolved.items() if k in accepted}
    kwargs.update(extra)
    if name == "momentum" and "momentum" not in kwargs:
        kwargs["momentum"] = 0.9
    return cls, kwargs


def torch_hand_loop(surface, name, start, steps, hyper, lr_at=None):
    """theta <- torch.optim step on f(theta), the way users write it."""
    resolved = optim.get(name).resolve(**hyper)
    cls, kwargs = torch_kwargs(name, resolved)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([theta], **kwargs)
    path = [theta.detach().clone().numpy()]
    for t in range(steps):
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(t)
        opt.zero_grad()
        surface.f(theta).backward()
        opt.step()
        path.append(theta.detach().clone().numpy())
    return np.array(path)


# --------------------------------------------------------------------------- the functions
@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_gradient_matches_central_finite_differences(name):
    s = surfaces.get(name)
    rng = np.random.default_rng(0)
    x0, x1, y0, y1 = s.box
    points = np.stack([rng.uniform(x0, x1, 20), rng.uniform(y0, y1, 20)], 1)
    grad = s.gradient(points).numpy()
    h = 1e-6
    for axis in range(2):
        e = np.zeros(2)
        e[axis] = h
        fd = (s.value(points + e).numpy() - s.value(points - e).numpy()) / (2 * h)
        np.testing.assert_allclose(grad[:, axis], fd, rtol=1e-6, atol=1e-5 * (1 + np.abs(fd).max()))


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_critical_points_have_zero_gradient_and_minima_are_minima(name):
    s = surfaces.get(name)
    assert s.minima, "every surface has at least one minimum"
    assert any(c.kind == "global minimum" for c in s.critical_points)
    for c in s.critical_points:
        assert np.abs(s.gradient([c.x, c.y]).numpy()).max() < 1e-8, c
        x0, x1, y0, y1 = s.box
        assert x0 <= c.x <= x1 and y0 <= c.y <= y1
        if c.is_minimum:  # every small move goes up
            for angle in np.linspace(0, 2 * np.pi, 8, endpoint=False):
                moved = [c.x + 1e-3 * np.cos(angle), c.y + 1e-3 * np.sin(angle)]
                assert float(s.value(moved)) > float(s.value([c.x, c.y]))
    global_values = [float(s.value([c.x, c.y])) for c in s.critical_points if c.kind == "global minimum"]
    assert min(global_values) == pytest.approx(s.f_min)
    assert np.nanmin(surfaces.grid(s, 101)[2]) >= s.f_min - 1e-9


def test_known_minima_positions():
    assert (surfaces.get("rosenbrock").minima[0].x, surfaces.get("rosenbrock").minima[0].y) == (1.0, 1.0)
    assert (surfaces.get("beale").minima[0].x, surfaces.get("beale").minima[0].y) == (3.0, 0.5)
    assert len(surfaces.get("himmelblau").minima) == 4
    assert all(abs(float(surfaces.get("himmelblau").value([c.x, c.y]))) < 1e-20
               for c in surfaces.get("himmelblau").minima)
    well = surfaces.get("double_well")
    kinds = {c.kind for c in well.critical_points}
    assert kinds == {"global minimum", "local minimum", "saddle"}


def test_quadratic_condition_number_is_the_hessian_ratio():
    s = surfaces.get("quadratic", condition=50.0, angle=30.0)
    p = torch.zeros(2, dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(s.f, p)
    eig = torch.linalg.eigvalsh(hessian)
    assert float(eig[1] / eig[0]) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="condition"):
        surfaces.get("quadratic", condition=0.5)


@pytest.mark.parametrize("tilt", [0.3, -0.3, 1e-9, -1e-9, 0.0, 1.0, -1.0, 1.5, -1.5, 1.539, -1.539])
def test_double_well_labels_the_minima_by_their_value(tilt):
    s = surfaces.get("double_well", tilt=tilt)
    kinds = [c.kind for c in s.critical_points]
    assert kinds.count("saddle") == 1 and len(s.minima) == 2
    for c in s.critical_points:
        assert abs(4 * c.x ** 3 - 4 * c.x + tilt) < 1e-9 and c.y == 0.0
    (a, b) = s.minima
    fa, fb = (float(s.value([c.x, c.y])) for c in (a, b))
    if tilt == 0:
        assert kinds == ["global minimum", "saddle", "global minimum"]
    else:
        lower, higher = (a, b) if fa < fb else (b, a)
        assert lower.kind == "global minimum" and higher.kind == "local minimum", (tilt, fa, fb)
        assert s.f_min == pytest.approx(min(fa, fb))
    if tilt:
        side = "left" if tilt > 0 else "right"
        assert f"the {side} one (lower) the global one" in s.description
        assert ("- " if tilt < 0 else "+ ") + f"{abs(tilt):g} x" in s.formula


def test_double_well_negative_tilt_is_the_mirror_image():
    """The issue's case: tilt -0.3 labelled the higher well 'global'."""
    right = surfaces.get("double_well", tilt=-0.3)
    left = surfaces.get("double_well", tilt=0.3)
    glob = [c for c in right.minima if c.kind == "global minimum"]
    assert len(glob) == 1 and glob[0].x > 0
    assert float(right.value([glob[0].x, 0.0])) < float(right.value([-glob[0].x, 0.0]))
    for c, d in zip(right.critical_points, reversed(left.critical_points)):
        assert c.x == pytest.approx(-d.x, abs=1e-12) and c.kind == d.kind


def test_double_well_tilt_bound_is_where_the_second_well_disappears():
    bound = surfaces.DOUBLE_WELL_TILT
    assert bound == pytest.approx(8 / (3 * math.sqrt(3)))
    # at the bound 4x^3 - 4x + tilt has a double root (the saddle meets a minimum): its discriminant is 0
    assert 16 * (64 - 27 * bound ** 2) == pytest.approx(0, abs=1e-9)
    inside = np.nextafter(bound, 0)
    assert np.isreal(np.roots([4, 0, -4, 0.99 * bound])).all()
    assert not np.isreal(np.roots([4, 0, -4, 1.01 * bound])).all()
    surfaces.get("double_well", tilt=inside)  # the largest allowed tilt still builds
    for bad in (bound, -bound, 1.54, -1.6, 5.0, 1e308, -1e308, math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match=r"^tilt: must be a number in \(-1\.5396, 1\.5396\)"):
            surfaces.get("double_well", tilt=bad)


#: values a learner or a pasted file might hand to any surface parameter; none of them is valid
HOSTILE = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e300, "1", "", None, True, False, [1.0], (1.0,), {},
           1 + 2j, object(), np.float64(math.nan), np.array([1.0, 2.0])]


def _parameters():
    for name, factory in surfaces.SURFACES.items():
        for param in inspect.signature(factory).parameters:
            yield name, param


@pytest.mark.parametrize("surface, param", list(_parameters()))
def test_every_surface_parameter_refuses_hostile_values_with_a_value_error_naming_it(surface, param):
    for value in HOSTILE:
        with pytest.raises(ValueError) as info:
            surfaces.get(surface, **{param: value})
        assert str(info.value).startswith(f"{param}: "), (value, str(info.value))
        assert "got" in str(info.value)


def test_every_surface_parameter_default_is_accepted_and_builds_a_valid_surface():
    for surface, param in _parameters():
        default = inspect.signature(surfaces.SURFACES[surface]).parameters[param].default
        s = surfaces.get(surface, **{param: default})
        assert s.critical_points


@pytest.mark.parametrize("surface", SURFACE_NAMES)
def test_unknown_surface_parameter_is_a_value_error_naming_it(surface):
    with pytest.raises(ValueError, match=r"^bogus: not a parameter of surface " + surface):
        surfaces.get(surface, bogus=1.0)


def test_surface_parameter_ranges():
    with pytest.raises(ValueError, match="^a: "):
        surfaces.get("rosenbrock", a=2.0)  # its minimum (2, 4) would be outside the view
    with pytest.raises(ValueError, match="^b: "):
        surfaces.get("rosenbrock", b=0.0)
    s = surfaces.get("rosenbrock", a=-1.5, b=10.0)
    assert (s.minima[0].x, s.minima[0].y) == (-1.5, 2.25) and "a = -1.5, b = 10" in s.formula
    with pytest.raises(ValueError, match="^angle: "):
        surfaces.get("quadratic", angle=1e6)
    with pytest.raises(ValueError, match="^half_width: "):
        surfaces.get("rastrigin", half_width=2.5)
    with pytest.raises(ValueError, match="^half_width: "):
        surfaces.get("rastrigin", half_width=10**9)  # would hang building 4e18 critical points
    assert len(surfaces.get("rastrigin", half_width=1.0).critical_points) == 9


def test_rastrigin_needs_a_large_enough_A_for_its_egg_box():
    need = surfaces.rastrigin_min_A(3)
    assert 0.85 < need < 0.9
    with pytest.raises(ValueError, match=r"^A: with half_width=3 .* only for A > 0\.87"):
        surfaces.get("rastrigin", A=0.8)
    for A in (need * 1.02, 1.0, 100.0):
        s = surfaces.get("rastrigin", A=A)
        assert "A = " + f"{A:g}" in s.formula
        assert len(s.minima) == 49
        for c in s.critical_points:
            assert np.abs(s.gradient([c.x, c.y]).numpy()).max() < 1e-8
            assert abs(c.x - round(c.x)) < 0.5 and abs(c.y - round(c.y)) < 0.5
        assert [c for c in s.critical_points if c.kind == "global minimum"] == [surfaces.CriticalPoint(0.0, 0.0,
                                                                                 "global minimum")]


def test_unknown_surface_names_allowed():
    with pytest.raises(ValueError, match="surface: one of"):
        surfaces.get("nope")


# --------------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
@pytest.mark.parametrize("surface", ["rosenbrock", "beale", "quadratic", "saddle", "double_well"])
def test_trajectory_equals_torch_optim_hand_loop(optimizer, surface):
    if optimizer not in TORCH_COUNTERPART:
        pytest.skip(f"no torch.optim counterpart listed for {optimizer}")
    s = surfaces.get(surface)
    hyper = hyper_for(optimizer, s)
    ours = surfaces.trajectory(s, optimizer, start=s.start, steps=150, **hyper)
    theirs = torch_hand_loop(s, optimizer, s.start, 150, hyper)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_trajectory_with_schedule_equals_hand_loop(optimizer):
    if optimizer not in TORCH_COUNTERPART:
        pytest.skip(f"no torch.optim counterpart listed for {optimizer}")
    s = surfaces.get("rosenbrock")
    hyper = hyper_for(optimizer, s)
    lr = hyper["lr"]
    cosine = lambda e: 0.1 * lr + 0.45 * lr * (1 + math.cos(math.pi * e / 100))  # noqa: E731
    ours = surfaces.trajectory(s, optimizer, steps=100, schedule=cosine, **hyper)
    theirs = torch_hand_loop(s, optimizer, s.start, 100, hyper, lr_at=cosine)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    # a schedule given by name is built with lr and steps
    named = surfaces.trajectory(s, optimizer, steps=100, schedule="cosine", **hyper)
    built = __import__("lrlab.schedules", fromlist=["x"]).make_schedule("cosine", lr, 100)
    np.testing.assert_allclose(named, torch_hand_loop(s, optimizer, s.start, 100, hyper, lr_at=built.lr), atol=1e-9)


def test_batched_equals_single_for_mixed_optimizers_hyper_parameters_and_starts():
    s = surfaces.get("beale")
    rng = np.random.default_rng(1)
    runs = []
    for name in OPTIMIZER_NAMES:
        for j in range(3):
            run = {"optimizer": name, "start": tuple(rng.uniform(-2, 2, 2))}
            run.update(hyper_for(name, s))
            run["lr"] = run["lr"] * (0.5 + 0.5 * j)
            if "betas" in optim.get(name).defaults:
                run["betas"] = (0.8 + 0.05 * j, 0.99 - 0.01 * j)
            if "momentum" in optim.get(name).defaults and name != "sgd":
                run["momentum"] = 0.5 + 0.2 * j
            runs.append(run)
    rng.shuffle(runs)
    batched = surfaces.trajectories(s, runs, 80)
    assert batched.points.shape == (len(runs), 81, 2)
    for k, run in enumerate(runs):
        run = dict(run)
        single = surfaces.trajectory(s, run.pop("optimizer"), steps=80, **run)
        np.testing.assert_allclose(batched.points[k], single, rtol=0, atol=1e-12, equal_nan=True)
        assert batched.losses[k, 0] == pytest.approx(float(s.value(run["start"])))


def test_divergence_ends_the_path_with_nan_and_reports_the_step():
    s = surfaces.get("quadratic")  # gradient descent is stable only for lr < 2 / condition = 0.1
    runs = [{"optimizer": "sgd", "lr": 0.05}, {"optimizer": "sgd", "lr": 0.5}, {"optimizer": "sgd", "lr": 5.0}]
    paths = surfaces.trajectories(s, runs, 400)
    assert list(paths.diverged) == [False, True, True]
    k = paths.diverged_at[1]
    assert 0 < k <= 400
    assert np.isfinite(paths.points[1, :k]).all() and np.isnan(paths.points[1, k:]).all()
    assert np.isnan(paths.losses[1, k:]).all()
    assert paths.diverged_at[2] < paths.diverged_at[1]  # a larger step leaves sooner
    assert np.isfinite(paths.points[0]).all()
    assert surfaces.diverged_at(paths.points[1]) == k
    assert surfaces.diverged_at(paths.points[0]) == -1
    np.testing.assert_allclose(paths.last_finite()[1], paths.points[1, k - 1])
    # the single form does not raise either
    path = surfaces.trajectory(s, "sgd", steps=50, lr=100.0)
    assert np.isnan(path[-1]).all() and np.isfinite(path[0]).all()


def test_gradient_descent_on_the_ravine_converges_for_a_good_step():
    s = surfaces.get("quadratic", condition=10.0)
    path = surfaces.trajectory(s, "sgd", start=(-9, 3), steps=200, lr=2 / 11)
    assert np.abs(path[-1]).max() < 1e-6


def test_validation_messages():
    with pytest.raises(ValueError, match="start: two finite numbers"):
        surfaces.trajectory("rosenbrock", "sgd", start=(0, float("nan")), steps=3)
    with pytest.raises(ValueError, match="steps:"):
        surfaces.trajectory("rosenbrock", "sgd", steps=-1)
    with pytest.raises(ValueError, match="lr"):
        surfaces.trajectory("rosenbrock", "sgd", steps=3, lr=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        surfaces.trajectory("rosenbrock", "nope", steps=3)
    with pytest.raises(ValueError, match="schedule"):
        surfaces.trajectory("rosenbrock", "sgd", steps=3, schedule=42)


# --------------------------------------------------------------------------- convergence map
def test_convergence_map_finds_all_four_himmelblau_minima():
    m = surfaces.convergence_map("himmelblau", "sgd", resolution=21, steps=300, lr=0.01)
    assert m.codes.shape == (21, 21)
    assert set(np.unique(m.codes)) >= {0, 1, 2, 3}
    # a start next to a minimum ends in it
    s = surfaces.get("himmelblau")
    for index, c in enumerate(s.critical_points):
        i = np.abs(m.ys - c.y).argmin()
        j = np.abs(m.xs - c.x).argmin()
        assert m.codes[i, j] == index


def test_convergence_map_marks_divergence_and_agrees_with_single_paths():
    s = surfaces.get("double_well")
    m = surfaces.convergence_map(s, "sgd", resolution=9, steps=100, lr=0.2)
    assert (m.codes == surfaces.DIVERGED).any()
    for i in (0, 4, 8):
        for j in (0, 4, 8):
            path = surfaces.trajectory(s, "sgd", start=(m.xs[j], m.ys[i]), steps=100, lr=0.2)
            code = surfaces.classify_ends(s, [path[surfaces.diverged_at(path) - 1] if surfaces.diverged_at(path) > 0
                                              else path[-1]], [surfaces.diverged_at(path) >= 0])[0]
            assert m.codes[i, j] == code


# --------------------------------------------------------------------------- drawing (lrlab.plots.surfaces)
def _explorer_figures(surface="himmelblau", names=OPTIMIZER_NAMES, steps=40):
    """The explorer's figure in each of its views, drawn (every optimizer: the tallest legend)."""
    from lrlab.plots import fig_to_png
    from lrlab.plots import surfaces as splots
    s = surfaces.get(surface)
    runs = [{"optimizer": n, "start": s.start, "lr": s.suggested_lr(n)} for n in names]
    paths = surfaces.trajectories(s, runs, steps)
    cmap = surfaces.convergence_map(s, "momentum", resolution=9, steps=steps, lr=s.suggested_lr("momentum"))
    out = {}
    for view in splots.VIEWS:
        made = splots.explorer_figure(s, view, paths, list(names), cmap_result=cmap, start=s.start)
        if made["animated"] is not None:
            made["animated"].update(steps // 2)
        made["png"] = fig_to_png(made["fig"], fast=True)
        out[view] = made
    return out


def test_the_explorers_figure_is_one_readable_chart_per_view_drawn_at_the_size_it_is_shown():
    from lrlab.plots import surfaces as splots
    figures = _explorer_figures()
    assert tuple(figures) == splots.VIEWS == ("paths", "gap to minimum", "convergence map")
    for view, made in figures.items():
        fig, png = made["fig"], made["png"]
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (528, 418), view  # EXPLORER_SIZE at EXPLORER_DPI, what the panel shows 1:1
        assert tuple(fig.get_size_inches() * fig.dpi) == (width, height)
        assert len(fig.axes) == 1, view  # one chart, as large as the figure allows
        px = fig.dpi / 72  # pixels per point at 1:1
        ax = fig.axes[0]
        assert ax.title.get_fontsize() * px >= 14, view
        for text in [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            assert text.get_fontsize() * px >= 12, (view, text.get_text())
        legend = ax.get_legend()
        assert all(t.get_fontsize() * px >= 12 for t in [*legend.get_texts(), legend.get_title()]), view
    assert figures["paths"]["ax"] is figures["paths"]["fig"].axes[0]  # clicks read the surface's coordinates
    assert figures["convergence map"]["ax"] is figures["convergence map"]["fig"].axes[0]
    assert figures["gap to minimum"]["ax"] is None  # ... and there are none in the gap chart
    assert figures["gap to minimum"]["fig"].axes[0].get_yscale() == "log"
    assert len({made["png"] for made in figures.values()}) == 3


def test_the_explorers_legends_sit_under_their_chart_inside_the_figure():
    """No legend covers data: each is under its axes, clear of the tick labels and the x label, and
    inside the picture (eight optimizers' current losses, Himmelblau's four minima)."""
    for view, made in _explorer_figures().items():
        fig = made["fig"]
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        box = ax.get_legend().get_window_extent(renderer)
        axes_box = ax.get_window_extent(renderer)
        assert box.y1 < axes_box.y0, view  # below the chart
        for text in [ax.xaxis.label, *ax.get_xticklabels()]:
            assert not box.overlaps(text.get_window_extent(renderer)), (view, text.get_text())
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width, view


def test_the_explorer_figure_refuses_a_view_it_does_not_have():
    from lrlab.plots import surfaces as splots
    with pytest.raises(ValueError, match="view"):
        splots.explorer_figure("saddle", "surface plot")
    with pytest.raises(ValueError, match="cmap_result"):
        splots.explorer_figure("saddle", "convergence map")
    with pytest.raises(ValueError, match="legend"):
        splots.draw_convergence_map(splots.new_figure(4, 3).subplots(), "saddle",
                                    surfaces.convergence_map("saddle", "sgd", resolution=3, steps=5, lr=0.1),
                                    legend="above")
    with pytest.raises(ValueError, match="ax"):
        splots.AnimatedPaths(None, surfaces.trajectories("saddle", [{"optimizer": "sgd", "lr": 0.1}], 5), ["sgd"], 0.0)


def test_animated_gaps_alone_move_with_the_step():
    """AnimatedPaths on the gap chart only (the explorer's 'gap to minimum' view)."""
    from lrlab.plots import fig_to_png, new_figure
    from lrlab.plots.surfaces import AnimatedPaths
    paths = surfaces.trajectories("saddle", [{"optimizer": "sgd", "lr": 0.1, "start": (1.0, 0.5)}], 30)
    ax = new_figure(5, 4).subplots()
    animated = AnimatedPaths(None, paths, ["sgd"], surfaces.get("saddle").f_min, ax_loss=ax)
    animated.update(5)
    early = fig_to_png(ax.figure, fast=True)
    assert animated.loss_heads[0].get_xdata()[-1] == 5 and ax.get_legend().get_title().get_text() == "step 5 of 30"
    animated.update(30)
    assert fig_to_png(ax.figure, fast=True) != early and not animated.lines
