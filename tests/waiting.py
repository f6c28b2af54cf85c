"""Helpers the panel tests share: lrlab's own threads, and waiting for a condition."""
import threading
import time


def lrlab_threads() -> list:
    """The live threads lrlab started (their names begin with ``lrlab-``)."""
    return [t for t in threading.enumerate() if t.name.startswith("lrlab-")]


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` every ``interval`` s until it holds or ``timeout`` s pass; its last value."""
    deadline = time.time() + timeout
    while not predicate() and time.time() < deadline:
        time.sleep(interval)
    return predicate()
