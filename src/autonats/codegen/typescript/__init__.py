"""The TypeScript renderer: the same model as the Python one, written as
TypeScript clients over a small runtime module (``runtime.ts``) that is
written beside them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from autonats.codegen.typescript.render import (
    RUNTIME_MODULE,
    camel_case,
    render,
    runtime_header,
)

__all__ = ["RUNTIME_MODULE", "camel_case", "module_name", "render", "runtime"]


def module_name(source: str | Path) -> str:
    """The TypeScript module generated for an interface file: ``users.py`` -> ``users.ts``."""
    return f"{Path(source).stem}.ts"


def runtime() -> str:
    """The text of the runtime module (``autonats.ts``) the generated modules import."""
    text = resources.files(__package__).joinpath("runtime.ts").read_text("utf-8")
    return runtime_header() + text
