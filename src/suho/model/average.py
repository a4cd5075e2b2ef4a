"""Average guard models trained on the same base (a "model soup" of LoRA adapters; Wortsman et al., 2022).

The LoRA update of a module is `delta_W = scale * B @ A`. The mean of n updates is itself a LoRA update of rank
`sum(r_i)`: stack the A matrices, put the B matrices side by side, each multiplied by `scale_i / (n * scale)`. So
the average is exact (no SVD, no approximation), and inference costs what one model of the summed rank costs; merged
into the base weights (the fast engine does that) it costs nothing more at all. The label head's output rows are
averaged; the input rows and the reply vocabulary must be the same in every model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from suho.model.adapter import ADAPTER_FILE, CONFIG_FILE, read_guard_artifacts, write_head_and_meta

# adapter_config keys that may differ between the models averaged (the rank and alpha are recomputed)
_FREE_KEYS = {"r", "lora_alpha", "base_model_name_or_path", "revision"}


def _norm(cfg: dict, key: str):
    """A config value as compared: PEFT saves target_modules as a set, in whatever order it iterated it."""
    value = cfg.get(key)
    return sorted(value) if key == "target_modules" and isinstance(value, list) else value


def _scale(cfg: dict) -> float:
    return cfg["lora_alpha"] / cfg["r"]


def _check(cfgs: list[dict], metas: list[dict], paths: list[Path]) -> None:
    for cfg, path in zip(cfgs, paths, strict=True):
        if cfg.get("peft_type", "LORA") != "LORA":
            raise ValueError(f"{path}: only LoRA adapters can be averaged (got {cfg.get('peft_type')})")
        if cfg.get("use_rslora") or cfg.get("use_dora") or cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
            raise ValueError(f"{path}: rsLoRA, DoRA and per-module ranks are not supported by averaging")
    first, path0 = cfgs[0], paths[0]
    for cfg, meta, path in zip(cfgs[1:], metas[1:], paths[1:], strict=True):
        diff = sorted(k for k in set(first) | set(cfg) if k not in _FREE_KEYS and _norm(first, k) != _norm(cfg, k))
        if diff:
            raise ValueError(f"{path} and {path0} differ in their adapter configs ({', '.join(diff)})")
        for key in ("base", "base_weights_sha256", "label_tokens"):
            if meta.get(key) != metas[0].get(key):
                raise ValueError(f"{path} and {path0} differ in {key}: only models of the same base can be averaged")


def average_guards(sources: Sequence[str | Path], out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the average of the guard models in `sources` to `out`; returns `out`. An existing, non-empty `out` is
    replaced only with `overwrite`."""
    paths = [Path(s) for s in sources]
    if len(paths) < 2:
        raise ValueError("averaging needs at least two models")
    out = Path(out)
    if out.resolve() in {p.resolve() for p in paths}:
        raise ValueError(f"{out} is one of the models averaged: write the average somewhere else")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"{out} exists and is not empty; pass --force to overwrite it")
    arts = [read_guard_artifacts(p) for p in paths]
    cfgs = [json.loads((p / CONFIG_FILE).read_text(encoding="utf-8")) for p in paths]
    _check(cfgs, [a.meta for a in arts], paths)
    for art in arts[1:]:
        if not torch.equal(art.reply_vocab, arts[0].reply_vocab):
            raise ValueError(f"{art.path} and {paths[0]} have different reply vocabularies (trained on other data)")
        if not torch.allclose(art.input_rows, arts[0].input_rows):
            raise ValueError(f"{art.path} and {paths[0]} have different label-token input rows")

    n = len(paths)
    r_new = sum(c["r"] for c in cfgs)
    scale_new = sum(_scale(c) for c in cfgs) / n  # any positive value works; the mean keeps alpha in a usual range
    weights = [load_file(str(p / ADAPTER_FILE)) for p in paths]
    keys = set(weights[0])
    for w, p in zip(weights[1:], paths[1:], strict=True):
        if set(w) != keys:
            raise ValueError(f"{p} and {paths[0]} adapt different modules")
    averaged: dict[str, torch.Tensor] = {}
    for key in sorted(keys):
        if ".lora_A." in key:
            averaged[key] = torch.cat([w[key].float() for w in weights], 0).contiguous()
        elif ".lora_B." in key:
            parts = [w[key].float() * (_scale(c) / (n * scale_new)) for w, c in zip(weights, cfgs, strict=True)]
            averaged[key] = torch.cat(parts, 1).contiguous()
        else:
            raise ValueError(f"{paths[0]}: unexpected adapter tensor {key} (only lora_A/lora_B can be averaged)")

    out.mkdir(parents=True, exist_ok=True)
    save_file(averaged, str(out / ADAPTER_FILE))
    cfg = {**cfgs[0], "r": r_new, "lora_alpha": scale_new * r_new}
    (out / CONFIG_FILE).write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    meta = dict(arts[0].meta)
    meta["averaged_from"] = [
        {
            "path": str(a.path),
            "seed": a.meta.get("config", {}).get("seed"),
            "train_data_sha256": a.meta.get("train_data_sha256"),
            "train_seconds": a.meta.get("train_seconds"),
        }
        for a in arts
    ]
    seconds = [m["train_seconds"] for m in meta["averaged_from"]]
    meta["train_seconds"] = round(sum(seconds), 1) if None not in seconds else None
    label_rows = torch.stack([a.label_rows for a in arts]).mean(0)
    write_head_and_meta(out, arts[0].input_rows, label_rows, arts[0].reply_vocab, meta)
    return out
