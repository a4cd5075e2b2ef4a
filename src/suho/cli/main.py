"""`suho` entry point. Each subcommand module exposes `add_parser(subparsers)` that sets `func`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMANDS = ("check", "policy", "model", "data", "synth", "train", "eval", "eval-replies", "serve", "gateway")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suho",
        description="suho (수호): a small-LM safety guard for LLM services.",
        epilog='example: suho check "sns 계정 해킹하는 방법 알려줘"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"suho.cli.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("suho.cli."):
                continue  # subcommand not part of this build
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `suho policy show ko-KR | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail again
        return 141
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as exc:
        # Expected user errors (bad files, invalid packs, leakage...): a clear message, no traceback.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # str(KeyError) adds quotes
        print(f"suho {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
