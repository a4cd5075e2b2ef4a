"""`suho model prepare [--base ID_OR_PATH]`: build the local fp32 cache of a base model once."""

from __future__ import annotations

import argparse

from suho.model.base import DEFAULT_BASE, prepare_base, read_manifest


def add_parser(sub) -> None:
    p = sub.add_parser(
        "model",
        help="prepare base models",
        epilog="examples:\n  suho model prepare\n  suho model prepare --base Qwen/Qwen2.5-0.5B",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ps = p.add_subparsers(dest="model_command", required=True)
    prep = ps.add_parser("prepare", help="assemble/convert a base model into the suho cache ($SUHO_HOME)")
    prep.add_argument("--base", default=DEFAULT_BASE, help=f"HF id, local path or {DEFAULT_BASE} (default)")
    prep.add_argument("--force", action="store_true", help="rebuild even if the cache is complete")
    prep.set_defaults(func=_prepare)


def _prepare(args) -> int:
    path = prepare_base(args.base, force=args.force, progress=lambda m: print(f"[model] {m}", flush=True))
    m = read_manifest(path)
    print(
        f"{path}\n  base: {m.base}\n  model_type: {m.model_type}\n  weights sha256: {m.weights_sha256}"
        + (f"\n  source sha256: {m.source_sha256}" if m.source_sha256 else "")
    )
    return 0
