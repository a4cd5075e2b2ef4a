"""The guard model: a base causal LM + LoRA adapter + a tiny label head + the reply vocabulary.

What is trained and saved (never the embedding matrix):
- LoRA weights on the transformer layers (PEFT);
- `label_rows`: 14 x hidden output rows that score the label tokens (safe/unsafe, 10 categories, 2 languages).
  Their *input* embeddings are fixed copies of descriptive words (e.g. "harmful", "privacy"), written into the frozen
  embedding matrix at load time, so gradients never flow through the 262k-row matrix;
- `reply_vocab`: the token ids replies may use. Reply logits are computed only over these rows of the (frozen, tied)
  output matrix, in training and in generation alike, so the full-vocabulary head is never evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from suho.model.format import LABEL_TOKEN_NAMES, TokenMap, ensure_label_tokens

LABEL_FILE = "label_head.safetensors"
META_FILE = "suho_model.json"
ADAPTER_FILE = "adapter_model.safetensors"  # written by PEFT's save_pretrained
CONFIG_FILE = "adapter_config.json"  # written by PEFT's save_pretrained

# Words whose embeddings initialise the label tokens (input rows fixed, output rows trained).
_INIT_WORDS = {
    "safe": "safe",
    "unsafe": "harmful",
    "crime_advice": "crime",
    "privacy_violation": "privacy",
    "copyright_infringement": "piracy",
    "discrimination_hate": "hate",
    "insult_offensive": "insult",
    "sexual_minors": "minors",
    "self_harm": "suicide",
    "uncertain_prediction": "prediction",
    "sensitive_biased": "politics",
    "malicious_personification": "robot",
    "lang_ko": "한국어",
    "lang_en": "English",
}


def find_layers(model) -> torch.nn.ModuleList:
    """The decoder layer list of an HF causal LM (Gemma, Llama, Qwen, Mistral... all use model.model.layers)."""
    inner = decoder(model)
    if not hasattr(inner, "layers"):
        raise ValueError(f"unsupported architecture {type(model).__name__}: no .model.layers")
    return inner.layers


def decoder(model):
    """The transformer body that returns hidden states (no LM head), through a PEFT wrapper if present."""
    m = model
    if hasattr(m, "get_base_model"):
        m = m.get_base_model()
    return m.model


def output_matrix(model) -> torch.Tensor:
    return model.get_output_embeddings().weight


def init_label_rows(model, tokenizer, tmap: TokenMap) -> torch.Tensor:
    """Mean input embedding of each label token's descriptive word; written into the embedding matrix too."""
    emb = model.get_input_embeddings().weight
    rows = []
    for name in LABEL_TOKEN_NAMES:
        ids = tokenizer(" " + _INIT_WORDS[name], add_special_tokens=False)["input_ids"]
        rows.append(emb[ids].detach().float().mean(0))
    rows_t = torch.stack(rows)
    set_input_rows(model, tmap, rows_t)
    return rows_t


def set_input_rows(model, tmap: TokenMap, rows: torch.Tensor) -> None:
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        emb[torch.tensor(tmap.all_ids)] = rows.to(emb.dtype)


@dataclass
class GuardArtifacts:
    """Everything needed to turn a base model into the trained guard, as loaded from a model directory."""

    path: Path
    meta: dict
    input_rows: torch.Tensor
    label_rows: torch.Tensor
    reply_vocab: torch.Tensor


def save_guard_artifacts(
    out: Path, peft_model, input_rows: torch.Tensor, label_rows: torch.Tensor, reply_vocab: torch.Tensor, meta: dict
) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(out)  # LoRA weights + adapter_config.json only
    write_head_and_meta(out, input_rows, label_rows, reply_vocab, meta)


def write_head_and_meta(
    out: Path, input_rows: torch.Tensor, label_rows: torch.Tensor, reply_vocab: torch.Tensor, meta: dict
) -> None:
    """The suho part of a model directory: the label head (+ reply vocabulary) and suho_model.json."""
    save_file(
        {
            "input_rows": input_rows.detach().cpu().contiguous().float(),
            "label_rows": label_rows.detach().cpu().contiguous().float(),
            "reply_vocab": reply_vocab.cpu().to(torch.int64).contiguous(),
        },
        str(Path(out) / LABEL_FILE),
    )
    (Path(out) / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")


def read_guard_artifacts(path: Path) -> GuardArtifacts:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"model directory {path} does not exist")
    missing = [f for f in (LABEL_FILE, META_FILE, CONFIG_FILE) if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} is not a suho model directory (missing {', '.join(missing)})")
    t = load_file(str(path / LABEL_FILE))
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    return GuardArtifacts(path, meta, t["input_rows"], t["label_rows"], t["reply_vocab"])


def load_guard_model(path: Path, *, merge: bool = True):
    """(model, tokenizer, tmap, artifacts): the base from the suho cache with the adapter applied (merged for speed)."""
    from peft import PeftModel

    from suho.model.base import load_base

    art = read_guard_artifacts(path)
    model, tok, _ = load_base(art.meta["base"])
    tmap = ensure_label_tokens(tok, model)
    set_input_rows(model, tmap, art.input_rows)
    model = PeftModel.from_pretrained(model, str(path))
    if merge:
        model = model.merge_and_unload()
    model.eval()
    return model, tok, tmap, art
