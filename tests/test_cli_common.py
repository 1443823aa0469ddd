"""The argparse types the commands share: tables of cases."""

from __future__ import annotations

import argparse

import pytest
from autonats.cli._common import byte_size, duration

DURATIONS = [
    ("90", 90.0),
    ("90s", 90.0),
    ("1.5", 1.5),
    (".5s", 0.5),
    ("15m", 900.0),
    ("12h", 43_200.0),
    ("7d", 604_800.0),
    ("2w", 1_209_600.0),
    (" 7D ", 604_800.0),
]
SIZES = [
    ("1048576", 1 << 20),
    ("100B", 100),
    ("512K", 512 << 10),
    ("512KiB", 512 << 10),
    ("500KB", 500_000),
    ("256MiB", 256 << 20),
    ("256M", 256 << 20),
    ("1GB", 10**9),
    ("1GiB", 1 << 30),
    ("2TiB", 2 << 40),
    ("1.5MiB", 3 << 19),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_duration(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "7y", "-1s", "0", "0s", "1 2", "1e3"])
def test_not_a_duration(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


@pytest.mark.parametrize(("text", "count"), SIZES)
def test_byte_size(text: str, count: int) -> None:
    assert byte_size(text) == count


@pytest.mark.parametrize("text", ["", "MB", "1PB", "-5", "0", "0.1B", "1 000"])
def test_not_a_size(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        byte_size(text)
