"""An interface file as it was at a git revision, for ``--against git:REF``.

The file imports its siblings (``from models import User``), so one file is
not enough: the folder it is imported from (its own, or the one above its
packages) is taken from the revision whole, with ``git archive``, into a
temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from autonats.codegen.describe import import_root

__all__ = ["GitError", "at_revision"]

_TIMEOUT = 120.0  # seconds for one git command; archives of big trees take a while


class GitError(Exception):
    """The revision or the repository cannot be read (the caller's input)."""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed for --against git:REF)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {_TIMEOUT:g} s") from None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"


@contextlib.contextmanager
def at_revision(path: Path, ref: str, at: str | None = None) -> Iterator[Path | None]:
    """The file at ``path`` (or at ``at``, relative to the repository's root)
    as it was at revision ``ref``, with the tree around it.

    Yields the file's path in a temporary directory, removed afterwards, or
    None when the file did not exist at ``ref`` (a new interface). Raises
    :class:`GitError` when ``path`` is not in a git repository or ``ref``
    names no commit.
    """
    if not ref or ref.startswith("-"):
        raise GitError(f"invalid git revision {ref!r}")
    here = path.resolve()
    found = _git(here.parent, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise GitError(
            f"{path} is not in a git repository: {_first_line(found.stderr)}"
        )
    top = Path(os.fsdecode(found.stdout.strip())).resolve()
    verified = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if verified.returncode != 0:
        raise GitError(
            f"no commit {ref!r} in {top} (in a shallow CI checkout, fetch it "
            "first: actions/checkout with fetch-depth: 0, or git fetch origin "
            f"{ref})"
        )
    commit = verified.stdout.decode().strip()
    if at is not None:
        relative = Path(at)
        if relative.is_absolute() or ".." in relative.parts:
            raise GitError(f"{at}: give the path relative to the repository's root")
        tree = "."
    else:
        try:
            relative = here.relative_to(top)
        except ValueError:
            raise GitError(f"{path} is not inside {top}") from None
        root = import_root(here)
        tree = root.relative_to(top).as_posix() if root.is_relative_to(top) else "."
    exists = _git(top, "cat-file", "-e", f"{commit}:{relative.as_posix()}")
    if exists.returncode != 0:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="autonats-breaking-") as tmp:
        # Under a folder of the repository's name: an interface inside a
        # package at the repository's root keeps its package name.
        base = Path(tmp) / top.name
        archive = Path(tmp) / "tree.tar"
        made = _git(
            top, "archive", "--format=tar", "-o", str(archive), commit, "--", tree
        )
        if made.returncode != 0:
            raise GitError(f"git archive {ref} failed: {_first_line(made.stderr)}")
        try:
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(base, filter="data")
                else:  # Python < 3.10.12
                    tar.extractall(base)
        except (tarfile.TarError, OSError) as exc:
            raise GitError(f"cannot unpack {ref}: {exc}") from None
        yield base / relative
