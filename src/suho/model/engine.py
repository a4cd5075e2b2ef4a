"""Engine selection: which code runs a guard model directory, on which device.

`fast` is suho's own Gemma 3 decoder (`suho.model.fast`: merged weights cached once and memory-mapped, CPU only,
fp32 or int8); `hf` is transformers + PEFT, the reference path, which runs any base on a CPU or a GPU in fp32;
`auto` takes fast when the base is one it reproduces and the device is the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from suho.model.adapter import GuardArtifacts, decoder, load_guard_model, output_matrix
from suho.model.fast import FastGemma3
from suho.model.format import WINDOW_TOKENS, TokenMap

ENGINES = ("auto", "fast", "hf")


@dataclass(frozen=True)
class LoadedModel:
    """A trained guard model ready to run, whichever engine runs it."""

    body: Any  # FastGemma3, or a transformers model's decoder body: ids -> .last_hidden_state (and .cache)
    tokenizer: Any
    tmap: TokenMap
    artifacts: GuardArtifacts
    device: torch.device
    hf_model: Any = None  # the merged transformers model (hf engine), else None

    @property
    def whole_tokens(self) -> int:
        """The longest query the model reads whole (`suho_model.json`; older models: `format.WINDOW_TOKENS`)."""
        return int(self.artifacts.meta.get("whole_tokens", WINDOW_TOKENS))

    @property
    def engine(self) -> str:
        """`fast-fp32` / `fast-int8` or `hf`."""
        return f"fast-{self.body.precision}" if isinstance(self.body, FastGemma3) else "hf"

    def output_matrix(self) -> torch.Tensor:
        """The output embedding matrix (Gemma ties it to the input embeddings, which the fast decoder keeps)."""
        return output_matrix(self.hf_model) if self.hf_model is not None else self.body.embed


def load_model(path: Path, *, engine: str = "auto", precision: str | None = None, device: str = "cpu") -> LoadedModel:
    """Load the guard model at `path` (see the module docstring for `engine`). `precision`: `fp32` or `int8` (fast
    engine only; default `$SUHO_PRECISION`, else fp32). `device`: `cpu`, `cuda`, `cuda:N` or `auto`; a GPU runs the
    hf engine, so `auto` engine picks hf there."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    precision = precision or os.environ.get("SUHO_PRECISION") or "fp32"
    from suho.model.base import resolve_device

    dev = resolve_device(device)
    if dev.type != "cpu":
        if engine == "fast":
            raise ValueError(f"the fast engine runs on the CPU; device {device!r} needs engine='hf' (or 'auto')")
        engine = "hf"
    from suho.model.runtime import load_fast

    fast = load_fast(path, precision=precision) if engine != "hf" else None
    if fast is not None:
        body, tok, tmap, art = fast
        return LoadedModel(body, tok, tmap, art, torch.device("cpu"))
    if engine == "fast":
        raise ValueError(f"the fast engine runs Gemma 3 bases only; {path.name}'s base needs engine='hf'")
    if precision != "fp32":
        raise ValueError(f"precision {precision!r} needs the fast engine (Gemma 3 bases); the hf engine runs fp32")
    model, tok, tmap, art = load_guard_model(path)
    model = model.to(dev)
    return LoadedModel(decoder(model), tok, tmap, art, next(model.parameters()).device, hf_model=model)
