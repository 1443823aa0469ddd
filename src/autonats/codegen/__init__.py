"""The code generator: ``parse`` (declarations -> model) then ``render`` (model -> text)."""

from __future__ import annotations

from pathlib import Path

from autonats.codegen.parse import parse
from autonats.codegen.render import render

__all__ = ["generate", "parse", "render"]


def generate(
    path: str | Path,
    *,
    timeout: float = 5.0,
    concurrency: int = 5,
    tracing: bool = False,
) -> str:
    """The source of the generated module for the interface file at ``path``."""
    module = parse(path, timeout=timeout, concurrency=concurrency, tracing=tracing)
    command = ["autonats", "generate", Path(path).name]
    if timeout != 5.0:
        command += ["--timeout", f"{timeout:g}"]
    if concurrency != 5:
        command += ["--concurrency", str(concurrency)]
    if tracing:
        command.append("--tracing")
    return render(module, command=" ".join(command))
