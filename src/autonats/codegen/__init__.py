"""The code generator: ``parse`` (declarations -> model) then a renderer (model ->
text): ``render`` writes Python, :mod:`autonats.codegen.typescript` TypeScript."""

from __future__ import annotations

import os
from pathlib import Path

from autonats.codegen import typescript
from autonats.codegen.parse import parse
from autonats.codegen.render import render
from autonats.contract.spec import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT

__all__ = [
    "command_line",
    "default_output",
    "generate",
    "generate_typescript",
    "parse",
    "render",
]


def default_output(source: str | Path) -> Path:
    """Where ``autonats generate`` writes by default: ``<stem>_nats.py`` beside the source."""
    path = Path(source)
    return path.with_name(f"{path.stem}_nats.py")


def command_line(
    source: str,
    output: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    tracing: bool = False,
    lang: str = "python",
) -> str:
    """The ``autonats generate`` command for these options (flags at their
    defaults are left out)."""
    command = ["autonats", "generate"]
    if lang != "python":
        command += ["--lang", lang]
    if timeout != DEFAULT_TIMEOUT:
        command += ["--timeout", f"{timeout:g}"]
    if concurrency != DEFAULT_CONCURRENCY:
        command += ["--concurrency", str(concurrency)]
    if tracing:
        command.append("--tracing")
    command.append(source)
    if output is not None:
        command += ["-o", output]
    return " ".join(command)


def generate(
    path: str | Path,
    *,
    output: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    tracing: bool = False,
) -> str:
    """The source of the generated module for the interface file at ``path``.

    Its header names the command that regenerates it, run in the interface's
    folder (so the text does not depend on where the generator ran);
    ``output`` is where it will be written, when not the default.
    """
    module = parse(path, timeout=timeout, concurrency=concurrency, tracing=tracing)
    source = Path(path)
    target = None
    if (
        output is not None
        and Path(output).resolve() != default_output(source).resolve()
    ):
        target = os.path.relpath(Path(output).resolve(), source.resolve().parent)
    command = command_line(
        source.name,
        target,
        timeout=timeout,
        concurrency=concurrency,
        tracing=tracing,
    )
    return render(module, command=command)


def generate_typescript(
    path: str | Path,
    *,
    output_dir: str | Path,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """The TypeScript module for the interface file at ``path``, to be written
    into ``output_dir`` beside the runtime module
    (:func:`autonats.codegen.typescript.runtime`).

    Its header names the command that regenerates it, run in the
    interface's folder.
    """
    module = parse(path, timeout=timeout)
    source = Path(path)
    target = os.path.relpath(Path(output_dir).resolve(), source.resolve().parent)
    command = command_line(source.name, target, timeout=timeout, lang="ts")
    return typescript.render(module, command=command)
