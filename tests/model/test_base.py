import json

import pytest

from suho.model import base as base_mod
from suho.model.base import MANIFEST, cache_dir_for, prepare_base, read_manifest, resolve_device


def test_prepare_from_local_path_then_cache_hit(tiny_base, suho_home, monkeypatch):
    path = prepare_base(str(tiny_base))
    m = read_manifest(path)
    assert m and m.model_type == "gemma3_text" and path.parent.parent == suho_home
    assert (path / "tokenizer.json").is_file()

    def boom(*a, **k):
        raise AssertionError("must not reload: cache is complete")

    monkeypatch.setattr(base_mod, "_load_for_conversion", boom)
    assert prepare_base(str(tiny_base)) == path


def test_half_written_cache_is_never_used(tiny_base, suho_home):
    target = cache_dir_for(str(tiny_base))
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"truncated")  # killed before the manifest was written
    assert read_manifest(target) is None
    path = prepare_base(str(tiny_base))
    assert read_manifest(path) is not None


def test_corrupt_manifest_or_size_mismatch_is_rejected(tiny_base, suho_home):
    path = prepare_base(str(tiny_base))
    mf = json.loads((path / MANIFEST).read_text())
    mf["weights_bytes"] += 1
    (path / MANIFEST).write_text(json.dumps(mf))
    assert read_manifest(path) is None
    (path / MANIFEST).write_text("{not json")
    assert read_manifest(path) is None


def test_no_temp_dirs_left_behind(tiny_base, suho_home):
    prepare_base(str(tiny_base))
    leftovers = [p for p in (suho_home / "base").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_unknown_base_is_a_clear_error(suho_home, tmp_path):
    with pytest.raises(base_mod.BaseModelError, match="cannot load base model"):
        prepare_base(str(tmp_path / "does-not-exist"))


def test_resolve_device(monkeypatch):
    import torch

    assert resolve_device("cpu") == resolve_device(" CPU ") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")  # no GPU: auto trains and serves on the CPU
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        resolve_device("cuda")  # asked for a GPU explicitly: an error, not a silent fall-back
    for bad in ("tpu", "gpu", "cuda:x", "mps"):
        with pytest.raises(ValueError, match="expected cpu, cuda, cuda:N or auto"):
            resolve_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match="sees 1 GPU"):
        resolve_device("cuda:1")
