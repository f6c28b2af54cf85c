"""Small self-contained widgets the training panel embeds (each also usable alone).

* :class:`CsvUpload`     FileUpload -> a validated :class:`lrlab.data.Dataset`, or the
  one-line message in the status line (never a traceback).
* :class:`ShareBox`      the current config's share string; paste one + "Load" -> callback.
* :class:`PresetPicker`  a dropdown of guided experiments + the sentence on what to observe.
* :class:`ExportButtons` write the weights (JSON) and a torch snippet into a folder.
* :class:`NetworkView`   the network graph, one heatmap per hidden unit and (classes) the
  confusion matrix, as PNG images; :meth:`NetworkView.update` redraws.

No maths here: everything comes from :mod:`lrlab.csvdata`, :mod:`lrlab.share`,
:mod:`lrlab.presets`, :mod:`lrlab.export` and :mod:`lrlab.plots.network`. Every widget has
a synchronous method (``load_bytes``, ``load``, ``pick``, ``export``, ``update``) that
tests and notebooks call directly; callbacks receive plain lrlab objects.
"""
from __future__ import annotations

import html
import os
import tempfile
from typing import Callable, Optional

import ipywidgets as W

from .. import csvdata, export, presets, share
from ..plots import fig_to_png
from ..checks import check_number
from ..train import TrainConfig
from .text import num

OK_COLOR, ERROR_COLOR = "#009E73", "#D55E00"


def _status(text: str = "") -> W.HTML:
    h = W.HTML(text)
    h.add_class("lrlab-status")
    return h


def _message(text: str, error: bool = False) -> str:
    color = ERROR_COLOR if error else OK_COLOR
    return f'<span style="color:{color}">{"&#9888; " if error else ""}{html.escape(text)}</span>'


def _image() -> W.Image:
    img = W.Image(format="png")
    img.add_class("lrlab-figure")
    return img


# ------------------------------------------------------------------------------ CSV
class CsvUpload(W.VBox):
    """Upload a CSV (``x1,x2,label`` or ``x1[,x2],y``); ``on_load(dataset, path)`` on success.

    The uploaded bytes are also saved so that ``TrainConfig.csv_path`` can point at them
    (:meth:`config_for`): into ``folder`` when one is given, else into a private folder of
    this widget (``tempfile.mkdtemp``, mode 0700, made at the first good upload; ``folder``
    is ``None`` until then). The saved file is named by its content
    (``<first 16 hex digits of its SHA-256>.csv``): two panels uploading different
    ``data.csv`` files never share a path, and the uploaded name is only *shown* (cut to
    its last path part, control characters replaced, shortened), never used as a path.
    The copy is written atomically beside its place and renamed over it, so a symlink
    planted there is replaced, never followed. Uploads over
    :data:`lrlab.limits.MAX_CSV_BYTES`, and content that is not bytes or text, are refused
    with the one-line message before any parsing."""

    FALLBACK_NAME = "upload.csv"

    def __init__(self, on_load: Optional[Callable] = None, test_fraction: float = 0.2, seed: int = 0,
                 folder: str | None = None):
        self.on_load = on_load
        self.test_fraction, self.seed = test_fraction, seed
        self.folder: str | None = folder
        self.dataset = None
        self.path: str | None = None
        self.error: str | None = None
        self.upload = W.FileUpload(accept=".csv,text/csv", multiple=False, description="Your CSV")
        self.status = _status("Columns: <code>x1,x2,label</code> (classes) or <code>x1,y</code> / "
                              "<code>x1,x2,y</code> (regression); inputs are rescaled to [-1, 1].")
        self.upload.observe(self._on_upload, names="value")
        super().__init__([self.upload, self.status])

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        try:
            f = files[0] if isinstance(files, (tuple, list)) else next(iter(files.values()))
            name = f.get("name") if isinstance(f, dict) else getattr(f, "name", None)
            content = f.get("content") if isinstance(f, dict) else getattr(f, "content", None)
        except Exception as exc:  # never a traceback in the panel
            self._fail(f"csv: could not read the upload ({type(exc).__name__})")
            return
        self.load_bytes(name, content)

    @classmethod
    def display_name(cls, name) -> str:
        """The uploaded file's name as shown in messages: its last path part, printable, at most 60 characters."""
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if not isinstance(name, str):
            return cls.FALLBACK_NAME
        name = csvdata.CONTROL_CHARS.sub("?", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
        name = name.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        if name in ("", ".", ".."):
            return cls.FALLBACK_NAME
        return name if len(name) <= 60 else name[:44] + "…" + name[-15:]

    def load_bytes(self, name, content) -> bool:
        """Parse ``content`` (bytes/str) as CSV file ``name``: True and ``on_load`` if good, else the message."""
        shown = self.display_name(name)
        try:
            raw = csvdata.as_bytes(content)  # type and size checked before copying
            dataset = csvdata.parse_dataset(raw, self.test_fraction, self.seed, name="csv:" + shown)
        except ValueError as exc:
            return self._fail(f"{shown}: {exc}")
        except Exception as exc:  # never a traceback in the panel
            return self._fail(f"{shown}: could not read the file ({type(exc).__name__}: {exc})")
        try:
            path = self._save(raw)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            return self._fail(f"{shown}: csv: could not keep a copy for training ({reason})")
        self.dataset, self.path, self.error = dataset, path, None
        n = dataset.X_train.shape[0] + dataset.X_test.shape[0]
        what = (f"{dataset.n_classes} classes ({', '.join(csvdata.short(c, 24) for c in dataset.class_names)})"
                if dataset.kind == "classification" else "regression (MSE, R²)")
        self.status.value = _message(f"{shown}: {n} rows, {dataset.in_features} input column(s), {what}; "
                                     f"{dataset.X_test.shape[0]} rows held out for testing.")
        if self.on_load is not None:
            self.on_load(dataset, path)
        return True

    def _save(self, raw: bytes) -> str:
        """Write ``raw`` to ``<folder>/<sha256[:16]>.csv`` (atomic rename: a planted link is replaced, not followed)."""
        import hashlib
        from .. import safeio
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="lrlab_csv_")  # private: mode 0700, one per widget
        folder = os.fspath(self.folder)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, hashlib.sha256(raw).hexdigest()[:16] + ".csv")
        return safeio.write_bytes(path, raw, private=True)

    def _fail(self, message: str) -> bool:
        self.dataset, self.path, self.error = None, None, message
        self.status.value = _message(message, error=True)
        return False

    def config_for(self, config: TrainConfig) -> TrainConfig:
        """``config`` set up to train on the uploaded data (see :func:`lrlab.csvdata.config_for`)."""
        if self.dataset is None:
            raise ValueError("csv: no valid CSV has been uploaded yet")
        return csvdata.config_for(config, self.dataset, self.path)


# ------------------------------------------------------------------------------ share
class ShareBox(W.VBox):
    """Shows ``share.encode(config)``; a box to paste a string and "Load" -> ``on_load(config)``."""

    def __init__(self, config: TrainConfig | None = None, on_load: Optional[Callable] = None):
        self.on_load = on_load
        self.config = None
        self.loaded: TrainConfig | None = None
        self.code = W.Textarea(description="Share", disabled=False, layout=W.Layout(width="100%", height="4em"))
        self.code.add_class("lrlab-share-code")
        self.paste = W.Text(placeholder="paste a share string (lrlab1:...) here", layout=W.Layout(width="70%"))
        self.button = W.Button(description="Load", icon="upload", tooltip="load the pasted share string")
        self.button.on_click(lambda _: self.load())
        self.status = _status("Copy the string above to share this run (the whole config, seed included).")
        super().__init__([self.code, W.HBox([self.paste, self.button]), self.status])
        if config is not None:
            self.set_config(config)

    def set_config(self, config: TrainConfig) -> str:
        """Show the share string of ``config`` (returns it); ``""`` and the reason when it cannot be
        shared (a CSV config: a share string carries no file), never a stale string of another config."""
        self.config = config
        try:
            self.code.value = share.encode(config)
        except ValueError as exc:
            self.code.value = ""
            self.status.value = _message(str(exc), error=True)
        return self.code.value

    def load(self, text: str | None = None) -> TrainConfig | None:
        """Decode ``text`` (default: the paste box); ``on_load(config)`` if good, the message if not."""
        text = self.paste.value if text is None else text
        try:
            config = share.decode(text)
        except ValueError as exc:
            self.status.value = _message(str(exc), error=True)
            return None
        self.loaded = config
        self.status.value = _message(f"loaded: {config.dataset if config.csv_path is None else config.csv_path}, "
                                     f"hidden {list(config.hidden)}, {config.optimizer} lr {num(config.lr, 'g')}, "
                                     f"seed {config.seed}")
        if self.on_load is not None:
            self.on_load(config)
        return config


# ------------------------------------------------------------------------------ presets
class PresetPicker(W.VBox):
    """A dropdown of :data:`lrlab.presets.PRESETS`; picking one shows its sentence and calls ``on_pick(config)``."""

    NONE = "— guided experiments —"

    def __init__(self, on_pick: Optional[Callable] = None, base: TrainConfig | None = None):
        self.on_pick = on_pick
        self.base = base
        self.config: TrainConfig | None = None
        self.dropdown = W.Dropdown(options=[self.NONE, *presets.PRESETS], value=self.NONE, description="Preset",
                                   layout=W.Layout(width="450px"))  # the longest preset's name in full
        self.contrast = W.Checkbox(value=False, description="contrast run", indent=False,
                                   tooltip="the same experiment with the one setting changed")
        self.sentence = _status("")
        self.dropdown.observe(lambda ch: self.pick(ch["new"]), names="value")
        self.contrast.observe(lambda ch: self.pick(self.dropdown.value), names="value")
        super().__init__([W.HBox([self.dropdown, self.contrast]), self.sentence])

    def pick(self, name: str) -> TrainConfig | None:
        """Select preset ``name``: show its sentence, return its config and pass it to ``on_pick``."""
        if name == self.NONE or name is None:
            self.sentence.value = ""
            self.config = None
            return None
        if self.dropdown.value != name:
            self.dropdown.value = name  # re-enters pick() through the observer
            return self.config
        p = presets.PRESETS[name]
        contrast = self.contrast.value and p.compare is not None
        self.config = presets.preset_config(name, self.base, contrast=contrast)
        extra = ""
        if p.compare is not None:
            changed = ", ".join(f"{k}={v}" for k, v in p.compare.items())
            extra = f" <i>(contrast run: {html.escape(changed)})</i>" if contrast else \
                f" <i>(tick 'contrast run' for {html.escape(changed)})</i>"
        self.sentence.value = f"<b>Observe:</b> {html.escape(p.observe)}{extra}"
        if self.on_pick is not None:
            self.on_pick(self.config)
        return self.config


# ------------------------------------------------------------------------------ export
class ExportButtons(W.VBox):
    """Write ``model.json`` (weights) and ``model.py`` (torch snippet) of the current run into a folder.

    ``source`` is a Run, a Trainer, or a callable returning one (e.g. ``lambda: panel.trainer``)."""

    def __init__(self, source=None, folder: str = "lrlab_export"):
        self.source = source
        self.folder = W.Text(value=folder, description="Folder", layout=W.Layout(width="20em"))
        self.button = W.Button(description="Export model", icon="download",
                               tooltip="weights as JSON + a torch snippet that rebuilds the network")
        self.button.on_click(lambda _: self.export())
        self.status = _status("")
        self.paths: dict | None = None
        super().__init__([W.HBox([self.folder, self.button]), self.status])

    def set_source(self, source) -> None:
        self.source = source

    def export(self) -> dict | None:
        """Write both files; returns their paths (None, with the message shown, if there is nothing to export)."""
        run = self.source() if callable(self.source) and not hasattr(self.source, "model") else self.source
        run = getattr(run, "run", run)
        if run is None or getattr(run, "model", None) is None:
            self.status.value = _message("nothing to export yet: train a network first", error=True)
            return None
        try:
            self.paths = export.export_run(run, self.folder.value or "lrlab_export")
        except (OSError, ValueError) as exc:
            self.status.value = _message(f"export failed: {exc}", error=True)
            return None
        self.status.value = _message(f"wrote {self.paths['json']} and {self.paths['py']} "
                                     f"(run it with: python {self.paths['py']})")
        return self.paths


# ------------------------------------------------------------------------------ network
class NetworkView(W.VBox):
    """The network graph (edges by |weight| and sign), per-unit heatmaps and the confusion matrix.

    ``update(source)`` redraws all images from a :class:`lrlab.records.NetworkFrame` (what the
    engine hands out: ``trainer.network_frame(view.resolution)``), or from a Run or a Trainer,
    snapshotted first (call it from the panel's redraw, at most a few times a second: a heatmap
    grid costs ~50-150 ms)."""

    #: px per inch the pictures are drawn at (shown 1:1)
    DPI = 100
    #: the widest picture by default: a notebook ~930 px wide
    WIDTH_PX = 900

    def __init__(self, source=None, resolution: int = 30, max_units: int = 8, show_confusion: bool = True,
                 width_px: int = WIDTH_PX):
        self.resolution, self.max_units, self.show_confusion = resolution, max_units, show_confusion
        self.max_width = check_number("width_px", width_px, 300, 4000) / self.DPI  # inches
        self.graph = _image()
        self.heatmaps = _image()
        self.confusion = _image()
        for img in (self.graph, self.heatmaps, self.confusion):
            img.layout.max_width = "100%"  # shrink to the notebook's width, never overflow it
        self.status = _status("")
        self.frames = 0
        # one picture at a time, each drawn at most ``width_px`` wide and shown 1:1 (three
        # stacked made the open section ~1300 px tall); all three are kept up to date
        self.tabs = W.Tab(children=[self.graph, self.heatmaps, self.confusion])
        for i, title in enumerate(("Graph", "Each neuron's output", "Confusion matrix")):
            self.tabs.set_title(i, title)
        super().__init__([self.tabs, self.status])
        if source is not None:
            self.update(source)

    def _figure(self, width, height, margins=(0.02, 0.02, 0.98, 0.9)):
        import matplotlib
        from matplotlib.figure import Figure

        from ..plots import RC
        with matplotlib.rc_context(RC):  # no constrained layout: it costs more than the drawing here
            fig = Figure(figsize=(width, height), dpi=self.DPI)
        fig.subplots_adjust(*margins)
        return fig

    def draw_graph(self, frame) -> bytes:
        from ..plots.network import draw_network
        columns = len(frame.sizes)  # ~0.95 in per layer so that the layer titles do not run together
        # the title and the two-line layer headers take ~80 px above the drawing
        fig = self._figure(min(self.max_width, max(6.5, 0.95 * columns + 1.0)), 4.2, (0.1, 0.02, 0.9, 0.8))
        draw_network(fig.add_subplot(1, 1, 1), frame)
        return fig_to_png(fig, fast=True)

    def draw_heatmaps(self, frame) -> bytes:
        from ..plots.network import draw_neuron_mosaic
        layers = max(1, len(frame.sizes) - 2)
        cols = min(self.max_units, max(frame.sizes[1:-1], default=1))
        # inches per heatmap: the figure fits the mosaic (no empty bands) and the view's width
        unit = min(1.0 if cols > 4 else 1.2, (self.max_width - 0.8) / cols)
        width, height = max(4.0, unit * cols + 0.8), unit * layers + 0.75  # (a two-line title above)
        fig = self._figure(width, height, (0.4 / width, 0.05 / height, 1 - 0.4 / width, 1 - 0.65 / height))
        draw_neuron_mosaic(fig.add_subplot(1, 1, 1), frame, max_units=self.max_units)
        return fig_to_png(fig, fast=True)

    def draw_confusion(self, frame) -> bytes:
        from ..plots.network import draw_confusion_matrix
        fig = self._figure(min(self.max_width, 4.2), 4.0, (0.2, 0.15, 0.95, 0.9))
        draw_confusion_matrix(fig.add_subplot(1, 1, 1), frame)
        return fig_to_png(fig, fast=True)

    def update(self, source) -> None:
        """Redraw from a :class:`lrlab.records.NetworkFrame`, or a Run or a Trainer (its live
        weights; snapshotted on this view's ``resolution`` grid)."""
        from ..run import network_frame
        frame = network_frame(source, self.resolution)
        self.graph.value = self.draw_graph(frame)
        self.heatmaps.value = self.draw_heatmaps(frame)
        if self.show_confusion and frame.predictions is not None:
            self.confusion.value = self.draw_confusion(frame)
            self.confusion.layout.display = None
        else:
            self.confusion.layout.display = "none"
            if self.tabs.selected_index == 2:
                self.tabs.selected_index = 0
        self.frames += 1
