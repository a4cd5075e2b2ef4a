"""`suho train`: multi-task LoRA fine-tuning with restricted heads, length-bucketed batches, checkpoints and resume.

Speed comes from what is *not* computed: no full-vocabulary logits (label tokens use 14 rows, replies only the reply
vocabulary), no padding waste (batches of similar length), and no backward pass below the lowest LoRA layer.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch

from suho.data.schema import Record, read_jsonl
from suho.model.adapter import (
    decoder,
    find_layers,
    init_label_rows,
    output_matrix,
    save_guard_artifacts,
)
from suho.model.base import load_base, read_manifest, resolve_device
from suho.model.card import write_card
from suho.model.format import LABEL_TOKEN_NAMES, WINDOW_TOKENS, TokenMap, ensure_label_tokens, token_strings
from suho.train.collator import Example, build_reply_vocab, collate, encode, encode_detection, multitask_loss
from suho.train.config import TrainConfig
from suho.train.swa import RunningMean

CKPT = "checkpoint"
# what a run is, for resuming and for telling a finished run from another: neither where it runs, nor how often it
# saves, nor what it is evaluated on afterwards changes the weights it trains
NOT_IDENTITY = ("device", "threads", "save_every", "dev_file", "output_dir")


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def bucketed_batches(examples: list[Example], batch_size: int, seed: int, epochs: float) -> list[list[int]]:
    """Deterministic batch order: per epoch shuffle, sort chunks of 32 batches by length, shuffle the batches.

    Detection and reply examples differ in length, so they land in different batches: detection batches hold
    both labels (prompt lengths do not depend on the label) and no padding up to reply length.
    """
    order: list[list[int]] = []
    n_epochs = math.ceil(epochs)
    for ep in range(n_epochs):
        rng = random.Random(seed * 1000 + ep)
        idx = list(range(len(examples)))
        rng.shuffle(idx)
        chunk = batch_size * 32
        batches = []
        for c in range(0, len(idx), chunk):
            part = sorted(idx[c : c + chunk], key=lambda i: len(examples[i].input_ids))
            batches += [part[b : b + batch_size] for b in range(0, len(part), batch_size)]
        rng.shuffle(batches)
        order += batches
    total = math.ceil(len(examples) / batch_size * epochs)
    return order[:total]


def _trained_weights(model, label_rows: torch.nn.Parameter) -> dict[str, torch.Tensor]:
    """The trained tensors themselves (not copies), by name."""
    weights = {k: v for k, v in model.named_parameters() if v.requires_grad}
    weights["__label_rows__"] = label_rows
    return weights


def _save_checkpoint(
    out: Path,
    step: int,
    weights: dict[str, torch.Tensor],
    opt,
    sched,
    meta: dict,
    average: RunningMean | None,
    seconds: float,
) -> None:
    tmp = out / (CKPT + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(
        {
            "step": step,
            "trainable": {k: v.detach() for k, v in weights.items()},
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "meta": meta,
            "average": average.state_dict() if average is not None else None,
            "seconds": seconds,
        },
        tmp / "state.pt",
    )
    final = out / CKPT
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def run_identity(cfg: TrainConfig, data_sha256: str) -> dict:
    return {
        "config": {k: v for k, v in cfg.to_dict().items() if k not in NOT_IDENTITY},
        "data_sha256": data_sha256,
    }


def identity_differences(config: dict, data_sha256: str | None, now: dict) -> list[str]:
    """The config fields (and `data`) in which a saved run (its config and data hash) differs from `now`, named for
    an error message."""
    b = now["config"]
    fields = sorted(k for k in set(config) | set(b) if k not in NOT_IDENTITY and config.get(k) != b.get(k))
    return fields + (["data (train_file contents)"] if data_sha256 != now["data_sha256"] else [])


def finished_run(out: Path, identity: dict) -> Path | None:
    """`out/model` when `out` already holds a finished run of this identity; an error when it holds another's."""
    meta_file = out / "train_meta.json"
    if not meta_file.is_file() or not (out / "model").is_dir():
        return None
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    differ = identity_differences(meta.get("config", {}), meta.get("train_data_sha256"), identity)
    if differ:
        raise RuntimeError(
            f"{out} already holds a finished model trained with other settings ({', '.join(differ)} differ); "
            "choose another --output-dir, or remove it to train again"
        )
    return out / "model"


def build_examples(records: list[Record], tok, tmap: TokenMap, cfg: TrainConfig) -> list[Example]:
    """Every record's examples (detection, reply-as-safe, reply); `cfg.oversample` repeats detection examples.

    A reply shared by several rows (a disguised copy keeps its original's reply) is trained as a safe query once:
    the copies would only repeat the same detection example.
    """
    rules = cfg.oversample_rules()
    examples: list[Example] = []
    seen_replies: set[str] = set()
    for r in records:
        as_safe = cfg.replies_as_safe and r.response not in seen_replies
        if r.response:
            seen_replies.add(r.response)
        encoded = encode(r, tok, tmap, cfg.max_prompt_tokens, cfg.max_reply_tokens, as_safe, cfg.share_prompt)
        times = max([n for label, tag, n in rules if tag in r.tags and label in (None, r.label.value)], default=1)
        if times > 1:  # repeats are of the detection example alone, never of a reply
            examples += [encode_detection(r, tok, tmap, cfg.max_prompt_tokens)] * (times - 1)
        examples += encoded
    return examples


def train(cfg: TrainConfig, progress: Callable[[str], None] = print, show_bar: bool = True) -> Path:
    """Train and save the guard model to `<output_dir>/model`; returns that path."""
    from peft import LoraConfig, get_peft_model
    from tqdm import tqdm

    start = time.time()
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.output_dir)
    records = read_jsonl(cfg.train_file)  # bad rows are named before anything is created or loaded
    data_hash = file_sha256(cfg.train_file)
    run_meta = run_identity(cfg, data_hash)
    done = finished_run(out, run_meta)
    if done is not None:
        progress(f"{done} is already trained with these settings and data; nothing to do")
        return done
    out.mkdir(parents=True, exist_ok=True)
    model, tok, base_dir = load_base(cfg.base, progress=progress)
    manifest = read_manifest(base_dir)
    tmap = ensure_label_tokens(tok, model)
    input_rows = init_label_rows(model, tok, tmap)
    examples = build_examples(records, tok, tmap, cfg)
    reply_vocab, reply_lookup = build_reply_vocab(examples, tmap, output_matrix(model).shape[0])
    reply_rows = output_matrix(model).detach()[reply_vocab].clone()
    n_tokens = sum(len(e.input_ids) for e in examples)
    progress(f"{len(examples)} examples, {n_tokens} tokens, reply vocabulary {len(reply_vocab)} tokens")

    for p in model.parameters():
        p.requires_grad_(False)
    bf16 = cfg.precision == "bf16"
    if bf16:  # frozen weights in bf16; PEFT keeps the adapter it adds in fp32 (autocast_adapter_dtype)
        model.to(torch.bfloat16)
    layers = cfg.layer_indices(len(find_layers(model)))
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(cfg.lora_targets),
        layers_to_transform=layers,
        bias="none",
    )
    model = get_peft_model(model, lora)
    model.to(device)
    model.train()
    label_rows = torch.nn.Parameter(input_rows.clone().to(device))
    reply_rows, reply_lookup = reply_rows.to(device), reply_lookup.to(device)
    body = decoder(model)

    batches = bucketed_batches(examples, cfg.batch_size, cfg.seed, cfg.epochs)
    total_steps = len(batches) if not cfg.max_steps else min(cfg.max_steps, len(batches))
    lora_params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": lora_params, "lr": cfg.lr}, {"params": [label_rows], "lr": cfg.head_lr}],
        weight_decay=cfg.weight_decay,
    )

    def lr_lambda(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        frac = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    weights = _trained_weights(model, label_rows)  # the live tensors: the optimizer updates them in place
    # the weights after steps first..total_steps are averaged (swa_from=0.5 over 2 epochs: the second epoch)
    average = RunningMean(int(cfg.swa_from * total_steps) + 1) if cfg.swa_from else None
    step = 0
    earlier_seconds = 0.0  # training time of the sessions before a resume
    ckpt = out / CKPT / "state.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False, map_location=device)
        differ = identity_differences(state["meta"]["config"], state["meta"]["data_sha256"], run_meta)
        if differ:
            raise RuntimeError(
                f"{ckpt} was made with other settings ({', '.join(differ)} differ); run with those, or remove "
                f"{out / CKPT} to start over"
            )
        with torch.no_grad():
            for k, v in state["trainable"].items():
                weights[k].copy_(v)
        if average is not None:
            average.load_state_dict(state["average"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        earlier_seconds = state.get("seconds", 0.0)
        progress(f"resuming from step {step}/{total_steps}")

    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    bar = tqdm(total=total_steps, initial=step, desc="train", disable=not show_bar, smoothing=0.05)
    ema: dict[str, float] = {}
    while step < total_steps:
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in batches[step]], pad).items()}
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            hidden = body(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
            ).last_hidden_state
        parts = multitask_loss(  # the heads and the loss in fp32 whatever the decoder ran in
            hidden.float(),
            batch["labels"],
            label_rows,
            reply_rows,
            reply_lookup,
            tmap,
            cfg.detect_weight,
            cfg.reply_weight,
            cfg.rank_weight,
        )
        parts.total.backward()
        torch.nn.utils.clip_grad_norm_(lora_params + [label_rows], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        if average is not None:
            average.update(step, weights)
        for k in ("label", "category", "reply", "rank"):
            value = getattr(parts, k)
            if value:  # a batch without targets of this kind says nothing about it
                ema[k] = 0.95 * ema.get(k, value) + 0.05 * value
        bar.update(1)
        bar.set_postfix({k: f"{v:.3f}" for k, v in ema.items()})
        if step % cfg.save_every == 0 and step < total_steps:
            _save_checkpoint(out, step, weights, opt, sched, run_meta, average, earlier_seconds + time.time() - start)
    bar.close()

    final = out / "model"
    meta = {
        "format_version": 1,
        "base": cfg.base,
        "base_weights_sha256": manifest.weights_sha256 if manifest else None,
        "base_source_sha256": manifest.source_sha256 if manifest else None,
        "label_tokens": dict(zip(LABEL_TOKEN_NAMES, token_strings(tok))),
        "train_data_sha256": data_hash,
        # the guard reads a text this long whole (longer ones sentence by sentence): what the model was trained on
        "whole_tokens": max(WINDOW_TOKENS, cfg.max_prompt_tokens),
        "train_examples": len(examples),
        "train_tokens": n_tokens,
        "steps": step,
        "train_seconds": round(earlier_seconds + time.time() - start, 1),  # all sessions of a resumed run
        "final_loss_ema": {k: round(v, 4) for k, v in ema.items()},
        "weights": f"step {step}",
        "config": cfg.to_dict(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }
    if average is not None:  # the last step's weights beside the averaged model, which replaces them in memory
        save_guard_artifacts(out / "last", model, input_rows, label_rows, reply_vocab, meta)
        write_card(out / "last")
        average.copy_into(weights)
        meta["weights"] = f"mean of steps {average.first_step}-{step} ({average.count} steps)"
    shutil.rmtree(final / "dev_eval", ignore_errors=True)  # an earlier model's results must not describe this one
    save_guard_artifacts(final, model, input_rows, label_rows, reply_vocab, meta)
    write_card(final)  # replaces PEFT's empty template; `suho train` rewrites it with the dev results
    shutil.rmtree(out / CKPT, ignore_errors=True)
    progress(f"saved {final} after {step} steps in {meta['train_seconds']:.0f} s")
    (out / "train_meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return final
