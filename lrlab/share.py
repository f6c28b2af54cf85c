"""Share strings: a whole :class:`lrlab.train.TrainConfig` (seed included) in one copy-pasteable line.

``encode(config) = 'lrlab1:' + urlsafe_base64(zlib.compress(json(config.to_dict())))`` with
the JSON compact and its keys sorted, and the base64 padding dropped. Every field is in
it (not only the ones that differ from today's defaults), so a string keeps giving the
same run even if a default changes later. The same config trains to the same history,
so pasting the string reproduces the run exactly (``tests/test_share.py`` checks it, also
across a fresh Python process).

``decode(text)`` reverses it and validates, with a one-line ``ValueError`` for every way
a pasted string can be mangled (missing prefix, cut short, a character changed, a field
unknown or out of range). Whitespace and line breaks a chat program may add are ignored.

A share string is untrusted text (anyone may paste one), so :func:`decode` bounds it
before any work: at most :data:`lrlab.limits.MAX_SHARE_CHARS` characters are read, the
decompression stops at :data:`lrlab.limits.MAX_SHARE_BYTES` (a "zip bomb" is refused
after that many bytes, without growing memory), and every field is type- and
range-checked by :meth:`TrainConfig.validate` before anything is built.

A share string carries no file: a config with ``csv_path`` (the learner's own CSV) is
refused by :func:`encode` and :func:`decode`, with a message saying what to do instead
(send the CSV file itself; it is loaded with the CSV upload box or ``lrlab train --csv``).
A path on one machine means nothing on another, and a pasted string must never make
lrlab read a file (``/dev/zero``, a FIFO) the learner did not choose.
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib

from . import limits, nets
from .train import _RULES, TrainConfig

PREFIX = "lrlab1:"


#: what the learner can do when a config names a CSV file
CSV_ADVICE = "load it with the CSV upload box or `lrlab train --csv FILE`"


def encode(config: TrainConfig) -> str:
    """The share string of ``config``: ``'lrlab1:' + urlsafe base64 of zlib-compressed JSON``.

    ``ValueError('share: ...')`` for a config that names a CSV file (a string cannot carry
    it) or that does not validate (the string would not decode).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"share: expected a TrainConfig, got {type(config).__name__}")
    if config.csv_path is not None:
        raise ValueError(f"share: csv_path: a share string cannot carry a file; send the CSV file itself "
                         f"(the receiver can {CSV_ADVICE})")
    try:
        config.validate()
    except ValueError as exc:
        raise ValueError(f"share: {exc}") from None
    return pack(config.to_dict())


def pack(obj, allow_nan: bool = False) -> str:
    """The share-string packing of any JSON value, unchecked (:func:`encode` checks the config first)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=allow_nan)
    packed = zlib.compress(text.encode("utf-8"), 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def _unpack(body: str) -> bytes:
    """The JSON bytes in a share string's body, decompressed to at most ``limits.MAX_SHARE_BYTES``."""
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("share: the string is damaged (not valid base64) — copy it again, all of it") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, limits.MAX_SHARE_BYTES + 1)
    except zlib.error:
        raise ValueError("share: the string is damaged or cut short — copy it again, all of it") from None
    if len(raw) > limits.MAX_SHARE_BYTES:
        raise ValueError(f"share: the string unpacks to more than {limits.MAX_SHARE_BYTES // 1024} KB, far more than "
                         f"any config; it was not made by lrlab — ask for the string again")
    if not inflater.eof:
        raise ValueError("share: the string is damaged or cut short — copy it again, all of it")
    if inflater.unused_data:
        raise ValueError("share: the string is damaged (extra text after the config) — copy it again, all of it")
    return raw


def decode(text: str, validate: bool = True) -> TrainConfig:
    """The :class:`TrainConfig` in share string ``text``; ``ValueError('share: ...')`` if it is mangled.

    With ``validate=False`` only the two parameter dicts are checked (they must be dicts:
    the CLI merges its flags into them, then validates); the size bounds, the refusal of a
    file and the unknown-field check hold always.
    """
    if not isinstance(text, str):
        raise ValueError(f"share: expected a string, got {type(text).__name__}")
    if len(text) > limits.MAX_SHARE_CHARS:
        raise ValueError(f"share: the text is {len(text)} characters, more than the {limits.MAX_SHARE_CHARS} a share "
                         f"string may have (they are under 1000) — paste only the string that starts with {PREFIX!r}")
    text = "".join(text.split()).strip("'\"")
    if not text:
        raise ValueError("share: the string is empty; paste a string that starts with 'lrlab1:'")
    if not text.startswith(PREFIX):
        if text.startswith("lrlab") and ":" in text[:12]:
            raise ValueError(f"share: unsupported version {text.split(':', 1)[0]!r}; this lrlab reads {PREFIX!r}")
        raise ValueError(f"share: a share string starts with {PREFIX!r}, got {text[:12]!r}...")
    raw = _unpack(text[len(PREFIX):])
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError, a 5000-digit number, deep nesting
        raise ValueError("share: the string is damaged (its content is not a config) — copy it again, all of it") \
            from None
    if not isinstance(d, dict):
        raise ValueError("share: the string does not hold a config — copy the whole string lrlab printed")
    if d.get("csv_path") is not None:
        raise ValueError(f"share: csv_path: a share string cannot carry a file, and this one names "
                         f"{nets.shown(d['csv_path'], 40)}; ask for the CSV file itself and {CSV_ADVICE}")
    try:
        config = TrainConfig.from_dict(d)
        if validate:
            config.validate()
        else:  # what a caller merges flags into must at least be dicts
            for name in ("optimizer_params", "schedule_params"):
                _RULES[name](name, getattr(config, name))
    except ValueError as exc:
        raise ValueError(f"share: {exc}") from None
    except (TypeError, AttributeError, KeyError, OverflowError, RecursionError) as exc:  # never expected
        raise ValueError(f"share: not a config this lrlab reads ({type(exc).__name__}) — ask for the string "
                         f"again") from None
    return config


def is_share_string(text: str) -> bool:
    """True when ``text`` decodes to a valid config."""
    try:
        decode(text)
        return True
    except ValueError:
        return False
