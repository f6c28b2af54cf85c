"""The parameter tables of the docs, printed from the declarations (:mod:`lrlab.params`):
``python -m lrlab.paramdocs`` prints the README's "Parameters" tables."""
from __future__ import annotations

from .optim import OPTIMIZERS
from .params import LR, Param, format_value
from .schedules import SCHEDULES


def _default_text(param: Param) -> str:
    if param.default is None:
        return f"derived: {param.derived}" if param.derived else "derived"
    return format_value(param.default)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(specs, every: str = "every one") -> list[tuple]:
    """One row per parameter declaration; the same declaration in several registry entries is one
    row listing them (a default that differs is given per entry)."""
    specs = list(specs)
    rows: dict = {}
    for spec in specs:
        for p in spec.params:
            key = (p.name, p.kind, p.range, p.choices, p.parts, p.help)  # the same parameter, but for its default
            rows.setdefault(key, []).append((spec.name, p))
    out = []
    for key, users in rows.items():
        p = users[0][1]
        defaults: dict[str, list[str]] = {}
        for owner, q in users:
            defaults.setdefault(_default_text(q), []).append(owner)
        if len(defaults) == 1:
            default = next(iter(defaults))
        else:
            common = max(defaults, key=lambda d: len(defaults[d]))
            default = "; ".join([common] + [f"{', '.join(o)}: {d}" for d, o in defaults.items() if d != common])
        owners = every if len(users) == len(specs) > 1 else ", ".join(owner for owner, _ in users)
        out.append((p.name, owners, default, p.allowed(), p.help))
    return out


def table(which: str = "optimizers") -> str:
    """The parameter table of ``which`` (``'optimizers'`` or ``'schedules'``) as Markdown, from the
    declarations: parameter, used by, default, allowed, meaning (:func:`readme_tables` prints both)."""
    if which == "optimizers":
        registry = OPTIMIZERS
    elif which == "schedules":
        registry = SCHEDULES
    else:
        raise ValueError(f"which: must be 'optimizers' or 'schedules', got {which!r}")
    lines = ["| parameter | used by | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, users, default, allowed, meaning in _rows(registry.values(), f"every {which[:-1]}"):
        lines.append(f"| `{name}` | {_cell(users)} | {_cell(default)} | {_cell(allowed)} | {_cell(meaning)} |")
    return "\n".join(lines)


def readme_tables() -> str:
    """The README's parameter tables, as ``python -m lrlab.paramdocs`` prints them
    (``tests/test_params.py`` keeps the README equal to this)."""
    return (f"**Optimizer hyper-parameters** (`lrlab.optim.OPTIMIZERS[name].params`; the learning rate is "
            f"`lrlab.params.LR`, {LR.allowed()})\n\n{table('optimizers')}\n\n"
            f"**Schedule parameters** (`lrlab.schedules.SCHEDULES[name].params`)\n\n{table('schedules')}\n")


if __name__ == "__main__":
    print(readme_tables())
