"""The model card `suho train` writes beside every adapter (replacing PEFT's empty template).

The shipped model's card is curated by hand (`models/suho-ko-270m/README.md`); this one records what a training
run knows: base, licence notice, data hash, time, config, and the dev-set results when they exist.
"""

from __future__ import annotations

import json
from pathlib import Path

GEMMA_NOTICE = (
    "> **Gemma Terms of Use.** The base weights are Gemma (Google), and this adapter is derived from them: using, "
    "modifying or distributing it means accepting the [Gemma Terms of Use](https://ai.google.dev/gemma/terms) and "
    "its [Prohibited Use Policy](https://ai.google.dev/gemma/prohibited_use_policy)."
)
OTHER_NOTICE = (
    "> **Base model licence.** This adapter is derived from `{base}`: its licence and terms of use apply to this "
    "model too."
)


def is_gemma(base: str) -> bool:
    return "gemma" in base.lower()


def render_card(meta: dict, dev_summary: str | None = None) -> str:
    base = str(meta.get("base", "?"))
    cfg = meta.get("config", {})
    notice = GEMMA_NOTICE if is_gemma(base) else OTHER_NOTICE.format(base=base)
    rows = "\n".join(f"| `{k}` | `{json.dumps(v, ensure_ascii=False)}` |" for k, v in cfg.items())
    lines = [
        f"# {Path(cfg.get('output_dir', 'suho')).name} — suho guard adapter",
        "",
        notice,
        "",
        "A suho guard: harmful-query detection (safe/unsafe + ten categories, one forward pass) and safeguard replies,",
        "trained with `suho train`. Load it with `suho.load_guard(PATH)` or `SUHO_MODEL=PATH`.",
        "",
        "| | |",
        "|---|---|",
        f"| base | `{base}` (weights sha256 `{meta.get('base_weights_sha256')}`) |",
        f"| training data | `{cfg.get('train_file')}`, sha256 `{meta.get('train_data_sha256')}` |",
        f"| examples / tokens | {meta.get('train_examples')} / {meta.get('train_tokens')} |",
        f"| steps / wall time | {meta.get('steps')} / {meta.get('train_seconds')} s |",
        f"| weights | {meta.get('weights', 'last step')} |",
        f"| final loss (EMA) | {meta.get('final_loss_ema')} |",
        f"| torch | {meta.get('torch')} |",
        "",
        "## Training config",
        "",
        "| field | value |",
        "|---|---|",
        rows,
        "",
        "## Dev-set results",
        "",
        dev_summary.strip() if dev_summary else "Not evaluated (run `suho eval --model PATH --benchmark dev`).",
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: str | Path) -> Path:
    """Write README.md from the model's suho_model.json, with its `dev_eval/summary.md` when that exists."""
    from suho.model.adapter import META_FILE

    path = Path(model_dir)
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    dev = path / "dev_eval" / "summary.md"
    summary = None
    if dev.is_file():  # drop its title; its links are relative to dev_eval/
        summary = dev.read_text(encoding="utf-8").split("\n", 1)[1].replace("](", "](dev_eval/")
    out = path / "README.md"
    out.write_text(render_card(meta, summary), encoding="utf-8")
    return out
