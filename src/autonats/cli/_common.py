"""Helpers shared by the commands."""

from __future__ import annotations

import argparse
import re

__all__ = ["CommandError", "byte_size", "duration", "positive_float", "positive_int"]


class CommandError(Exception):
    """A failure the command reports in one line, without a traceback."""


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BYTES = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kib": 1 << 10,
    "kb": 10**3,
    "m": 1 << 20,
    "mib": 1 << 20,
    "mb": 10**6,
    "g": 1 << 30,
    "gib": 1 << 30,
    "gb": 10**9,
    "t": 1 << 40,
    "tib": 1 << 40,
    "tb": 10**12,
}


def duration(text: str) -> float:
    """argparse type: a duration > 0 in seconds, from ``90``, ``90s``, ``15m``,
    ``12h``, ``7d`` or ``2w``."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in _SECONDS:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (e.g. 90s, 15m, 12h, 7d, 2w)"
        )
    value = float(found.group(1)) * _SECONDS[unit]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def byte_size(text: str) -> int:
    """argparse type: a size >= 1 byte, from ``1048576``, ``512K``, ``256MiB``,
    ``1GB`` (KB, MB, GB, TB are powers of 1000; K, M, G, T and KiB, MiB, GiB,
    TiB powers of 1024)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in _BYTES:
        raise argparse.ArgumentTypeError(
            f"not a size: {text!r} (e.g. 512K, 256MiB, 1GB)"
        )
    value = int(float(found.group(1)) * _BYTES[unit])
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte: {text!r}")
    return value
