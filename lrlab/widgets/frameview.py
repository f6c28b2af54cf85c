"""FrameView: a live picture that the browser acknowledges, so that a slow link never queues frames.

Why. An ``ipywidgets.Image`` sends every new PNG down the websocket at once, whatever the browser
can take: over a slow link (a class on school Wi-Fi, Binder over home broadband) the frames queue
up, the picture shown lags training by seconds, and a Stop's "stopped" line waits behind them.

How (the way jupyter_rfb paces its frames). The front end (a few lines of JavaScript shipped in
this module, run by anywidget: nothing is fetched at run time) shows each frame and, once the
image has been decoded, sends back ``{"ack": seq}``. :meth:`FrameView.ready` is False while
:data:`MAX_IN_FLIGHT` frames are unacknowledged, and the panel's drawer draws no live frame then
(the next one it draws will be newer): over a slow link the panel shows fewer frames, never
stale ones, and the small status messages never wait behind a queue. A final frame (Stop, Pause,
the end of a run) is always sent.

Where no browser shows the view (headless tests, nbval, a view not on screen) nothing acknowledges
anything: the front end says ``{"hello": id}`` when a view is rendered and ``{"bye": id}`` when it
is removed, and without a live view every frame is "ready". A browser view that stays silent for
:data:`ACK_TIMEOUT_S` (a lost message) does not block the panel for longer than that.
"""
from __future__ import annotations

import threading
import time

import anywidget
import traitlets

#: A frame not acknowledged within this many seconds no longer holds the next one back.
ACK_TIMEOUT_S = 5.0
#: Live frames sent but not yet acknowledged, at most (jupyter_rfb's max_buffered_frames): 2 keeps
#: a local link busy (one frame decodes while the next travels) and a slow one free of queues.
MAX_IN_FLIGHT = 2

_ESM = r"""
function render({ model, el }) {
  const id = Math.random().toString(36).slice(2);
  const box = document.createElement("div");  // the frame, and the overlay laid over it
  box.style.position = "relative";
  box.style.display = "inline-block";
  box.style.maxWidth = "100%";
  const img = document.createElement("img");
  img.style.maxWidth = "100%";  // its own size (the figures are drawn for 1:1), narrower where space is short
  img.style.height = "auto";
  img.style.display = "block";
  img.alt = model.get("alt");
  const over = document.createElement("img");  // what stays the same from frame to frame, sent once
  over.style.position = "absolute";
  over.style.left = "0";
  over.style.top = "0";
  over.style.width = "100%";
  over.style.height = "100%";
  over.style.pointerEvents = "none";
  over.alt = "";
  box.appendChild(img);
  box.appendChild(over);
  el.appendChild(box);
  let url = null, overUrl = null;
  const overlay = () => {
    const value = model.get("overlay");
    const bytes = value && (value.buffer ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value);
    if (overUrl) URL.revokeObjectURL(overUrl);
    overUrl = null;
    if (!bytes || bytes.byteLength === 0) {
      over.style.display = "none";
      over.removeAttribute("src");
      return;
    }
    overUrl = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
    over.src = overUrl;
    over.style.display = "";
  };
  // one frame decodes at a time: a frame that arrives meanwhile waits (the newest only), so no
  // frame that crossed the network is thrown away half-decoded
  let decoding = false, waiting = false;
  const show = () => {
    if (decoding) { waiting = true; return; }
    const seq = model.get("seq");
    const stamp = model.get("stamp");
    const value = model.get("value");
    const bytes = value && (value.buffer ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value);
    if (!bytes || bytes.byteLength === 0) {
      el.style.display = "none";
      model.send({ ack: seq, id: id });
      return;
    }
    el.style.display = "";
    const next = URL.createObjectURL(new Blob([bytes], { type: "image/" + model.get("format") }));
    decoding = true;
    const done = () => {
      if (url) URL.revokeObjectURL(url);
      url = next;
      img.dataset.stamp = stamp;  // when the kernel took this frame (what a lag measurement reads)
      img.dataset.shown = String(Number(img.dataset.shown || 0) + 1);  // frames shown by this view
      model.send({ ack: seq, id: id });
      decoding = false;
      if (waiting) { waiting = false; show(); }
    };
    img.onload = done;
    img.onerror = done;
    img.src = next;
  };
  model.on("change:seq", show);
  model.on("change:overlay", overlay);
  model.send({ hello: id });
  overlay();
  show();
  return () => {
    model.off("change:seq", show);
    model.off("change:overlay", overlay);
    if (url) URL.revokeObjectURL(url);
    if (overUrl) URL.revokeObjectURL(overUrl);
    model.send({ bye: id });
  };
}
export default { render };
"""


class FrameView(anywidget.AnyWidget):
    """A picture (PNG bytes in ``value``) whose browser views acknowledge each frame they show.

    ``show(png)`` publishes a frame; ``ready()`` says whether the browser has taken the last one
    (always True where no browser view is open); ``acked`` is the last acknowledged frame number,
    ``seq`` the last one sent, ``views`` the browser views open now."""

    _esm = _ESM
    value = traitlets.Bytes(b"").tag(sync=True)
    format = traitlets.Unicode("png").tag(sync=True)
    seq = traitlets.Int(0).tag(sync=True)
    alt = traitlets.Unicode("the live figure").tag(sync=True)
    #: when the frame shown was taken (``time.time()`` in the kernel; 0: unknown): the browser puts
    #: it on the image it shows, so the age of what a learner sees can be measured there
    stamp = traitlets.Float(0.0).tag(sync=True)
    #: a transparent PNG the browser lays over every frame (what the frames leave out because it
    #: never changes, sent once); empty: none
    overlay = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._views: set = set()
        self.acked = 0
        self._sent_at = 0.0
        self.frames_sent = 0
        self.frames_skipped = 0
        self.on_msg(self._on_front_end)

    # -- the browser's messages (the kernel's main thread) -------------------------------
    def _on_front_end(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        with self._lock:
            if "hello" in content:
                self._views.add(str(content["hello"]))
            elif "bye" in content:
                self._views.discard(str(content["bye"]))
            elif "ack" in content:
                try:
                    seq = int(content["ack"])
                except (TypeError, ValueError):
                    return
                self.acked = max(self.acked, min(seq, self.seq))

    @property
    def views(self) -> int:
        """Browser views of this picture open now (0: headless, nothing to wait for)."""
        return len(self._views)

    def ready(self) -> bool:
        """Whether a new live frame may go out now: no browser view is open, or fewer than
        :data:`MAX_IN_FLIGHT` frames are unacknowledged, or the browser has been silent for
        :data:`ACK_TIMEOUT_S`."""
        with self._lock:
            if not self._views or self.seq - self.acked < MAX_IN_FLIGHT:
                return True
            return time.monotonic() - self._sent_at > ACK_TIMEOUT_S

    def show(self, png: bytes, live: bool = False, stamp: float | None = None, overlay: bytes | None = None) -> bool:
        """Publish ``png`` (taken at ``stamp``, a ``time.time()``; default now), with ``overlay``
        laid over it (None: the one in place; ``b""``: none; sent only when it changed). A
        ``live`` frame is skipped (False returned) while the browser has not taken the last one;
        a final frame always goes out."""
        if live and not self.ready():
            self.frames_skipped += 1
            return False
        with self._lock:
            self._sent_at = time.monotonic()
            seq = self.seq + 1
        with self.hold_sync():
            if overlay is not None and overlay != self.overlay:
                self.overlay = overlay
            self.value = png
            self.stamp = time.time() if stamp is None else float(stamp)
            self.seq = seq
        self.frames_sent += 1
        return True


class PictureRepr:
    """A panel whose output also carries its current picture as ``image/png``: where widgets are
    not rendered (GitHub, nbviewer, a notebook opened without its widget state) the saved
    notebook shows the panel's last frame instead of a line of Python repr. The panel's figure
    is its ``image`` (a :class:`FrameView` or an ``ipywidgets.Image``)."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        png = getattr(getattr(self, "image", None), "value", b"")
        if isinstance(png, memoryview):  # (an ipywidgets.Image holds its bytes as a memoryview)
            png = png.tobytes()
        if bundle is not None and isinstance(png, (bytes, bytearray)) and png[:4] == b"\x89PNG":
            bundle = dict(bundle)
            bundle["image/png"] = bytes(png)
        return bundle
