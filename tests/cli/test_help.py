"""Every command's --help renders: argparse formats help with %, so a stray "%" in a field's help broke it."""

import argparse

import pytest

from suho.cli.main import build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in _commands(sub).items()})
    return out


@pytest.mark.parametrize("command", sorted(_commands(build_parser())))
def test_help_renders(command):
    text = _commands(build_parser())[command].format_help()
    assert text.startswith("usage:")


def test_percent_in_a_field_help_is_escaped():
    from suho.train.config import TrainConfig

    assert "%" in TrainConfig.__dataclass_fields__["share_prompt"].metadata["help"]
    assert "13% less" in " ".join(_commands(build_parser())["train"].format_help().split())
