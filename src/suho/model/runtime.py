"""Loading a guard for inference the fast way: merged weights cached once, then memory-mapped on every start.

The first load of a model directory builds the guard the reference way (base + PEFT adapter, merged), converts it to
`FastGemma3`, measures the int8 activation ranges on sample queries (`int8_queries.txt`), and writes one file under
`$SUHO_HOME/guards/`, keyed by the hashes of the adapter files, the base weights and those queries, so a
retrained adapter never reuses a stale file. Every later start reads that file with `mmap` and the tokenizer with
`tokenizers` alone: no `transformers` or `peft` import, no merge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from suho.model.adapter import (
    ADAPTER_FILE,
    CONFIG_FILE,
    LABEL_FILE,
    META_FILE,
    GuardArtifacts,
    read_guard_artifacts,
)
from suho.model.fast import FORMAT_VERSION, FastGemma3, supports
from suho.model.format import TokenMap, ensure_label_tokens, prefix_ids, prompt_ids
from suho.model.tokenizer import LeanTokenizer
from suho.paths import suho_home
from suho.text.normalize import normalize_query

INT8_QUERIES = Path(__file__).parent / "int8_queries.txt"
_KEY_FILES = (ADAPTER_FILE, CONFIG_FILE, LABEL_FILE, META_FILE)


def prepared_base(art: GuardArtifacts) -> Path:
    """The local cache directory of the base model a guard was trained on (prepared on first use)."""
    from suho.model.base import prepare_base

    return prepare_base(art.meta["base"])


def cache_file(model_dir: Path, base_dir: Path) -> Path:
    h = hashlib.sha256(f"fast-v{FORMAT_VERSION}".encode())
    for name in _KEY_FILES:
        f = Path(model_dir) / name
        if f.is_file():
            h.update(name.encode() + f.read_bytes())
    h.update(INT8_QUERIES.read_bytes())  # the int8 statistics stored in the file come from these queries
    manifest = base_dir / "suho_base.json"
    h.update(manifest.read_bytes() if manifest.is_file() else str(base_dir).encode())
    return suho_home() / "guards" / f"{Path(model_dir).resolve().name}-{h.hexdigest()[:16]}" / "decoder.pt"


def load_fast(
    model_dir: Path, *, precision: str = "fp32", progress: Callable[[str], None] | None = None
) -> tuple[FastGemma3, LeanTokenizer, TokenMap, GuardArtifacts] | None:
    """(decoder, tokenizer, token map, artifacts) for a suho model directory, or None when its base is not one the
    fast decoder reproduces (then the transformers path serves it)."""
    model_dir = Path(model_dir)
    art = read_guard_artifacts(model_dir)
    base_dir = prepared_base(art)
    cfg = base_dir / "config.json"
    if not (cfg.is_file() and supports(json.loads(cfg.read_text(encoding="utf-8")))):
        return None
    path = cache_file(model_dir, base_dir)
    tok = LeanTokenizer(base_dir)
    tmap = ensure_label_tokens(tok)
    body = None
    if path.is_file():
        try:
            body = FastGemma3.load(path, precision)
        except Exception as e:  # truncated or from another torch: rebuild it rather than fail
            if progress:
                progress(f"cached decoder {path} unreadable ({e}); rebuilding it")
            path.unlink(missing_ok=True)
    if body is None:
        from suho.model.adapter import load_guard_model

        if progress:
            progress(f"first load of {model_dir.name}: merging the adapter and caching it in {path.parent}")
        model, _, _, _ = load_guard_model(model_dir)
        built = FastGemma3.from_hf(model)
        del model
        built.set_prefix(prefix_ids(tok))  # the ranges are measured on the query tokens, as they run at inference
        if progress:
            progress("measuring activation ranges for int8 on 256 sample queries")
        built.measure_activations(int8_sequences(tok, tmap))
        built.save(path)
        del built
        body = FastGemma3.load(path, precision)  # memory-mapped, like every later start
    body.set_prefix(prefix_ids(tok))  # the chat prefix's keys/values, computed once for every query
    return body, tok, tmap, art


def int8_sequences(tok, tmap: TokenMap) -> list[list[int]]:
    """The queries of int8_queries.txt as the guard feeds them to the model: normalised prompt + <unsafe>."""
    lines = INT8_QUERIES.read_text(encoding="utf-8").splitlines()
    texts = [t for t in lines if t.strip() and not t.startswith("#")]
    return [prompt_ids(tok, normalize_query(t)) + [tmap.unsafe] for t in texts]
