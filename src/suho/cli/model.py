"""`suho model prepare [--base ID_OR_PATH]`: build the local fp32 cache of a base model once.
`suho model average OUT MODEL MODEL...`: the exact average of guard models trained on the same base."""

from __future__ import annotations

from suho.cli import add_command
from suho.model.base import DEFAULT_BASE, prepare_base, read_manifest

EXAMPLES = """examples:
  suho model prepare
  suho model prepare --base Qwen/Qwen2.5-0.5B
  suho model average runs/soup runs/seed13/model runs/seed14/model"""


def add_parser(sub) -> None:
    p = add_command(sub, "model", "prepare base models; average trained guards", EXAMPLES)
    ps = p.add_subparsers(dest="model_command", required=True)
    prep = ps.add_parser("prepare", help="assemble/convert a base model into the suho cache ($SUHO_HOME)")
    prep.add_argument("--base", default=DEFAULT_BASE, help=f"HF id, local path or {DEFAULT_BASE} (default)")
    prep.add_argument("--force", action="store_true", help="rebuild even if the cache is complete")
    prep.set_defaults(func=_prepare)
    avg = ps.add_parser(
        "average",
        help="write the average of guard models trained on the same base (the mean of their LoRA updates, exact)",
    )
    avg.add_argument("out", help="directory for the averaged model")
    avg.add_argument("models", nargs="+", help="two or more suho model directories")
    avg.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    avg.set_defaults(func=_average)


def _prepare(args) -> int:
    path = prepare_base(args.base, force=args.force, progress=lambda m: print(f"[model] {m}", flush=True))
    m = read_manifest(path)
    print(
        f"{path}\n  base: {m.base}\n  model_type: {m.model_type}\n  weights sha256: {m.weights_sha256}"
        + (f"\n  source sha256: {m.source_sha256}" if m.source_sha256 else "")
    )
    return 0


def _average(args) -> int:
    from suho.model.average import average_guards

    out = average_guards(args.models, args.out, overwrite=args.force)
    print(f"{out}: the average of {len(args.models)} models")
    return 0
