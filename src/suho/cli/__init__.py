"""The `suho` console script: one file per subcommand, plus what several of them share."""

import argparse
import unicodedata

# the --model flag of every command that loads a guard
MODEL_HELP = "suho model dir (default: $SUHO_MODEL, else the shipped suho-ko-270m; see suho.paths.find_model)"


def add_command(sub, name: str, help_: str, examples: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with `examples`, runnable commands kept as written."""
    return sub.add_parser(
        name, help=help_, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )


def add_engine_args(p) -> None:
    """`--engine`, `--precision` and `--device` for every subcommand that loads a guard (see `suho.load_guard`)."""
    from suho.model.engine import ENGINES
    from suho.model.fast import PRECISIONS

    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fast-engine precision (default: $SUHO_PRECISION or fp32); int8 is ~1.8x faster per query at about the "
        "same F1 (docs/serving.md)",
    )
    p.add_argument("--engine", choices=ENGINES, default="auto", help="inference engine (default: auto)")
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), cuda, cuda:N or auto: a GPU runs the hf engine (transformers + PEFT, fp32)",
    )


def engine_kwargs(args) -> dict:
    """The `load_guard` keywords that `add_engine_args` parsed."""
    return {"engine": args.engine, "precision": args.precision, "device": args.device}


def pad(text: str, width: int) -> str:
    """Left-justify by display width (Hangul takes two columns), for tables printed to a terminal."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)
