"""Draw live training figures in a separate process, so that drawing never holds the trainer's GIL.

Why. matplotlib (Agg) holds Python's global interpreter lock while it draws and encodes, so a
drawer *thread* takes its 30-200 ms per frame straight out of the training thread's time
(measured on a 2-core machine: training at 0.4-0.6x its speed while drawing ~10 frames/s).
A process has its own interpreter: the training thread only snapshots the numbers
(:func:`lrlab.plots.training.live_frame`, ~2 ms), the panel's drawer thread sends them down a
pipe and waits there (lock released), and the renderer process draws its own copy of the
:class:`~lrlab.plots.training.LiveTrainingFigure` and sends the PNG bytes back.

Protocol (a duplex ``multiprocessing`` Pipe, ``spawn`` context so that it behaves the same in
Jupyter kernels, pytest and on every OS)::

    parent -> child   ("open", key, figure_bytes)   a pickled LiveTrainingFigure (no reply)
                      ("close", key)                forget a figure (no reply)
                      ("frame", seq, key, frame)    draw; reply (seq, png | None, error | None)
                      ("quit",)
    child -> parent   ("hello", pid)                once, when its imports are done

The figure travels pickled (matplotlib figures pickle), with whatever options it was built
with, so the copy in the renderer draws exactly what the panel's own figure would.

One renderer serves every panel of a kernel (figures are keyed; the :data:`MAX_FIGURES` most
recently used are kept). It is started lazily by :func:`get_renderer`, is a daemon, is shut
down at exit (``atexit``) and is restarted if it dies (up to :data:`MAX_DEATHS` deaths per
kernel); where it cannot run, the panel draws in its own thread as before. A reply nobody
waits for any more (Stop abandons a frame in flight) is recognised by its ``seq`` and dropped
before the next request is sent, so the pipe never holds two large messages at once.
Set the environment variable ``LRLAB_RENDER_PROCESS=0`` to always draw in-process.
"""
from __future__ import annotations

import atexit
import copy
import os
import pickle
import threading
import time
from collections import OrderedDict
from typing import Callable, Optional, Union

#: Figures the renderer keeps (least recently used dropped; a dropped one is re-sent on demand).
MAX_FIGURES = 8
#: Unexpected renderer deaths per kernel before giving up and drawing in-process.
MAX_DEATHS = 3
#: How often a drawer waiting for another panel's frame looks at its abandon flag (s).
POLL_S = 0.01
#: Scheduling priority of the renderer (``os.nice`` increment; env ``LRLAB_RENDER_NICE``): on a busy
#: machine the training thread gets the cores first; on an idle one it changes nothing.
NICE = 0
#: POSIX: the renderer starts its own session (``os.setsid``). Linux's scheduler gives each session
#: (autogroup) an equal share of a busy machine: in the kernel's session the renderer's drawing
#: would come out of the training thread's share; in its own it competes like any other job.
#: On an idle machine this changes nothing. (Interrupts and terminal signals do not reach it;
#: it ends when the kernel's end of the pipe closes, or at exit.)
OWN_SESSION = True
#: A frame the renderer has not answered within this many seconds is drawn in the panel's own
#: process instead (a frame takes 30-200 ms there); the renderer is left alone (it may only be slow)
#: and its late reply is dropped. While that reply is outstanding, frames are drawn in-process
#: at once, without waiting again: a frozen renderer costs one frame's wait, not every frame's.
REPLY_TIMEOUT_S = 2.0
#: A renderer that has not answered for this many seconds is hung: it is killed (SIGKILL: a
#: stopped process ignores SIGTERM) and a new one is started for the next frame.
HANG_TIMEOUT_S = 15.0

_UNKNOWN = "unknown figure"


class RenderError(RuntimeError):
    """The renderer process could not draw this frame (not started, dead, hung, or drawing failed)."""


# ============================================================================ the child process
def serve(conn) -> None:
    """The renderer process's loop (the ``spawn`` target): figures by key, frames in, PNG bytes out."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Jupyter's interrupt signals the process group
    nice = int(os.environ.get("LRLAB_RENDER_NICE", NICE))
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)  # where cores are scarce, training comes first
        except OSError:
            pass
    if OWN_SESSION and hasattr(os, "setsid"):
        try:
            os.setsid()  # its own session, hence its own scheduling group (see OWN_SESSION)
        except OSError:
            pass
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from . import training  # noqa: F401  the figure's class, imported before "hello"
    figures: OrderedDict = OrderedDict()
    broken: dict = {}
    conn.send(("hello", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the kernel is gone
            return
        op = msg[0]
        if op == "quit":
            return
        if op == "close":
            figures.pop(msg[1], None)
            broken.pop(msg[1], None)
        elif op == "open":
            _, key, blob = msg
            try:
                fig = pickle.loads(blob)
                FigureCanvasAgg(fig.fig)  # an unpickled Figure comes back with a bare canvas
                fig._background = None
                figures[key] = fig
                while len(figures) > MAX_FIGURES:
                    figures.popitem(last=False)
            except Exception as exc:
                broken[key] = f"cannot unpickle the figure: {type(exc).__name__}: {exc}"
        elif op == "frame":
            _, seq, key, frame = msg
            fig = figures.get(key)
            if fig is None:
                reply = (seq, None, broken.get(key, _UNKNOWN))
            else:
                figures.move_to_end(key)
                try:
                    delay = frame.pop("_render_delay", 0)  # tests: a slow frame
                    if delay:
                        time.sleep(delay)
                    fig.update(frame)
                    reply = (seq, fig.png(), None)  # a live frame (lrlab.plots.encode_live_png)
                except Exception as exc:
                    reply = (seq, None, f"drawing failed: {type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except (EOFError, OSError):
                return


# ============================================================================ the client
def pickle_figure(figure) -> bytes:
    """``figure`` (a LiveTrainingFigure) as bytes for the renderer; its blit cache stays behind."""
    shallow = copy.copy(figure)
    shallow._background = None  # an Agg buffer region: not picklable, and only valid for this canvas
    return pickle.dumps(shallow, protocol=pickle.HIGHEST_PROTOCOL)


def plain_frame(frame: dict) -> dict:
    """``frame`` with any torch tensor replaced by a numpy copy (tensors would travel as shared memory)."""
    out = {}
    for k, v in frame.items():
        if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        out[k] = v
    return out


_spawn_lock = threading.Lock()


def _start_without_main(process) -> None:
    """``process.start()``, without the ``spawn`` child re-running the parent's ``__main__``.

    ``spawn`` normally imports the parent's main script in the child (``__mp_main__``), so a
    learner's unguarded script (no ``if __name__ == "__main__":``) would run again there,
    building panels and starting renderers of its own. The renderer needs nothing from
    ``__main__`` (its target lives in this module), so those two entries of the preparation
    data are dropped while it starts; it also starts faster.
    """
    from multiprocessing import spawn
    original = spawn.get_preparation_data

    def preparation_data(name):
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _spawn_lock:
        spawn.get_preparation_data = preparation_data
        try:
            process.start()
        finally:
            spawn.get_preparation_data = original


class Renderer:
    """The parent's end of one renderer process. Thread-safe: one request at a time (a lock)."""

    def __init__(self):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=serve, args=(child,), name="lrlab-renderer", daemon=True)
        _start_without_main(self.process)
        child.close()
        self.pid = self.process.pid
        self._conn = parent
        # A drawer waits for its reply in one blocking call (no polling: each wake-up would take
        # the GIL from the training thread); wake() writes here so that Stop cuts the wait short.
        self._wake_r, self._wake_w = ctx.Pipe(duplex=False)
        self._lock = threading.Lock()
        self._ready = False
        self._waiting: dict[int, float] = {}  # frames sent whose reply has not been read -> when sent
        self._open: set = set()  # keys the process holds
        self._closing: list = []
        self._seq = 0
        self.dead: Optional[str] = None  # why it stopped working
        self.frames = 0

    # -- state -----------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.dead is None and self.process.is_alive()

    def ready(self, timeout: float = 0.0) -> bool:
        """True once the process has finished its imports (waits up to ``timeout`` s)."""
        if self._ready:
            return True
        if not self._lock.acquire(timeout=max(timeout, 0.001)):
            return False
        try:
            deadline = time.monotonic() + timeout
            while not self._ready and self.dead is None:
                left = deadline - time.monotonic()
                if not self._conn.poll(max(0.0, min(left, 0.05))):
                    if left <= 0:
                        break
                    if not self.process.is_alive():
                        self._die("the renderer process exited while starting")
                    continue
                self._read()
        except (EOFError, OSError) as exc:
            self._die(f"the renderer process is gone ({type(exc).__name__})")
        finally:
            self._lock.release()
        return self._ready

    def _die(self, why: str, kill: bool = False) -> None:
        if self.dead is None:
            self.dead = why
        try:
            self._conn.close()
        except OSError:
            pass
        if self.process.is_alive():
            if kill:  # hung, maybe stopped (SIGSTOP): only SIGKILL ends it now
                self.process.kill()
            else:
                self.process.terminate()

    def _send(self, msg, abandon: Optional[Callable[[], bool]] = None) -> None:
        """Send ``msg`` (lock held). The process takes a message at once when it is well (it waits
        for the next one); a write it does not take (its pipe full: it is stopped or hung) within
        :data:`HANG_TIMEOUT_S`, or while the frame is abandoned (Stop), would block the drawer for
        ever: the process is killed instead, which ends the write, and :class:`RenderError` says so."""
        box: dict = {}

        def write():
            try:
                self._conn.send(msg)
            except BaseException as exc:  # (handed to the caller below)
                box["error"] = exc
        writer = threading.Thread(target=write, name="lrlab-render-send", daemon=True)
        writer.start()
        deadline = time.monotonic() + HANG_TIMEOUT_S
        while True:
            writer.join(POLL_S)
            if not writer.is_alive():
                break
            if time.monotonic() > deadline or (abandon is not None and abandon()):
                if self.process.is_alive():
                    self.process.kill()  # its end of the pipe closes: the write fails and ends
                writer.join(2.0)
                self._die("the renderer did not take a frame (hung or stopped): killed", kill=True)
                raise RenderError(self.dead)
        if "error" in box:
            raise box["error"]

    def _read(self):
        """One message from the process (lock held)."""
        msg = self._conn.recv()
        if msg[0] == "hello":
            self._ready = True
            return None
        self._waiting.pop(msg[0], None)
        return msg

    def wake(self) -> None:
        """Cut short the current wait for a reply, so that the waiter looks at its abandon flag."""
        try:
            self._wake_w.send_bytes(b"!")
        except (OSError, ValueError):
            pass

    def _overdue(self) -> float:
        """Seconds the oldest outstanding frame has waited for its reply (0 if none)."""
        return time.monotonic() - min(self._waiting.values()) if self._waiting else 0.0

    def _give_up(self, timeout: float) -> None:
        """No reply in time: a hung renderer is killed; a slow one is left to answer later."""
        if self._overdue() >= HANG_TIMEOUT_S:
            self._die(f"the renderer did not answer for {HANG_TIMEOUT_S:g} s (hung): killed", kill=True)
            raise RenderError(self.dead)
        raise RenderError(f"the renderer did not answer within {timeout:g} s")

    def _next(self, deadline: float, abandon: Optional[Callable[[], bool]], timeout: float = REPLY_TIMEOUT_S):
        """The next reply, or None if ``abandon()`` became true first (lock held).

        Blocks in one ``wait`` on the pipe and the wake-up pipe (GIL released, no polling).
        Past ``deadline``: :class:`RenderError` (see :meth:`_give_up`).
        """
        from multiprocessing.connection import wait
        while True:
            if abandon is not None and abandon():
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                self._give_up(timeout)
            ready = wait([self._conn, self._wake_r], timeout=left)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            if self._conn in ready:
                msg = self._read()
                if msg is not None:
                    return msg

    # -- requests --------------------------------------------------------------------------
    def forget(self, key) -> None:
        """Let the process drop figure ``key`` (sent with the next request)."""
        self._closing.append(key)

    def render(self, key, figure: Union[bytes, Callable[[], bytes]], frame: dict,
               abandon: Optional[Callable[[], bool]] = None, timeout: float = REPLY_TIMEOUT_S) -> Optional[bytes]:
        """PNG bytes of ``frame`` drawn on figure ``key`` (sent first as ``figure`` if the process lacks it).

        Returns None if ``abandon()`` became true before the reply (the reply is dropped later).
        Raises :class:`RenderError` if the process is not ready, died, hung, or failed to draw.
        """
        deadline = time.monotonic() + timeout
        while not self._lock.acquire(timeout=POLL_S):  # another panel's frame is being drawn
            if abandon is not None and abandon():
                return None
            if time.monotonic() > deadline:
                raise RenderError("the renderer is busy")
        try:
            if self.dead is not None:
                raise RenderError(self.dead)
            if not self._ready and self._conn.poll(0):
                self._read()
            if not self._ready:
                raise RenderError("the renderer is still starting")
            while self._waiting and self._conn.poll(0):  # late replies that have come: dropped
                self._read()
            if self._waiting and self._overdue() >= timeout:  # still not answered: draw elsewhere now
                self._give_up(timeout)
            while self._waiting:  # replies to abandoned frames: read and drop, so the process is idle
                if self._next(deadline, abandon, timeout) is None:
                    return None
            while self._closing:
                k = self._closing.pop()
                self._open.discard(k)
                self._conn.send(("close", k))
            frame = plain_frame(frame)
            for attempt in range(2):
                if key not in self._open:
                    self._send(("open", key, figure() if callable(figure) else figure), abandon)
                    self._open.add(key)
                self._seq += 1
                seq = self._seq
                self._send(("frame", seq, key, frame), abandon)
                self._waiting[seq] = time.monotonic()
                while True:
                    msg = self._next(deadline, abandon, timeout)
                    if msg is None:
                        return None
                    if msg[0] == seq:
                        break
                _, png, error = msg
                if error == _UNKNOWN and attempt == 0:  # dropped as least recently used: send it again
                    self._open.discard(key)
                    continue
                if error is not None:
                    raise RenderError(error)
                self.frames += 1
                return png
        except (EOFError, OSError) as exc:
            self._die(f"the renderer process is gone ({type(exc).__name__}: {exc})")
            raise RenderError(self.dead) from exc
        finally:
            self._lock.release()

    def close(self, timeout: float = 2.0) -> None:
        """Ask the process to quit; terminate it if it does not within ``timeout`` s."""
        got = self._lock.acquire(timeout=timeout)
        try:
            if self.dead is None:
                try:
                    self._conn.send(("quit",))
                except (EOFError, OSError):
                    pass
        finally:
            if got:
                self._lock.release()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():  # stopped (SIGSTOP) or stuck: SIGTERM is not enough
            self.process.kill()
            self.process.join(1.0)
        if self.dead is None:
            self.dead = "closed"
        for conn in (self._conn, self._wake_r, self._wake_w):
            try:
                conn.close()
            except OSError:
                pass


# ============================================================================ one per kernel
_lock = threading.Lock()
_renderer: Optional[Renderer] = None
_deaths = 0
_atexit_registered = False
#: Why live frames are drawn in-process in this kernel (None while the renderer may be used).
disabled_reason: Optional[str] = None


def enabled() -> bool:
    """Whether live frames may be drawn in the renderer process here."""
    if os.environ.get("LRLAB_RENDER_PROCESS", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return disabled_reason is None


def _start() -> Renderer:
    return Renderer()


def get_renderer(start: bool = True) -> Optional[Renderer]:
    """The kernel's renderer (started if needed and ``start``), or None where it cannot run.

    Starting returns at once: the process imports matplotlib for a second or two, during which
    :meth:`Renderer.ready` is False (the panel draws in its own thread meanwhile).
    """
    global _renderer, _deaths, disabled_reason, _atexit_registered
    with _lock:
        r = _renderer
        if r is not None and r.alive():
            return r
        if r is not None:  # it died: clean up, then start another
            why = r.dead or f"exit code {r.process.exitcode}"
            r.close(timeout=0.5)
            _renderer = None
            _deaths += 1
            if _deaths >= MAX_DEATHS:
                disabled_reason = f"the renderer process died {_deaths} times (last: {why})"
        if not start or not enabled():
            return None
        try:
            _renderer = _start()
        except Exception as exc:  # no processes here (sandbox, frozen app, ...): draw in-process
            disabled_reason = f"cannot start a renderer process: {type(exc).__name__}: {exc}"
            _renderer = None
            return None
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True
        return _renderer


def current() -> Optional[Renderer]:
    """The running renderer, if any (starts nothing)."""
    r = _renderer
    return r if r is not None and r.alive() else None


def wake() -> None:
    """Cut short a drawer's wait for the renderer (call after setting its abandon flag)."""
    r = _renderer
    if r is not None:
        r.wake()


def forget(key) -> None:
    """Drop figure ``key`` from the renderer (a panel closed, or its figure was replaced)."""
    r = current()
    if r is not None and key is not None:
        r.forget(key)


def shutdown(timeout: float = 2.0) -> None:
    """Stop the kernel's renderer process (atexit does this; a later live Start starts a new one)."""
    global _renderer
    with _lock:
        r, _renderer = _renderer, None
    if r is not None:
        r.close(timeout)


def reset_for_tests() -> None:
    """Shut down and forget past failures (tests of the fallback)."""
    global _deaths, disabled_reason
    shutdown()
    _deaths = 0
    disabled_reason = None


_keys = iter(range(1, 2**62))
_keys_lock = threading.Lock()


def new_key() -> int:
    """A fresh figure key (unique in this kernel)."""
    with _keys_lock:
        return next(_keys)


class RemoteFigure:
    """One panel's live figure as the kernel's renderer draws it: the figure is pickled once per
    launch (:meth:`prepare`) and each frame is drawn there (:meth:`render`). The panel draws a
    frame itself where this returns None.

    ``mode``: where the last live frame was drawn ("process", or "thread (why)");
    ``frames``: live frames the renderer drew for this panel."""

    def __init__(self):
        self.mode = "thread"
        self.frames = 0
        self._key = None  # this figure's key in the renderer
        self._blob = None  # this figure, pickled for the renderer
        self._figure = None  # the figure that _key / _blob describe

    @property
    def prepared(self) -> bool:
        """Whether a pickled figure is ready to be drawn remotely."""
        return self._blob is not None

    def prepare(self, figure) -> None:
        """Start the kernel's renderer (returns at once) and pickle ``figure`` for it (~60 ms)."""
        if not enabled():
            self.mode = f"thread ({disabled_reason or 'LRLAB_RENDER_PROCESS=0'})"
            return
        if get_renderer() is None:
            self.mode = f"thread ({disabled_reason})"
            return
        forget(self._key)  # sent again: the figure may have changed since
        self._key = self._blob = None
        self._figure = figure  # tried once per figure and launch
        try:
            blob = pickle_figure(figure)
        except Exception as exc:  # e.g. an unpicklable attribute: the panel draws it
            self.mode = f"thread (figure not picklable: {type(exc).__name__}: {exc})"
            return
        self._key, self._blob = new_key(), blob

    def render(self, figure, frame: dict, abandoned: Optional[Callable[[], bool]] = None) -> Optional[bytes]:
        """PNG of ``frame`` drawn on ``figure``'s copy in the renderer, or None (``abandoned()``,
        or the panel draws it: the reason is in :attr:`mode`)."""
        if self._figure is not figure:  # a new figure (e.g. live drawing turned on during the run)
            self.prepare(figure)
        if self._blob is None:
            return None
        renderer = get_renderer()  # restarted if it died
        if renderer is None:
            self.mode = f"thread ({disabled_reason})"
            return None
        if not renderer.ready():
            self.mode = "thread (renderer starting)"
            return None
        try:
            png = renderer.render(self._key, self._blob, frame, abandoned)
        except RenderError as exc:
            self.mode = f"thread ({exc})"
            return None
        if png is not None:
            self.mode = "process"
            self.frames += 1
        return png

    def close(self) -> None:
        """The renderer forgets this figure (the renderer itself keeps running for other panels)."""
        forget(self._key)
        self._key = self._blob = self._figure = None
