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

A config with ``csv_path`` carries the path, not the data: the file must be there too.
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib

from .train import TrainConfig

PREFIX = "lrlab1:"


def encode(config: TrainConfig) -> str:
    """The share string of ``config``: ``'lrlab1:' + urlsafe base64 of zlib-compressed JSON``."""
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    packed = zlib.compress(text.encode("utf-8"), 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode(text: str, validate: bool = True) -> TrainConfig:
    """The :class:`TrainConfig` in share string ``text``; ``ValueError('share: ...')`` if it is mangled."""
    if not isinstance(text, str):
        raise ValueError(f"share: expected a string, got {type(text).__name__}")
    text = "".join(text.split()).strip("'\"")
    if not text:
        raise ValueError("share: the string is empty; paste a string that starts with 'lrlab1:'")
    if not text.startswith(PREFIX):
        if text.startswith("lrlab") and ":" in text:
            raise ValueError(f"share: unsupported version {text.split(':', 1)[0]!r}; this lrlab reads {PREFIX!r}")
        raise ValueError(f"share: a share string starts with {PREFIX!r}, got {text[:12]!r}...")
    body = text[len(PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("share: the string is damaged (not valid base64) — copy it again, all of it") from None
    try:
        raw = zlib.decompress(packed)
    except zlib.error:
        raise ValueError("share: the string is damaged or cut short — copy it again, all of it") from None
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("share: the string is damaged (its content is not a config)") from None
    if not isinstance(d, dict):
        raise ValueError("share: the string does not hold a config")
    try:
        config = TrainConfig.from_dict(d)
    except TypeError as exc:
        raise ValueError(f"share: not a config this lrlab reads ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"share: {exc}") from None
    if validate:
        try:
            config.validate()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"share: {exc}") from None
    return config


def is_share_string(text: str) -> bool:
    """True when ``text`` decodes to a valid config."""
    try:
        decode(text)
        return True
    except ValueError:
        return False
