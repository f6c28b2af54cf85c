import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Every test on one intra-op thread: the tensors are tiny, so one thread is several times
    faster on a shared 2-core machine, and results do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- the notebooks under the other CPythons (tests/pythons.py), overlapping the rest of the suite
OTHER_PYTHONS_TEST = "test_nbval_passes_under_each_other_python"


def pytest_collection_modifyitems(session, config, items):
    """The per-Python nbval check waits for work done in the background: it goes last."""
    last = [item for item in items if item.name == OTHER_PYTHONS_TEST]
    items[:] = [item for item in items if item.name != OTHER_PYTHONS_TEST] + last


def pytest_collection_finish(session):
    """Once the tests are known, and only if that check is among them: prepare the other Pythons'
    environments and run their nbval in the background, at the lowest CPU priority."""
    import subprocess
    import sys

    import pythons
    if not any(item.name == OTHER_PYTHONS_TEST for item in session.items) or not pythons.others():
        return
    pythons.ROOT.mkdir(exist_ok=True)
    pythons.REPORT.unlink(missing_ok=True)
    log = open(pythons.ROOT / "background.log", "w")
    session.config.lrlab_other_pythons = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, str(pythons.REPO / "tests" / "pythons.py")],
        stdout=log, stderr=subprocess.STDOUT, cwd=pythons.REPO, start_new_session=True)
    log.close()


def pytest_sessionfinish(session):
    proc = getattr(session.config, "lrlab_other_pythons", None)
    if proc is not None and proc.poll() is None:  # the suite stopped early (-x, Ctrl-C): stop it too
        import os
        import signal
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at the end of the session (gone, or slow to end)
            pass
