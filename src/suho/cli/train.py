"""`suho train`: multi-task LoRA fine-tuning (see suho.train.trainer)."""

from __future__ import annotations

from suho.cli import add_command
from suho.cli.config import add_config_args, resolve_config
from suho.train.config import TrainConfig

EXAMPLES = """examples:
  suho train --output-dir runs/ko --epochs 1
  suho train --config my.yaml --base Qwen/Qwen2.5-0.5B --lora-layers all"""


def add_parser(sub) -> None:
    p = add_command(sub, "train", "fine-tune a guard model (LoRA, multi-task)", EXAMPLES)
    add_config_args(p, TrainConfig)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from suho.train.trainer import train

    cfg = resolve_config(TrainConfig, args.config, args)
    if cfg.dev_file:  # read now, not after an hour of training
        from suho.data.schema import read_jsonl

        read_jsonl(cfg.dev_file)
    path = train(cfg, progress=lambda m: print(f"[train] {m}", flush=True))
    if cfg.dev_file:
        from suho.eval.run import evaluate_file
        from suho.model.card import write_card

        evaluate_file(str(path), cfg.dev_file, out_dir=path / "dev_eval")
        write_card(path)  # again, now with the dev results
    return 0
