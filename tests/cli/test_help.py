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


def test_the_command_works_without_the_serve_extra():
    """fastapi and uvicorn come with `suho[serve]` only: every other command must parse and run without them, and
    `suho serve` must say what to install instead of printing a traceback."""
    import subprocess
    import sys

    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fastapi", "uvicorn", "starlette"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Block())
from suho.cli.main import build_parser, main
build_parser().parse_args(["train", "--device", "cpu", "--max-steps", "1"])
sys.exit(main(["serve", "--port", "0"]))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "pip install 'suho[serve]'" in r.stderr and "Traceback" not in r.stderr


def test_a_lookup_error_prints_without_the_quotes_of_KeyError(capsys, tmp_path):
    from suho.cli.main import main

    assert main(["eval", "--benchmark", "en-devv", "--model", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "suho eval: error: unknown benchmark 'en-devv' (did you mean 'en-dev'?)" in err


def test_a_missing_model_directory_is_named_as_missing(capsys, tmp_path):
    from suho.cli.main import main

    assert main(["check", "--model", str(tmp_path / "nope"), "hi"]) == 2
    assert f"model directory {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    # `suho policy show ko-KR | head -1`: the reader leaves after one line
    proc = subprocess.run(
        f"{sys.executable} -m suho.cli.main policy show ko-KR | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
