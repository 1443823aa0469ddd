"""Every command and every option of the command line says what it does."""

from __future__ import annotations

import argparse

import pytest
from autonats.cli import _parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_has_help(name: str) -> None:
    command = _commands()[name]
    assert command.description, name
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in command._actions
        if not action.help
        and not isinstance(action, argparse._HelpAction)
        and action.option_strings
    ]
    assert not missing, f"autonats {name}: options without help: {missing}"
