"""2-D loss surfaces and the paths lrlab's own optimizers take on them.

A *surface* is a function ``f(theta)`` of two parameters ``theta = (x, y)``: a toy loss.
Its gradient comes from torch autograd, exactly as a network's does, and the optimizers
are the ones in :mod:`lrlab.optim` that train the networks. One optimizer step is one
"epoch" here, so a schedule's ``lr(epoch)`` is the learning rate of step ``epoch``.

The path of one optimizer from ``theta_0``::

    for t = 0 .. steps-1:
        g_t       = grad f(theta_t)                       (torch.autograd)
        theta_t+1 = optimizer step(theta_t, g_t, state, lr = schedule(t))

Divergence never raises: when ``theta`` stops being finite or leaves the box
``|x|, |y| <= DIVERGENCE_LIMIT`` the path ends there; the rest of it is NaN and the step at
which it left is reported (``diverged_at``).

Example::

    >>> from lrlab import surfaces
    >>> path = surfaces.trajectory("rosenbrock", "adam", start=(-1.2, 1.0), steps=500, lr=0.05)
    >>> path.shape
    (501, 2)
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .checks import check_whole

from . import optim as optim_mod
from . import schedules as schedules_mod

#: A path that reaches ``|x|`` or ``|y|`` beyond this (or a non-finite value) has diverged.
DIVERGENCE_LIMIT = 1e6
DTYPE = torch.float64


# --------------------------------------------------------------------------- surfaces
@dataclass(frozen=True)
class CriticalPoint:
    """A point where ``grad f = 0``: ``kind`` is 'global minimum', 'local minimum' or 'saddle'."""

    x: float
    y: float
    kind: str

    @property
    def is_minimum(self) -> bool:
        return self.kind.endswith("minimum")


@dataclass
class Surface:
    """A 2-D test function with what the pictures and the lessons need to know about it.

    ``f`` maps a tensor ``[..., 2]`` to ``[...]`` with torch operations (so autograd gives the
    gradient). ``box = (x_min, x_max, y_min, y_max)`` is the view, ``start`` a start point
    that shows the surface's difficulty, ``log_contour`` whether contour levels of
    ``log(f - f_min)`` show it better than levels of ``f``. ``gd_lr`` and ``adaptive_lr`` are
    learning rates that give a readable first picture for gradient-scaled optimizers
    (SGD, momentum, Nesterov) and for the adaptive ones.
    """

    name: str
    title: str
    formula: str
    f: Callable[[torch.Tensor], torch.Tensor]
    box: tuple[float, float, float, float]
    start: tuple[float, float]
    critical_points: tuple[CriticalPoint, ...]
    log_contour: bool = True
    gd_lr: float = 1e-3
    adaptive_lr: float = 0.05
    description: str = ""
    params: dict = field(default_factory=dict)

    # maths ------------------------------------------------------------------
    def value(self, points) -> torch.Tensor:
        """``f(points)`` for points ``[..., 2]`` (numbers, lists, arrays or tensors)."""
        return self.f(_as_tensor(points))

    def gradient(self, points) -> torch.Tensor:
        """``grad f(points)`` ``[..., 2]`` by torch autograd."""
        p = _as_tensor(points).detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self.f(p).sum(), p)
        return g

    @property
    def minima(self) -> tuple[CriticalPoint, ...]:
        return tuple(c for c in self.critical_points if c.is_minimum)

    @property
    def f_min(self) -> float:
        """The lowest value of ``f`` (at the global minimum)."""
        return min(float(self.value([c.x, c.y])) for c in self.minima)

    def suggested_lr(self, optimizer: str) -> float:
        """A learning rate that gives a readable first picture for ``optimizer`` on this surface."""
        if optimizer == "sgd":
            return self.gd_lr
        if optimizer in ("momentum", "nesterov"):  # momentum 0.9 multiplies the step by up to 1/(1-0.9)
            return self.gd_lr / 3
        if optimizer == "adadelta":
            return 1.0
        if optimizer == "adagrad":  # its steps only shrink: start larger
            return 5 * self.adaptive_lr
        if optimizer == "rmsprop":  # no bias correction, no momentum: its first steps are large
            return self.adaptive_lr / 5
        return self.adaptive_lr


def _as_tensor(points) -> torch.Tensor:
    if isinstance(points, torch.Tensor):
        return points.to(DTYPE)
    return torch.as_tensor(np.asarray(points, dtype=np.float64))


def _xy(p: torch.Tensor):
    return p[..., 0], p[..., 1]


def refine_critical_point(f: Callable, point, iterations: int = 30) -> tuple[float, float]:
    """Newton's method on ``grad f = 0`` from ``point``: ``theta <- theta - H^-1 grad f``."""
    p = torch.tensor(point, dtype=DTYPE)
    for _ in range(iterations):
        q = p.clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(f(q), q, create_graph=True)
            hessian = torch.stack([torch.autograd.grad(g[i], q, retain_graph=True)[0] for i in range(2)])
        p = p - torch.linalg.solve(hessian.detach(), g.detach())
    return float(p[0]), float(p[1])


# --------------------------------------------------------------------------- parameter checks
def _real(name: str, value, low: float, high: float, low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """``value`` as a float if it is a real number in the interval, else ``ValueError('name: ...')``."""
    schedules_mod.check_range(name, value, (low, high, low_inclusive, high_inclusive))
    return float(value)


def _whole(name: str, value, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number in ``[low, high]`` (3.0 is accepted), else ValueError."""
    return check_whole(name, value, low, high)


#: ``rosenbrock``'s minimum ``(a, a²)`` lies in its view box (y <= 3) for ``|a| <= sqrt(3)``
ROSENBROCK_A = math.sqrt(3.0)


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """``f = (a - x)^2 + b (y - x^2)^2``, one minimum at ``(a, a^2)``: ``|a| <= sqrt(3)`` (so that
    it is in the view), ``0 < b <= 10000``."""
    a = _real("a", a, -ROSENBROCK_A, ROSENBROCK_A)
    b = _real("b", b, 0.0, 1e4, low_inclusive=False)

    def f(p):
        x, y = _xy(p)
        return (a - x) ** 2 + b * (y - x ** 2) ** 2
    return Surface("rosenbrock", "Rosenbrock", f"f(x, y) = (a - x)² + b (y - x²)²,  a = {a:g}, b = {b:g}", f,
                   (-2.0, 2.0, -1.0, 3.0), (-1.2, 1.0), (CriticalPoint(a, a * a, "global minimum"),),
                   log_contour=True, gd_lr=1.5e-3, adaptive_lr=0.1,
                   description="A curved, flat-bottomed banana valley: easy to enter, slow to follow to (1, 1).",
                   params={"a": a, "b": b})


def beale() -> Surface:
    def f(p):
        x, y = _xy(p)
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2
    return Surface("beale", "Beale", "f = (1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²", f,
                   (-4.5, 4.5, -4.5, 4.5), (1.0, 1.4), (CriticalPoint(3.0, 0.5, "global minimum"),),
                   log_contour=True, gd_lr=5e-3, adaptive_lr=0.05,
                   description="Flat plateaus and steep walls: gradients span orders of magnitude.")


_HIMMELBLAU_GUESSES = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))


def himmelblau() -> Surface:
    def f(p):
        x, y = _xy(p)
        return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2
    points = tuple(CriticalPoint(*refine_critical_point(f, g), "global minimum") for g in _HIMMELBLAU_GUESSES)
    return Surface("himmelblau", "Himmelblau", "f(x, y) = (x² + y - 11)² + (x + y² - 7)²", f,
                   (-5.0, 5.0, -5.0, 5.0), (-0.3, -0.9), points, log_contour=True, gd_lr=0.01, adaptive_lr=0.1,
                   description="Four equal minima: which one you reach depends on where you start.")


def rastrigin_min_A(half_width: int) -> float:
    """The smallest ``A`` for which ``x^2 - A cos(2 pi x)`` has a local minimum in every cell
    ``|x - i| < 1/2``, ``|i| <= half_width``: in the outermost cell ``f'`` must dip below 0, i.e.
    ``A > min over -1/2 < u < 0 of (i + u) / (pi (-sin 2 pi u))`` with ``i = half_width``."""
    u = np.linspace(-0.5, 0.0, 100_001)[1:-1]
    return float(np.min((half_width + u) / (math.pi * -np.sin(2 * math.pi * u))))


def _rastrigin_minima_1d(A: float, half_width: int) -> list[float]:
    """The local minimum of ``x^2 - A cos(2 pi x)`` in each cell around ``-half_width .. half_width``:
    the lowest dip found on a fine grid of the cell, refined by Newton's method on ``f' = 0``."""
    out = []
    for i in range(-half_width, half_width + 1):
        u = np.linspace(i - 0.5, i + 0.5, 4001)
        v = u ** 2 - A * np.cos(2 * math.pi * u)
        dips = np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1
        if not len(dips):
            raise ValueError(f"A: with half_width={half_width} the egg box has a local minimum near every "
                             f"integer only for A > {rastrigin_min_A(half_width):.4g}; got {A!r} "
                             f"(raise A or lower half_width)")
        x = float(u[dips[np.argmin(v[dips])]])
        for _ in range(50):
            step = (2 * x + 2 * math.pi * A * math.sin(2 * math.pi * x)) / \
                   (2 + 4 * math.pi ** 2 * A * math.cos(2 * math.pi * x))
            x -= step
            if abs(step) < 1e-16:
                break
        out.append(0.0 if i == 0 else x)
    return out


def rastrigin(A: float = 10.0, half_width: int = 3) -> Surface:
    """``f = 2A + x^2 - A cos(2 pi x) + y^2 - A cos(2 pi y)`` over ``|x|, |y| <= half_width + 1/2``:
    ``0 < A <= 1000`` (large enough for a local minimum near every integer point, see
    :func:`rastrigin_min_A`), ``half_width`` a whole number in [1, 10]."""
    A = _real("A", A, 0.0, 1e3, low_inclusive=False)
    half_width = _whole("half_width", half_width, 1, 10)

    def f(p):
        x, y = _xy(p)
        return 2 * A + x ** 2 - A * torch.cos(2 * math.pi * x) + y ** 2 - A * torch.cos(2 * math.pi * y)
    # one local minimum near every integer point (i, j); the global one at (0, 0)
    one_d = _rastrigin_minima_1d(A, half_width)
    points = tuple(CriticalPoint(x, y, "global minimum" if i == half_width and j == half_width else "local minimum")
                   for i, x in enumerate(one_d) for j, y in enumerate(one_d))
    w = half_width + 0.5
    return Surface("rastrigin", "Rastrigin", f"f(x, y) = 2A + x² - A cos 2πx + y² - A cos 2πy,  A = {A:g}", f,
                   (-w, w, -w, w), (2.3, 1.7), points, log_contour=False, gd_lr=2e-3, adaptive_lr=0.1,
                   description="An egg box of local minima around one global minimum at (0, 0).",
                   params={"A": A})


def saddle() -> Surface:
    def f(p):
        x, y = _xy(p)
        return x ** 2 + y ** 4 / 4 - y ** 2 / 2
    points = (CriticalPoint(0.0, 0.0, "saddle"), CriticalPoint(0.0, 1.0, "global minimum"),
              CriticalPoint(0.0, -1.0, "global minimum"))
    return Surface("saddle", "Saddle", "f(x, y) = x² + y⁴/4 - y²/2", f,
                   (-2.0, 2.0, -1.6, 1.6), (-1.8, 1e-3), points, log_contour=False, gd_lr=0.05, adaptive_lr=0.05,
                   description="A saddle at (0, 0) between two minima at (0, ±1): downhill in x, uphill-then-down in y.")


def quadratic(condition: float = 20.0, angle: float = 0.0) -> Surface:
    """``f = 1/2 theta^T H theta`` with eigenvalues 1 and ``condition`` (in [1, 10000]), the ravine
    turned by ``angle`` degrees (in [-360, 360])."""
    condition = _real("condition", condition, 1.0, 1e4)
    angle = _real("angle", angle, -360.0, 360.0)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(p):
        x, y = _xy(p)
        u, v = c * x + s * y, -s * x + c * y  # coordinates along the ravine's axes
        return 0.5 * (u ** 2 + condition * v ** 2)
    return Surface("quadratic", "Ill-conditioned quadratic (ravine)",
                   f"f = ½ (u² + κ v²),  κ = {condition:g}  (u, v: axes turned by {angle:g}°)", f,
                   (-10.0, 10.0, -5.0, 5.0), (-9.0, 3.0), (CriticalPoint(0.0, 0.0, "global minimum"),),
                   log_contour=False, gd_lr=1.8 / (1 + condition), adaptive_lr=0.3,
                   description="A long narrow valley: the curvature across it is κ times the curvature along it. "
                               "Gradient descent is stable only for lr < 2/κ.",
                   params={"condition": condition, "angle": angle})


#: ``double_well`` has two wells exactly while ``|tilt| < 8 / (3 sqrt 3)``: ``f'(x) = 4x^3 - 4x + tilt``
#: has three real roots while its discriminant ``16 (64 - 27 tilt^2)`` is positive.
DOUBLE_WELL_TILT = 8.0 / (3.0 * math.sqrt(3.0))


def double_well_roots(tilt: float) -> tuple[float, float, float]:
    """The three roots of ``4x^3 - 4x + tilt`` (``|tilt| < DOUBLE_WELL_TILT``), ascending: the left
    minimum, the saddle, the right minimum (the trigonometric solution of the cubic, then Newton)."""
    phase = math.acos(max(-1.0, min(1.0, -tilt / DOUBLE_WELL_TILT))) / 3
    roots = []
    for k in range(3):
        x = 2 / math.sqrt(3) * math.cos(phase - 2 * math.pi * k / 3)
        for _ in range(3):
            slope = 12 * x * x - 4
            if slope == 0:
                break
            x -= (4 * x ** 3 - 4 * x + tilt) / slope
        roots.append(x)
    return tuple(sorted(roots))


def double_well(tilt: float = 0.3) -> Surface:
    """``f = (x^2 - 1)^2 + tilt * x + y^2 / 2``: two wells near x = -1 and x = +1 while
    ``|tilt| < 8 / (3 sqrt 3) = 1.5396`` (:data:`DOUBLE_WELL_TILT`). The lower well is the global
    minimum: the left one for ``tilt > 0``, the right one for ``tilt < 0`` (both for 0)."""
    if isinstance(tilt, bool) or not isinstance(tilt, (int, float, np.integer, np.floating)) or \
            not abs(tilt) < DOUBLE_WELL_TILT:
        raise ValueError(f"tilt: must be a number in (-{DOUBLE_WELL_TILT:.6g}, {DOUBLE_WELL_TILT:.6g}) "
                         f"(|tilt| < 8/(3√3): beyond it one well disappears), got {tilt!r}")
    tilt = float(tilt)

    def f(p):
        x, y = _xy(p)
        return (x ** 2 - 1) ** 2 + tilt * x + 0.5 * y ** 2
    left, middle, right = double_well_roots(tilt)
    # f(-x) - f(x) = -2 tilt x: for tilt > 0 the left well is lower, for tilt < 0 the right one
    left_kind = "global minimum" if tilt >= 0 else "local minimum"
    right_kind = "global minimum" if tilt <= 0 else "local minimum"
    points = (CriticalPoint(left, 0.0, left_kind), CriticalPoint(middle, 0.0, "saddle"),
              CriticalPoint(right, 0.0, right_kind))
    if tilt > 0:
        description = "Two valleys: the right one is a local minimum, the left one (lower) the global one."
    elif tilt < 0:
        description = "Two valleys: the left one is a local minimum, the right one (lower) the global one."
    else:
        description = "Two valleys of the same depth: both are global minima."
    term = "" if tilt == 0 else f" {'-' if tilt < 0 else '+'} {abs(tilt):g} x"
    return Surface("double_well", "Local and global minimum", f"f(x, y) = (x² - 1)²{term} + y²/2", f,
                   (-2.0, 2.2, -1.6, 1.6), (2.0, 1.2), points, log_contour=False, gd_lr=0.02, adaptive_lr=0.05,
                   description=description, params={"tilt": tilt})


#: name -> factory(**params) -> Surface
SURFACES: dict[str, Callable[..., Surface]] = {
    "quadratic": quadratic, "rosenbrock": rosenbrock, "beale": beale, "himmelblau": himmelblau,
    "rastrigin": rastrigin, "saddle": saddle, "double_well": double_well,
}

_CACHE: dict[str, Surface] = {}


def get(surface: str | Surface, **params) -> Surface:
    """The surface named ``surface`` (built with ``params``), or ``surface`` itself."""
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"surface: one of {', '.join(SURFACES)}, got {surface!r}")
    if params:
        factory = SURFACES[surface]
        accepted = [name for name in inspect.signature(factory).parameters]
        for name in params:
            if name not in accepted:
                raise ValueError(f"{name}: not a parameter of surface {surface}; "
                                 f"allowed: {', '.join(accepted) or 'none'}")
        return factory(**params)
    if surface not in _CACHE:
        _CACHE[surface] = SURFACES[surface]()
    return _CACHE[surface]


def grid(surface: str | Surface, resolution: int = 200):
    """``(xs, ys, Z)`` with ``Z[i, j] = f(xs[j], ys[i])`` over the surface's box."""
    s = get(surface)
    x0, x1, y0, y1 = s.box
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    with torch.no_grad():
        z = s.value(np.stack([gx, gy], -1)).numpy()
    return xs, ys, z


# --------------------------------------------------------------------------- trajectories
@dataclass
class Paths:
    """``K`` optimizer paths: ``points [K, steps+1, 2]`` and ``losses [K, steps+1]`` (NaN after
    divergence), ``diverged_at [K]`` (the step whose update left the finite box, or -1)."""

    points: np.ndarray
    losses: np.ndarray
    diverged_at: np.ndarray
    runs: list[dict]

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    def last_finite(self) -> np.ndarray:
        """The last point of each path before it diverged (its end if it did not), ``[K, 2]``."""
        index = np.where(self.diverged, self.diverged_at - 1, self.points.shape[1] - 1)
        return self.points[np.arange(len(index)), index]


def _schedule_fn(schedule, lr: float, steps: int) -> Callable[[int], float]:
    """``schedule`` (None, a name from :mod:`lrlab.schedules`, a Schedule or a callable) as ``epoch -> lr``."""
    if schedule is None:
        return lambda epoch: lr
    if isinstance(schedule, str):
        built = schedules_mod.make_schedule(schedule, lr, steps)
        return built.lr
    if hasattr(schedule, "lr") and callable(schedule.lr):
        return schedule.lr
    if callable(schedule):
        return schedule
    raise ValueError(f"schedule: None, a name in {', '.join(schedules_mod.SCHEDULES)} or a callable epoch -> lr, "
                     f"got {schedule!r}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _stack_hyper(values: list):
    """K values of one hyper-parameter -> a number (all equal), a [K] tensor, or a tuple of [K] tensors."""
    first = values[0]
    if all(v == first for v in values):
        return first
    if isinstance(first, (tuple, list)):
        return tuple(torch.tensor([float(v[i]) for v in values], dtype=DTYPE) for i in range(len(first)))
    return torch.tensor([float(v) for v in values], dtype=DTYPE)


def _group_key(run: dict):
    """Runs share one batched optimizer call when they have the same optimizer and the same
    non-numeric hyper-parameters (flags such as ``nesterov``), and schedule."""
    flags = tuple(sorted((k, v) for k, v in run["hyper"].items()
                         if not (_is_number(v) or isinstance(v, (tuple, list)))))
    return (run["optimizer"], flags, id(run["schedule"]) if run["schedule"] is not None and
            not isinstance(run["schedule"], str) else run["schedule"])


def _check_start(surface: Surface, start) -> tuple[float, float]:
    start = surface.start if start is None else tuple(float(v) for v in start)
    if len(start) != 2 or not all(math.isfinite(v) for v in start):
        raise ValueError(f"start: two finite numbers (x, y), got {start!r}")
    return start


def normalize_run(surface: Surface, run: dict, steps: int) -> dict:
    """``{'optimizer', 'start', 'schedule', **hyper}`` -> ``{'optimizer', 'start', 'schedule', 'hyper'}``
    with the optimizer's defaults filled and validated (``lr`` defaults to the surface's suggestion)."""
    run = dict(run)
    name = run.pop("optimizer")
    spec = optim_mod.get(name)
    start = _check_start(surface, run.pop("start", None))
    schedule = run.pop("schedule", None)
    if run.get("lr") is None:
        run["lr"] = surface.suggested_lr(name)
    hyper = spec.resolve(**run)
    return {"optimizer": name, "start": start, "schedule": schedule, "hyper": hyper}


def trajectories(surface: str | Surface, runs: Sequence[dict], steps: int) -> Paths:
    """Run many ``(optimizer, hyper-parameters, start, schedule)`` combinations at once.

    ``runs``: dicts such as ``{'optimizer': 'adam', 'start': (x, y), 'lr': 0.05, 'betas': (0.9, 0.99)}``.
    All ``K`` points live in one ``[K, 2]`` tensor; each step computes every gradient with one
    autograd call and updates each optimizer's rows with one batched call of its
    ``spec.step`` (per-run hyper-parameters passed as ``[K_group]`` tensors).
    """
    s = get(surface)
    if not (isinstance(steps, int) and 0 <= steps <= 100_000):
        raise ValueError(f"steps: an integer in [0, 100000], got {steps!r}")
    normalized, seen = [], {}
    for r in runs:  # runs that differ only in their start share one validation
        try:
            key = (tuple(sorted((k, v) for k, v in r.items() if k not in ("start", "schedule"))), id(r.get("schedule")))
            hash(key)
        except TypeError:
            key = None
        if key is None or key not in seen:
            done = normalize_run(s, r, steps)
            if key is not None:
                seen[key] = done
        else:
            done = dict(seen[key])
            done["start"] = _check_start(s, r.get("start"))
        normalized.append(done)
    K = len(normalized)
    # contiguous rows per group, so that each group's parameters are a view of the [K, 2] tensor
    groups: dict[Any, list[int]] = {}
    for k, run in enumerate(normalized):
        groups.setdefault(_group_key(run), []).append(k)
    order = [k for members in groups.values() for k in members]
    params = torch.tensor([normalized[k]["start"] for k in order], dtype=DTYPE).reshape(K, 2)
    starts = params.clone()
    batches = []
    row = 0
    for members in groups.values():
        first = normalized[members[0]]
        spec = optim_mod.get(first["optimizer"])
        view = params[row:row + len(members)]
        hyper = {key: _stack_hyper([normalized[k]["hyper"][key] for k in members]) for key in first["hyper"]}
        base_lrs = [normalized[k]["hyper"]["lr"] for k in members]
        unique_lrs = sorted(set(base_lrs))
        lr_fns = [_schedule_fn(first["schedule"], lr, steps) for lr in unique_lrs]
        lr_index = torch.tensor([unique_lrs.index(lr) for lr in base_lrs]) if len(unique_lrs) > 1 else None
        batches.append({"spec": spec, "rows": slice(row, row + len(members)), "view": view,
                        "state": spec.init(view), "hyper": {k: v for k, v in hyper.items() if k != "lr"},
                        "lr_fns": lr_fns, "lr_index": lr_index})
        row += len(members)

    points = np.full((K, steps + 1, 2), np.nan)
    losses = np.full((K, steps + 1), np.nan)
    diverged_at = np.full(K, -1, dtype=np.int64)
    alive = torch.ones(K, dtype=torch.bool)
    points[:, 0] = params.numpy()
    for t in range(steps + 1):
        q = params.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            value = s.f(q)
            (grads,) = torch.autograd.grad(value.sum(), q)
        alive_np = alive.numpy()
        losses[alive_np, t] = value.detach().numpy()[alive_np]
        if t == steps or not alive.any():
            break
        with torch.no_grad():
            for b in batches:
                lrs = [float(fn(t)) for fn in b["lr_fns"]]  # the schedule of each distinct base lr
                lr = lrs[0] if b["lr_index"] is None else torch.tensor(lrs, dtype=DTYPE)[b["lr_index"]]
                b["state"] = b["spec"].step(b["view"], grads[b["rows"]], b["state"], lr=lr, **b["hyper"])
            bad = alive & ~(torch.isfinite(params).all(1) & (params.abs() <= DIVERGENCE_LIMIT).all(1))
            if bad.any():
                diverged_at[bad.numpy()] = t + 1
                alive &= ~bad
            # keep dead rows finite (their numbers are never reported) so that nothing overflows further
            params[~alive] = starts[~alive]
        points[alive.numpy(), t + 1] = params.numpy()[alive.numpy()]
    # back to the caller's order
    inverse = np.argsort(order)
    return Paths(points[inverse], losses[inverse], diverged_at[inverse], normalized)


def trajectory(surface: str | Surface, optimizer: str, start=None, steps: int = 200, schedule=None,
               **hyper) -> np.ndarray:
    """The path ``[steps+1, 2]`` of ``optimizer`` on ``surface`` from ``start`` (NaN after divergence).

    ``schedule``: None (constant ``lr``), a name from :mod:`lrlab.schedules` (built with ``lr``
    and ``steps``), or a callable ``epoch -> lr``. ``hyper``: the optimizer's hyper-parameters.
    """
    return trajectories(surface, [{"optimizer": optimizer, "start": start, "schedule": schedule, **hyper}],
                        steps).points[0]


def diverged_at(path: np.ndarray) -> int:
    """The first step of ``path`` that is NaN (the path diverged there), or -1."""
    bad = ~np.isfinite(path).all(-1)
    return int(np.argmax(bad)) if bad.any() else -1


# --------------------------------------------------------------------------- convergence map
#: codes of :func:`classify_ends` besides the index of a critical point
NOT_CONVERGED, DIVERGED = -1, -2


def ended_at(surface: str | Surface, paths: Paths, tol: float | None = None) -> list[str]:
    """Where each path of ``paths`` ended, in words a learner can compare: ``'reached the global
    minimum (0, 1)'``, ``'stuck at the saddle (0, 0)'``, ``'diverged at step 38'`` or ``'not at a
    minimum or saddle yet'`` (still on its way). A critical point counts within ``tol`` of it (as
    :func:`classify_ends`: 2 % of the box's diagonal by default).

    A path's value alone cannot say it: on the saddle surface ``f`` is 0 at the saddle and
    -0.25 at the minima, and a tiny ``f`` reads like success."""
    s = get(surface)
    if not isinstance(paths, Paths):
        raise ValueError(f"paths: a Paths from trajectories(), got {type(paths).__name__}")
    codes = classify_ends(s, paths.last_finite(), paths.diverged, tol)
    words = []
    for code, step in zip(codes, paths.diverged_at):
        if code == DIVERGED:
            words.append(f"diverged at step {int(step)}")
        elif code == NOT_CONVERGED:
            words.append("not at a minimum or saddle yet")
        else:
            c = s.critical_points[int(code)]
            where = f"({_short(c.x)}, {_short(c.y)})"
            words.append(f"stuck at the saddle {where}" if c.kind == "saddle" else f"reached the {c.kind} {where}")
    return words


def _short(v: float) -> str:
    """A coordinate as a learner reads it: 0, 1, -1.04 (never -0)."""
    from .fmt import num
    return num(round(v, 2), "g")


def classify_ends(surface: str | Surface, ends: np.ndarray, diverged: np.ndarray, tol: float | None = None):
    """For each end point ``[N, 2]``: the index in ``surface.critical_points`` of the point it
    reached (within ``tol``, default 2 % of the box's diagonal), ``NOT_CONVERGED`` (-1) or ``DIVERGED`` (-2)."""
    s = get(surface)
    x0, x1, y0, y1 = s.box
    tol = 0.02 * math.hypot(x1 - x0, y1 - y0) if tol is None else tol
    cps = np.array([[c.x, c.y] for c in s.critical_points])
    ends = np.asarray(ends, dtype=np.float64)
    distance = np.linalg.norm(np.nan_to_num(ends, nan=1e300)[:, None, :] - cps[None], axis=-1)
    nearest = distance.argmin(1)
    codes = np.where(distance[np.arange(len(ends)), nearest] <= tol, nearest, NOT_CONVERGED)
    return np.where(np.asarray(diverged), DIVERGED, codes)


@dataclass
class ConvergenceMap:
    """Where ``optimizer`` ends from every start of a ``resolution x resolution`` grid:
    ``codes [resolution, resolution]`` (rows = y) as in :func:`classify_ends`."""

    xs: np.ndarray
    ys: np.ndarray
    codes: np.ndarray
    ends: np.ndarray
    optimizer: str
    hyper: dict
    steps: int


def convergence_map(surface: str | Surface, optimizer: str, resolution: int = 41, steps: int = 200,
                    schedule=None, tol: float | None = None, **hyper) -> ConvergenceMap:
    """Start ``optimizer`` from every point of a grid over the box (one batched run) and classify the ends."""
    s = get(surface)
    if not (isinstance(resolution, int) and 2 <= resolution <= 400):
        raise ValueError(f"resolution: an integer in [2, 400], got {resolution!r}")
    x0, x1, y0, y1 = s.box
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    starts = np.stack([gx.ravel(), gy.ravel()], 1)
    paths = trajectories(s, [{"optimizer": optimizer, "start": p, "schedule": schedule, **hyper} for p in starts],
                         steps)
    ends = paths.last_finite()
    codes = classify_ends(s, ends, paths.diverged, tol).reshape(resolution, resolution)
    return ConvergenceMap(xs, ys, codes, ends.reshape(resolution, resolution, 2), optimizer,
                          paths.runs[0]["hyper"], steps)
