"""Writing results safely and reading files boundedly: nothing lost, nothing run.

* **Strict JSON that keeps every number.** JSON has no NaN or infinity, and a diverged run
  is full of them. :func:`dumps` writes non-finite floats as the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"`` (strict JSON any reader accepts); :func:`loads` reads
  them back to the same floats (and also accepts the bare ``NaN``/``Infinity`` tokens
  Python's ``json`` writes by default). Text fields listed in :data:`TEXT_KEYS` are never
  turned into numbers.
* **Outputs checked before the work.** :func:`check_output_file` and
  :func:`check_output_folder` are called before training starts: they create missing
  parent folders, refuse a folder where a file is wanted (and the reverse), a device or
  FIFO, a read-only place and an input file, each with a one-line ``ValueError``. The
  result of a long run is never lost to a bad path.
* **Atomic writes.** :func:`write_text` / :func:`write_bytes` write a temporary file beside
  the target and rename it over the target, so a failed write never leaves half a file.
* **Bounded reads.** :func:`read_bounded` reads a regular file only, at most ``limit``
  bytes, and refuses FIFOs, devices (``/dev/zero``) and folders before reading.
"""
from __future__ import annotations

import json
import math
import os
import stat
import tempfile

NAN, INF, NINF = "NaN", "Infinity", "-Infinity"
_SPECIAL = {NAN: math.nan, INF: math.inf, NINF: -math.inf}
#: keys whose values are text a learner typed or a file brought (never read as numbers)
TEXT_KEYS = frozenset({"config", "class_names", "summary", "label", "labels", "reason", "name", "optimizer",
                       "schedule", "columns", "optimizers", "rule", "message"})


def number(x):
    """A float as strict JSON: finite floats unchanged, non-finite ones as ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    x = float(x)
    if math.isfinite(x):
        return x
    return NAN if math.isnan(x) else INF if x > 0 else NINF


def jsonable(obj):
    """``obj`` with numpy/torch values made plain and every non-finite float made a string."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return number(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars, torch tensors
    if tolist is not None:
        return jsonable(tolist())
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def restore(obj, _key=None):
    """The inverse of :func:`jsonable` for numbers: ``"NaN"``/``"Infinity"``/``"-Infinity"`` -> floats."""
    if _key in TEXT_KEYS:
        return obj
    if isinstance(obj, str):
        return _SPECIAL.get(obj, obj)
    if isinstance(obj, dict):
        return {k: restore(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore(v) for v in obj]
    return obj


def dumps(obj, **kwargs) -> str:
    """Strict JSON text of ``obj`` (no bare NaN/Infinity tokens; see the module docstring)."""
    return json.dumps(jsonable(obj), allow_nan=False, **kwargs)


def loads(text: str):
    """Read :func:`dumps`'s text back, non-finite numbers included."""
    return restore(json.loads(text))


def loads_bounded(text, what: str, limit: int):
    """:func:`loads` of untrusted JSON text: over ``limit`` characters or not JSON -> ``ValueError('what: ...')``."""
    if len(text) > limit:
        raise ValueError(f"{what}: the JSON is over {limit // 2**20} MB")
    try:
        return loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{what}: not valid JSON") from None


# ------------------------------------------------------------------------------ outputs
def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _ensure_folder(folder: str, what: str) -> None:
    if not folder:
        folder = "."
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise ValueError(f"{what}: {folder!r} is a file, not a folder")
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{what}: cannot create the folder {folder!r} ({exc.strerror or exc})") from None


def _probe_writable(folder: str, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".lrlab-probe-", dir=folder or ".")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{what}: cannot write into {folder or '.'!r} ({exc.strerror or exc}); "
                         f"choose another place") from None


def check_name(path, what: str, kind: str = "file") -> str:
    """``path`` (``~`` expanded) if the file system can hold it as a name: text, not blank, no NUL,
    each part and the whole within the file system's limits; else ``ValueError('what: ...')``."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).strip():
        raise ValueError(f"{what}: expected a {kind} name, got {path!r}")
    path = os.path.expanduser(os.fspath(path))
    if "\0" in path:
        raise ValueError(f"{what}: a {kind} name cannot contain a NUL character")
    try:
        folder = os.path.dirname(os.path.abspath(path))
        while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
        name_max, path_max = os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        name_max, path_max = 255, 4096
    longest = max((len(os.fsencode(part)) for part in path.split(os.sep)), default=0)
    if longest > name_max or len(os.fsencode(path)) >= path_max:
        raise ValueError(f"{what}: the {kind} name {path[:40]!r}... is too long for this file system "
                         f"(at most {name_max} bytes per name, {path_max} in all); give a shorter name")
    return path


def check_output_file(path, what: str, inputs=()) -> str:
    """Check, before any work, that a result can be written to ``path``; returns the path.

    Creates missing parent folders. Refuses (``ValueError('what: ...')``) a folder, a
    device, FIFO or other non-regular file, an unwritable place, and any of ``inputs``
    (the files the run reads: a result never overwrites its own data).
    """
    path = check_name(path, what)
    for source in inputs:
        if source is not None and _same_file(path, os.fspath(source)):
            raise ValueError(f"{what}: {path!r} is the input file; writing there would destroy your data — "
                             f"choose another name")
    if os.path.lexists(path):
        st = os.stat(path) if os.path.exists(path) else None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{what}: {path!r} is a folder; give a file name")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{what}: {path!r} is not a regular file (a device or a pipe); give a file name")
    folder = os.path.dirname(path)
    _ensure_folder(folder, what)
    _probe_writable(folder, what)
    return path


def check_output_folder(path, what: str, files=()) -> str:
    """Check that ``path`` is (or can become) a writable folder whose ``files`` can be written."""
    path = check_name(path, what, "folder")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{what}: {path!r} is an existing file, not a folder; give a folder name")
    _ensure_folder(path, what)
    _probe_writable(path, what)
    for name in files:
        check_output_file(os.path.join(path, name), what)
    return path


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, for every thread at once)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _write(path: str, data: bytes, private: bool = False) -> None:
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lrlab-", suffix=".part", dir=folder)
    try:
        # mkstemp makes 0600 files; a result is an ordinary file (the umask decides), unless private
        os.fchmod(fd, 0o600 if private else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if os.path.islink(path):  # replace the link itself, never write through it
            os.unlink(path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text(path, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    _write(path, text.encode("utf-8"))
    return os.fspath(path)


def write_bytes(path, data: bytes, private: bool = False) -> str:
    """Write ``data`` to ``path`` atomically (``private``: readable by this user only); returns the path."""
    _write(path, bytes(data), private)
    return os.fspath(path)


# ------------------------------------------------------------------------------ inputs
def read_bounded(path, what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused before reading if it is not one or is over ``limit``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{what}: expected a file name, got {type(path).__name__}")
    path = os.path.expanduser(os.fspath(path))
    if "\0" in path:
        raise ValueError(f"{what}: a file name cannot contain a NUL character")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{what}: no such file {path!r}") from None
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path!r} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{what}: {path!r} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{what}: {path!r} is not a regular file (a device or a pipe); give a file")
    if st.st_size > limit:
        raise ValueError(f"{what}: {path!r} is {st.st_size / 2**20:.1f} MB, more than the {limit / 2**20:.0f} MB "
                         f"lrlab reads; use a smaller file")
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the stat cannot block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path!r} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ValueError(f"{what}: {path!r} is not a regular file (a device or a pipe); give a file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{what}: {path!r} is more than the {limit / 2**20:.0f} MB lrlab reads; use a smaller file")
    return data
