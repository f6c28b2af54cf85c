"""The live panels' machinery: train an engine in the background, hand frames to a display.

No widgets here, plain threading. A :class:`Runner` drives any *engine* with this interface
(:class:`lrlab.train.Trainer` for one model, :class:`lrlab.race.Race` for a race):

* ``epoch(should_stop)`` trains one epoch and returns its record(s) (None if ``should_stop()``
  fired before the first mini-batch); it polls ``should_stop()`` before every mini-batch;
* ``done`` (bool), ``epoch_index`` (epochs trained);
* ``threads(override) -> int``: the intra-op thread count for its steps (:mod:`lrlab.threads`);
* a stop method that ends the run and restores its best weights: ``stop_all(reason)`` (a race)
  or ``stop(reason)`` (one model); :meth:`Runner.attach` also takes a ``stop`` callable.

The display gives two callbacks: ``snapshot(final)``, called between two epochs (in the thread
that trains, or once training has ended), returns a *frame* (anything; None for "nothing to
draw now"), and ``show(frame)`` publishes it.

Threads. :meth:`Runner.start` trains in a background thread (the *worker*) inside
``lrlab.threads.engine_threads(n)``; the worker polls the stop flag before every mini-batch, so
:meth:`Runner.stop` acts within one training step. At most ``max_fps`` times a second (on a
fixed clock) the worker takes a snapshot and hands it to a second thread (the *drawer*), which
calls ``render(frame, abandoned)`` if given (slow work that may be cut short, e.g. a renderer
process) and then ``show(frame)``. Drawing never paces training: no frame is taken while the
drawer is busy. A run that ends by itself hands over its final frame (``snapshot(True)``).

Pace. ``Runner.pace`` (epochs per second at most, None: as fast as the machine goes) holds
training to a speed a learner can follow, as TensorFlow Playground trains a few steps per
animation frame: the worker sleeps between epochs once it is ahead of the pace's clock. Such a
runner leaves the rest of the CPU to the drawing and to the other learners' kernels on a shared
host (``lrlab bench --only classroom``). Its sleeps end on Stop and Pause at once.

Stop and Pause return at once: they raise the flag and join the worker (Stop: within one
training step; Pause: at the end of the epoch going on, so the run can go on from there),
abandon a frame in flight (``on_abandon()`` may wake a drawer waiting for it), call
``on_halt(state)`` (the display says "stopped" / "paused") and return; the final frame
(``snapshot(True)`` then ``show``) is drawn *after* the click returned: by the drawer if it is
still at work (it finishes or drops its frame first), else by a short thread (the *finisher*)
that first waits for the drawer (and the companion, below) to end. Every other action
(:meth:`start`, :meth:`step`, :meth:`run`, :meth:`halt`, :meth:`attach`, :meth:`close`) first waits
for the finisher, so no loop is ever left running and a final frame is never drawn over a
newer one; :meth:`wait` returns once it is on show.

A *companion* (optional) is a slow side loop that runs beside the worker, e.g. a network
view redrawn every second: ``companion(running, quit)`` is started with each worker,
``running()`` says whether the worker still trains, ``quit`` is set by Stop / Pause.

Nothing a thread runs may raise into the void: an exception in the engine (or in a snapshot
taken by the worker) ends the run (``stopped_by_user``), and it, like one while drawing, is
kept as :attr:`Runner.error` and passed to ``on_error(message)`` (the display's status line);
:attr:`Runner.state` then says ``"failed"``.
"""
from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any, Callable, Optional

from .. import threads as threads_mod
from ..checks import check_number

#: frames per second a runner may emit at most (``max_fps`` is in ``(0, MAX_FPS]``)
MAX_FPS = 120.0
#: epochs per second a pace may ask for at most
MAX_PACE = 1e5
#: the pace's clock never lags the time by more than this many seconds: a run the CPU held
#: back goes on at its pace, it does not race to catch up
PACE_SLACK_S = 0.25
#: the worker sleeps for the pace only once it is this many seconds ahead (fewer, longer sleeps)
PACE_MIN_SLEEP_S = 0.002
#: CPython's default GIL switch interval (put back when another runner's short one was found)
DEFAULT_SWITCH_INTERVAL = 0.005


class _Launch:
    """One worker's life: its flags, the frame handed over and its threads."""

    def __init__(self, engine):
        self.engine = engine
        self.stop = threading.Event()  # polled before every mini-batch: Stop
        self.pause = threading.Event()  # looked at between epochs: Pause
        self.abandon = threading.Event()  # a frame in flight is dropped
        self.quit = threading.Event()  # the companion ends
        self.ready = threading.Condition()
        self.pending = None  # the frame handed over, not yet taken by the drawer
        self.busy = False  # the drawer has a frame (no snapshot is taken meanwhile)
        self.drawer_quit = False  # the drawer ends after the pending frame
        self.final = False  # Stop / Pause asked the drawer for the final frame before it ends
        self.drawer_done = False  # the drawer has ended (or is ending) and takes no final frame
        self.worker: Optional[threading.Thread] = None
        self.drawer: Optional[threading.Thread] = None
        self.companion: Optional[threading.Thread] = None

    def halted(self) -> bool:
        return self.stop.is_set() or self.pause.is_set()


_GC_LOCK = threading.Lock()
_GC_HOLDERS = 0  # workers training now (each holds the freeze below)


def hold_collector() -> None:
    """While a worker trains: the objects alive now are set aside from the collector (``gc.freeze``).

    A full collection scans every object of the kernel, holding the GIL: measured 400 ms with a
    kernel-sized heap, enough to delay a Stop click by that much (and it came, once in a while,
    during the race panel's Stop in the test suite). Frozen, the heap that was there before the
    run is not scanned, so collections during the run only see what the run allocates. Nothing
    is lost: garbage frozen here is collected once the last worker ends (:func:`release_collector`)."""
    global _GC_HOLDERS
    with _GC_LOCK:
        _GC_HOLDERS += 1
        gc.freeze()


def release_collector() -> None:
    """The last worker has ended: the frozen objects go back to the collector (``gc.unfreeze``)."""
    global _GC_HOLDERS
    with _GC_LOCK:
        _GC_HOLDERS = max(0, _GC_HOLDERS - 1)
        if _GC_HOLDERS == 0:
            gc.unfreeze()


def check_threads(value):
    """A thread count for a runner: None (chosen from the work) or a whole number in
    ``[1, lrlab.threads.MAX_THREADS]``; ``ValueError('threads: ...')`` otherwise."""
    return check_number("threads", value, 1, threads_mod.MAX_THREADS, integer=True, optional=True)


def check_pace(value):
    """A pace for a runner: None (as fast as it goes) or epochs per second in ``(0, MAX_PACE]``;
    ``ValueError('pace: ...')`` otherwise."""
    return check_number("pace", value, 0.0, MAX_PACE, lo_open=True, optional=True)


def _join(thread: Optional[threading.Thread], timeout: float | None = None) -> bool:
    """Join ``thread`` (not the calling one); True if it has ended."""
    if thread is None or thread is threading.current_thread():
        return True
    thread.join(timeout)
    return not thread.is_alive()


#: s the worker sleeps between epochs while a due frame waits for the drawer or the display
#: (measured on a 2-core host with chromium on it, lrlab bench --only browser,panel,classroom:
#: 8 ms against 3 ms, frames shown flat out 15.7-16.4/s against 13.8-14.6, and training with
#: live drawing on vs off 0.89x-0.93x against 0.82x-0.88x)
YIELD_S = 0.008


class Runner:
    """Trains an engine epoch by epoch in a background thread and hands frames to a display.

    ``snapshot(final) -> frame | None`` and ``show(frame)``: the display's callbacks (above).
    Keyword-only options:

    * ``max_fps``: frames per second at most while training, in (0, 120];
    * ``render(frame, abandoned) -> frame``: slow drawing work done in the drawer before
      ``show`` (``abandoned()`` turns true on Stop / Pause: return soon, the frame is dropped);
    * ``on_abandon()``: called when a frame in flight is abandoned (wake a waiting drawer);
    * ``on_epoch(records)``: called in the worker after every epoch (cheap bookkeeping);
    * ``on_launch()``: called before each worker starts (nothing else runs then);
    * ``on_halt(state)``: called by :meth:`stop` (``"stopped"``) and :meth:`pause`
      (``"paused"``) in the calling thread, once the worker has ended, before the final frame;
    * ``on_error(message)``: an exception in a thread, in words (``"training stopped: ..."``,
      ``"drawing failed: ..."``);
    * ``companion(running, quit)`` and ``companion_name``: a side loop beside each worker;
    * ``threads``: intra-op threads while training (None: the engine's choice,
      ``engine.threads(None)``); ``thread_count(engine) -> int`` replaces that rule;
    * ``stop_untrained``: Stop also ends a run that has not trained an epoch yet (default:
      such a run is left as it is, ready to start);
    * ``switch_interval``: the GIL switch interval while the worker trains (None: unchanged);
    * ``display_ready() -> bool``: whether the display can take a live frame now (a browser that
      has not acknowledged the last one cannot: :class:`lrlab.widgets.frameview.FrameView`); no
      live frame is taken while it is False (final frames always are);
    * ``yield_s``: while a frame is due but the drawer or the display is still at the last one,
      the worker sleeps this long between epochs (0: never), so that on a busy host (a classroom's
      kernels, a browser on the same machine) drawing is not starved by training flat out;
    * ``pace``: epochs per second at most while training (None: as fast as it goes; a number in
      ``(0, MAX_PACE]``); may be changed while a run goes on;
    * ``name``: the worker thread's name (the drawer's and finisher's derive from it).
    """

    def __init__(self, snapshot: Callable[[bool], Any], show: Callable[[Any], None], *, max_fps: float = 20.0,
                 render: Callable[[Any, Callable[[], bool]], Any] | None = None,
                 on_abandon: Callable[[], None] | None = None, on_epoch: Callable[[Any], None] | None = None,
                 on_launch: Callable[[], None] | None = None, on_halt: Callable[[str], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 companion: Callable[[Callable[[], bool], threading.Event], None] | None = None,
                 companion_name: str | None = None, threads: int | None = None,
                 thread_count: Callable[[Any], int] | None = None, stop_untrained: bool = False,
                 switch_interval: float | None = None, display_ready: Callable[[], bool] | None = None,
                 yield_s: float = YIELD_S, pace: float | None = None, name: str = "lrlab-runner"):
        self.max_fps = max_fps  # checked by the setter
        self.pace = pace  # checked by the setter
        check_threads(threads)
        self.snapshot, self.show, self.render = snapshot, show, render
        self.on_abandon, self.on_epoch, self.on_launch = on_abandon, on_epoch, on_launch
        self.on_halt, self.on_error = on_halt, on_error
        self.companion, self.companion_name = companion, companion_name or f"{name}-companion"
        self.threads = threads
        self.thread_count = thread_count if thread_count is not None else (lambda e: e.threads(self.threads))
        self.stop_untrained = bool(stop_untrained)
        self.switch_interval = switch_interval
        self.display_ready = display_ready
        self.yield_s = float(check_number("yield_s", yield_s, 0.0, 0.1))
        self.name = name
        self._lock = threading.RLock()  # one action at a time (the threads never take it)
        self._engine = None
        self._stop_fn: Callable[[str], Any] | None = None
        self._launch: Optional[_Launch] = None
        self._finisher: Optional[threading.Thread] = None
        self._ended: str | None = None  # "stopped" / "failed": how the last run ended, if not by itself
        self.error: str | None = None
        self.last_stop_latency: float | None = None  # s from the flag to the worker's end (Stop / Pause)
        self.last_stop_call: float | None = None  # s the last stop() / pause() of a running worker took
        self.frames_handed = 0  # live and final frames the worker handed to the drawer

    # ------------------------------------------------------------------ settings and state
    @property
    def threads(self) -> int | None:
        """The intra-op thread count while training (None: chosen from the work); checked when set."""
        return self._threads

    @threads.setter
    def threads(self, value: int | None) -> None:
        self._threads = check_threads(value)

    @property
    def max_fps(self) -> float:
        """Frames per second at most while training (in (0, 120]; checked when set)."""
        return self._max_fps

    @max_fps.setter
    def max_fps(self, value: float) -> None:
        self._max_fps = float(check_number("max_fps", value, 0.0, MAX_FPS, lo_open=True))

    @property
    def pace(self) -> float | None:
        """Epochs per second at most while training (None: as fast as it goes; checked when set)."""
        return self._pace

    @pace.setter
    def pace(self, value: float | None) -> None:
        self._pace = check_pace(value)

    @property
    def engine(self):
        """The engine this runner drives (:meth:`attach`)."""
        return self._engine

    @property
    def worker(self) -> Optional[threading.Thread]:
        """The thread training now (or the last one)."""
        return None if self._launch is None else self._launch.worker

    @property
    def is_running(self) -> bool:
        w = self.worker
        return w is not None and w.is_alive()

    @property
    def is_paused(self) -> bool:
        """Not training, and the run has trained some epochs and may go on."""
        e = self._engine
        return not self.is_running and e is not None and not e.done and e.epoch_index > 0

    @property
    def state(self) -> str:
        """``"idle"`` (no engine), ``"ready"`` (nothing trained), ``"running"``, ``"paused"``,
        ``"stopped"`` (by :meth:`stop`), ``"failed"`` (an exception, see :attr:`error`), ``"done"``."""
        e = self._engine
        if e is None:
            return "idle"
        if self.is_running:
            return "running"
        if self._ended is not None:
            return self._ended
        if e.done:
            return "done"
        return "paused" if e.epoch_index > 0 else "ready"

    # ------------------------------------------------------------------ actions
    def attach(self, engine, stop: Callable[[str], Any] | None = None) -> None:
        """Drive ``engine`` from now on (any run going on is ended first: :meth:`halt` ``(cut=True)``).
        ``stop(reason)`` ends its run; by default ``engine.stop_all`` or ``engine.stop``."""
        with self._lock:
            self.halt(cut=True)
            self._engine, self._stop_fn = engine, stop
            self._launch, self._ended, self.error = None, None, None

    def start(self) -> bool:
        """Train the engine in the background from where it is. False if it is running already,
        has ended, or there is none."""
        with self._lock:
            if self.is_running:
                return False
            self.halt()
            engine = self._engine
            if engine is None or engine.done:
                return False
            self._ended, self.error = None, None
            if self.on_launch is not None:
                self.on_launch()
            launch = _Launch(engine)
            launch.drawer = threading.Thread(target=self._drawer_loop, args=(launch,), name=f"{self.name}-drawer",
                                             daemon=True)
            launch.worker = threading.Thread(target=self._worker_loop, args=(launch,), name=self.name, daemon=True)
            if self.companion is not None:
                launch.companion = threading.Thread(target=self._companion_loop, args=(launch,),
                                                    name=self.companion_name, daemon=True)
            self._launch = launch
            launch.drawer.start()
            launch.worker.start()
            if launch.companion is not None:
                launch.companion.start()
            return True

    def resume(self) -> bool:
        """Go on with a paused run (:attr:`is_paused`) in the background. False if there is none."""
        with self._lock:
            return self.is_paused and self.start()

    def pause(self) -> bool:
        """End the worker at the end of the epoch going on; the run is kept (:meth:`resume` goes on).
        Returns at once, the paused state is drawn just after. True if a worker was running."""
        with self._lock:
            t0 = time.perf_counter()
            launch = self._launch
            if not self.is_running:
                return False
            self._end_worker(launch, launch.pause)
            self._finish(launch, "paused")
            self.last_stop_call = time.perf_counter() - t0
            return True

    def stop(self, reason: str = "stopped_by_user") -> bool:
        """End the run now (the worker within one training step); its best weights are restored.

        Returns at once: ``on_halt("stopped")`` is called and the final frame is drawn just
        after, in the background (:meth:`wait` returns once it is on show). A run that has not
        trained an epoch is left ready (unless ``stop_untrained``). True if a worker was running."""
        with self._lock:
            t0 = time.perf_counter()
            launch = self._launch
            was_running = launch is not None and self._end_worker(launch, launch.stop)
            engine = self._engine
            if engine is None:
                return was_running
            stopped_now = False
            if not engine.done and (engine.epoch_index > 0 or self.stop_untrained):
                self._stop_engine(engine, reason)
                stopped_now = True
            if was_running or stopped_now:
                self._ended = "stopped"
            self._finish(launch, "stopped")
            if was_running:
                self.last_stop_call = time.perf_counter() - t0
            return was_running

    def step(self):
        """Train exactly one epoch here, synchronously (a running worker is paused first: the
        epoch going on ends, its frame in flight is dropped). Returns the epoch's record(s),
        or None if there is no run to go on with."""
        with self._lock:
            self.halt()
            engine = self._engine
            if engine is None or engine.done:
                return None
            self._ended = None
            with threads_mod.engine_threads(self.thread_count(engine)):
                return engine.epoch()

    def run(self, on_epoch: Callable[[Any], None] | None = None):
        """Train to the end here, synchronously (deterministic); ``on_epoch(records)`` after each
        epoch. Returns the last epoch's record(s)."""
        with self._lock:
            self.halt()
            engine = self._engine
            records = None
            if engine is None:
                return None
            self._ended = None
            with threads_mod.engine_threads(self.thread_count(engine)):
                while not engine.done:
                    records = engine.epoch()
                    if on_epoch is not None:
                        on_epoch(records)
            return records

    def halt(self, cut: bool = False) -> bool:
        """End everything now and wait for it: the worker (``cut``: within one step, by the stop
        flag, which may end the run; else at the end of its epoch, the run kept), the drawer (its
        frame abandoned), the companion and a final frame being drawn. True if a worker was running."""
        with self._lock:
            launch = self._launch
            was_running = False
            if launch is not None:
                was_running = self._end_worker(launch, launch.stop if cut else launch.pause)
                with launch.ready:
                    launch.drawer_quit = True
                    launch.ready.notify()
                _join(launch.drawer)
                launch.quit.set()
                _join(launch.companion)
            self.settle()
            return was_running

    def settle(self) -> None:
        """Wait for a final frame being drawn in the background (after Stop / Pause, or at the end
        of a run) to be on show."""
        launch = self._launch
        if launch is not None and not (launch.worker is not None and launch.worker.is_alive()):
            _join(launch.drawer)  # (it ends soon after the worker: the final frame, if any, drawn)
        f = self._finisher
        if _join(f):
            if self._finisher is f:
                self._finisher = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run going on has ended and its final frame is drawn (or ``timeout`` s);
        True if so. (The companion is not told to quit: it ends with the worker.)"""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left():
            return None if deadline is None else max(0.0, deadline - time.monotonic())
        launch = self._launch
        if launch is not None:
            for th in (launch.worker, launch.drawer, launch.companion):
                if not _join(th, left()):
                    return False
        f = self._finisher
        if not _join(f, left()):
            return False
        if self._finisher is f:
            self._finisher = None
        return True

    def close(self) -> None:
        """End everything (:meth:`halt` ``(cut=True)``) and let go of the engine."""
        with self._lock:
            self.halt(cut=True)
            self._engine = self._stop_fn = self._launch = None

    # ------------------------------------------------------------------ inside
    def _stop_engine(self, engine, reason: str) -> None:
        if self._stop_fn is not None:
            self._stop_fn(reason)
        elif hasattr(engine, "stop_all"):
            engine.stop_all(reason)
        else:
            engine.stop(reason)

    def _report(self, message: str) -> None:
        self.error = message
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:  # the display's own trouble: the message stays in .error
                pass

    def _end_worker(self, launch: _Launch, flag: threading.Event) -> bool:
        """Raise ``flag``, abandon a frame in flight and join the worker; True if it was running.
        ``last_stop_latency``: from the flag to the worker's end."""
        w = launch.worker
        was_running = w is not None and w.is_alive()
        t = time.perf_counter()
        flag.set()
        launch.abandon.set()
        if self.on_abandon is not None:
            try:
                self.on_abandon()
            except Exception:
                pass
        _join(w)
        if was_running:
            self.last_stop_latency = time.perf_counter() - t
        return was_running

    def _finish(self, launch: Optional[_Launch], state: str) -> None:
        """Stop / Pause, the worker ended: tell the drawer and the companion to end, say so
        (``on_halt``), and draw the final frame in the background once they have ended."""
        handed = False
        if launch is not None:
            with launch.ready:
                if launch.drawer is not None and not launch.drawer_done:
                    launch.final = handed = True  # the drawer, still busy, draws it before it ends
                launch.drawer_quit = True
                launch.ready.notify()
            launch.quit.set()
        if self.on_halt is not None:
            try:
                self.on_halt(state)
            except Exception as exc:
                self._report(f"{type(exc).__name__}: {exc}")
        if handed:  # (no thread to start: starting one waits for a drawer that holds the GIL)
            return
        previous, engine = self._finisher, self._engine
        waits = (previous,) if launch is None else (previous, launch.drawer, launch.companion)
        self._finisher = threading.Thread(target=self._draw_final, args=(engine, waits),
                                          name=f"{self.name}-final-frame", daemon=True)
        self._finisher.start()

    def _draw_final(self, engine, waits=()) -> None:
        """The final frame (``snapshot(True)``, ``show``), once the threads ``waits`` have ended."""
        try:
            for th in waits:
                _join(th)
            if self._engine is engine:
                frame = self.snapshot(True)
                if frame is not None:
                    self.show(frame)
        except Exception as exc:  # shown, never raised into the void
            self._report(f"drawing failed: {type(exc).__name__}: {exc}")

    def _hand_over(self, launch: _Launch, frame) -> None:
        """Give ``frame`` to the drawer (replacing one it has not started on)."""
        with launch.ready:
            launch.pending = frame
            launch.busy = True
            launch.ready.notify()
        self.frames_handed += 1

    def _worker_loop(self, launch: _Launch) -> None:
        """Train until done / Stop / Pause; a run that ends by itself hands over its final frame."""
        engine = launch.engine
        switch = None
        if self.switch_interval is not None:
            switch = sys.getswitchinterval()
            if switch == self.switch_interval:  # another runner's worker set it: CPython's default after
                switch = DEFAULT_SWITCH_INTERVAL
            sys.setswitchinterval(self.switch_interval)  # short GIL slices: a drawer must not starve training
        hold_collector()
        try:
            with threads_mod.engine_threads(self.thread_count(engine)):
                self._train_live(launch)
            if engine.done and not launch.halted():
                frame = self.snapshot(True)
                if frame is not None:
                    self._hand_over(launch, frame)
        except Exception as exc:  # never a silent dead thread: the run ends and says why
            self._ended = "failed"
            try:
                if not engine.done:
                    self._stop_engine(engine, "stopped_by_user")
            except Exception:
                pass
            self._report(f"training stopped: {type(exc).__name__}: {exc}")
        finally:
            release_collector()
            if switch is not None:
                sys.setswitchinterval(switch)
            with launch.ready:
                launch.drawer_quit = True
                launch.ready.notify()

    def _train_live(self, launch: _Launch) -> None:
        """Epochs until done / Stop / Pause; a snapshot for the drawer when one is due.

        Frames are due on a fixed clock (``next_frame += interval``), so the drawer gets
        ``max_fps`` frames a second when it keeps up; none is taken while it is busy."""
        engine, should_stop = launch.engine, launch.stop.is_set
        next_frame = 0.0
        clock = time.perf_counter()  # the pace's clock: when the next epoch may start
        while not engine.done and not launch.halted():
            records = engine.epoch(should_stop)
            if self.on_epoch is not None:
                self.on_epoch(records)
            if engine.done or launch.halted():
                break  # the final frame comes next (or from the finisher)
            now = time.perf_counter()
            pace = self._pace
            if pace is not None:
                clock = max(clock + 1.0 / pace, now - PACE_SLACK_S)
                if clock - now >= PACE_MIN_SLEEP_S:
                    self._sleep_until(launch, clock)
                    now = time.perf_counter()
            else:
                clock = now
            if now < next_frame:
                continue
            if not launch.busy and (self.display_ready is None or self.display_ready()):
                interval = 1.0 / self._max_fps
                next_frame = next_frame + interval if now - next_frame < interval else now + interval
                frame = self.snapshot(False)
                if frame is not None:
                    self._hand_over(launch, frame)
            elif self.yield_s:
                # a frame is due but the drawer or the browser is still at the last one: give them
                # the CPU for a moment (on a busy host, training flat out starves the drawing)
                time.sleep(self.yield_s)

    @staticmethod
    def _sleep_until(launch: _Launch, when: float) -> None:
        """Sleep until ``when`` (``time.perf_counter``), or until Stop / Pause."""
        while not launch.halted():
            left = when - time.perf_counter()
            if left <= 0:
                return
            launch.stop.wait(min(left, 0.02))  # Stop wakes it at once, Pause within 20 ms

    def _drawer_loop(self, launch: _Launch) -> None:
        """Draw the frames the worker hands over until it quits (pending frame drawn) or abandons;
        then the final frame(s) Stop / Pause asked for while it was still at work."""
        abandoned = launch.abandon.is_set
        while True:
            with launch.ready:
                while launch.pending is None and not launch.drawer_quit and not abandoned():
                    launch.ready.wait(0.5)
                frame, launch.pending = launch.pending, None
                if frame is None or abandoned():
                    launch.busy = False
                    break
            try:
                if self.render is not None:
                    frame = self.render(frame, abandoned)
                if not abandoned():  # (Stop / Pause: this frame is dropped, the final one follows)
                    self.show(frame)
            except Exception as exc:  # a drawing problem must not kill training
                self._report(f"drawing failed: {type(exc).__name__}: {exc}")
            finally:
                launch.busy = False
        while True:  # asked again while drawing (Pause, then Stop): the later state is drawn last
            with launch.ready:
                if not launch.final:
                    launch.drawer_done = True
                    return
                launch.final = False
            self._draw_final(launch.engine, (launch.companion,))

    def _companion_loop(self, launch: _Launch) -> None:
        try:
            self.companion(launch.worker.is_alive, launch.quit)
        except Exception as exc:  # a side view's problem must not kill anything else
            self._report(f"{self.companion_name} failed: {type(exc).__name__}: {exc}")


class RunnerPanel:
    """What a panel with a background :class:`Runner` (``self.runner``) and a live figure drawn by
    the kernel's renderer (``self.remote``, a :class:`lrlab.plots.render_process.RemoteFigure`)
    shows of them: one set of pass-through properties for every such panel."""

    runner: Runner
    remote: Any = None

    @property
    def threads(self) -> int | None:
        """Intra-op threads while training (None: chosen from the work, :mod:`lrlab.threads`)."""
        return self.runner.threads

    @threads.setter
    def threads(self, value: int | None) -> None:
        self.runner.threads = value  # checked by the runner (check_threads)

    @property
    def switch_interval(self) -> float:
        """The GIL switch interval while the worker trains (short slices: drawing must not starve it)."""
        return self.runner.switch_interval

    @switch_interval.setter
    def switch_interval(self, value: float) -> None:
        self.runner.switch_interval = value

    @property
    def is_running(self) -> bool:
        return self.runner.is_running

    @property
    def is_paused(self) -> bool:
        """The run has trained some epochs, is not training now and may go on (``resume()``)."""
        return self.runner.is_paused

    @property
    def last_stop_latency(self) -> Optional[float]:
        """Seconds from the Stop (or Pause) flag to the worker's end, last time."""
        return self.runner.last_stop_latency

    @property
    def last_stop_call(self) -> Optional[float]:
        """Seconds the last ``stop()`` / ``pause()`` of a running worker took to return."""
        return self.runner.last_stop_call

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background run has ended and its final picture is on show (or
        ``timeout`` s); True if so."""
        return self.runner.wait(timeout)

    def _render_frame(self, frame: dict, abandoned) -> dict:
        """The drawer's slow part (the runner's ``render``): the kernel's renderer process draws
        ``frame`` on this panel's figure (``self.figure``) into ``frame["png"]``; where it cannot,
        the panel's ``show`` draws it in this process."""
        png = self.remote.render(self.figure, frame, abandoned)
        if png is not None:
            frame["png"] = png
        return frame

    @property
    def render_mode(self) -> str:
        """Where the last live frame was drawn: "process" or "thread (why)"."""
        return self.remote.mode

    @property
    def frames_remote(self) -> int:
        """Live frames drawn by the renderer process."""
        return self.remote.frames
