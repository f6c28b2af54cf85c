"""Run a notebook top to bottom in a fresh kernel, as Run All does, and time it.

Used by ``scripts/refresh_notebooks.py`` (which saves the outputs) and by the test that holds
every tutorial to its time budget (``tests/test_notebook_timing.py``): a notebook runs in under
:data:`MAX_NOTEBOOK_S` on one core, and the kernel is busy for at most :data:`MAX_BUSY_AFTER_PANEL_S`
after its first live panel appears (a learner who clicks Start then is answered at once).

The kernel is this interpreter's ipykernel (as nbval's), with ``PYTHONHASHSEED=0``; with
``one_core`` it is pinned to one CPU (``os.sched_setaffinity``, where the system has it).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

#: seconds a tutorial may take, Run All, on one core
MAX_NOTEBOOK_S = 60.0
#: seconds the kernel may stay busy once the first live panel is on show
MAX_BUSY_AFTER_PANEL_S = 5.0
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class Execution:
    """A notebook run: the executed notebook, its wall ``seconds``, each code cell's end time (s
    from the start), and when the first cell showing a widget ended (None: no panel)."""
    nb: object
    seconds: float
    cell_ends: list = field(default_factory=list)  # (cell index, seconds from the start)
    first_panel_s: float | None = None
    first_panel_cell: int | None = None

    @property
    def busy_after_panel_s(self) -> float:
        """Seconds the kernel kept running cells after the first panel appeared (0 without one)."""
        return 0.0 if self.first_panel_s is None else max(0.0, self.seconds - self.first_panel_s)


def _kernel_specs():
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager

    class CurrentEnvKernelSpecs(KernelSpecManager):
        """Every Python kernel name resolves to ipykernel in this interpreter (like nbval's)."""

        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return CurrentEnvKernelSpecs()


def execute(path: str | os.PathLike, timeout: int = 600, one_core: bool = False) -> Execution:
    """Execute the notebook at ``path`` in a fresh kernel (cwd: its folder); the :class:`Execution`.
    Raises nbclient's ``CellExecutionError`` when a cell fails."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps from earlier runs
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_kernel_specs())
    ends: list = []
    start = [None]

    def pin(**_):
        start[0] = time.perf_counter()
        if one_core and hasattr(os, "sched_setaffinity"):
            pid = getattr(getattr(km, "provisioner", None), "process", None)
            if pid is not None:
                os.sched_setaffinity(pid.pid, {min(os.sched_getaffinity(0))})

    def executed(cell=None, cell_index=None, **_):
        ends.append((cell_index, time.perf_counter() - start[0]))

    client = NotebookClient(nb, km=km, timeout=timeout, record_timing=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter
                            resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=pin, on_cell_executed=executed)
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        client.execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = old
    run = Execution(nb, ends[-1][1] if ends else 0.0, ends)
    for index, t in ends:
        if any(WIDGET_VIEW in o.get("data", {}) for o in nb.cells[index].get("outputs", [])):
            run.first_panel_s, run.first_panel_cell = t, index
            break
    return run
