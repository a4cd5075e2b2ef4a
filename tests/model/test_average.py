import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from suho.model.adapter import ADAPTER_FILE, CONFIG_FILE, LABEL_FILE, META_FILE
from suho.model.average import average_guards


def _second_model(src, dst, seed=7, rank=None):
    """A copy of `src` with other LoRA weights and label rows, as a second training seed would give."""
    shutil.copytree(src, dst)
    g = torch.Generator().manual_seed(seed)
    cfg = json.loads((dst / CONFIG_FILE).read_text())
    w = load_file(str(dst / ADAPTER_FILE))
    r = rank or cfg["r"]
    new = {}
    for k, v in w.items():
        shape = (r, v.shape[1]) if ".lora_A." in k else (v.shape[0], r)
        new[k] = torch.randn(shape, generator=g) * 0.05
    save_file(new, str(dst / ADAPTER_FILE))
    if rank:  # a different rank and alpha: the update's scale changes, the average must account for it
        cfg["r"], cfg["lora_alpha"] = rank, 3 * rank
        (dst / CONFIG_FILE).write_text(json.dumps(cfg))
    head = load_file(str(dst / LABEL_FILE))
    head["label_rows"] = head["label_rows"] + torch.randn(head["label_rows"].shape, generator=g)
    save_file(head, str(dst / LABEL_FILE))
    return dst


def _deltas(path):
    cfg = json.loads((path / CONFIG_FILE).read_text())
    w = load_file(str(path / ADAPTER_FILE))
    scale = cfg["lora_alpha"] / cfg["r"]
    pairs = ((k, k.replace(".lora_A.", ".lora_B.")) for k in w if ".lora_A." in k)
    return {a.replace(".lora_A.", "."): scale * w[b] @ w[a] for a, b in pairs}


@pytest.mark.parametrize("rank", [None, 5])
def test_the_average_is_the_mean_of_the_lora_updates_and_of_the_label_rows(tiny_guard, tmp_path, rank):
    a = tiny_guard.artifacts.path
    b = _second_model(a, tmp_path / "b", rank=rank)
    out = average_guards([a, b], tmp_path / "avg")
    da, db, davg = _deltas(a), _deltas(b), _deltas(out)
    assert set(davg) == set(da) and len(davg) > 0
    for k in davg:
        assert torch.allclose(davg[k], (da[k] + db[k]) / 2, atol=1e-6), k
    heads = [load_file(str(p / LABEL_FILE)) for p in (a, b, out)]
    assert torch.allclose(heads[2]["label_rows"], (heads[0]["label_rows"] + heads[1]["label_rows"]) / 2)
    assert torch.equal(heads[2]["reply_vocab"], heads[0]["reply_vocab"])
    meta = json.loads((out / META_FILE).read_text())
    assert [m["path"] for m in meta["averaged_from"]] == [str(a), str(b)]
    src_seconds = json.loads((a / META_FILE).read_text())["train_seconds"]
    assert meta["train_seconds"] == pytest.approx(2 * src_seconds, abs=0.11)


def test_two_seeds_whose_configs_list_target_modules_in_another_order_are_averaged(tiny_guard, tmp_path):
    a = tiny_guard.artifacts.path
    b = _second_model(a, tmp_path / "b")
    cfg = json.loads((b / CONFIG_FILE).read_text())
    assert len(cfg["target_modules"]) > 1  # PEFT saves the set in whatever order it iterated it
    (b / CONFIG_FILE).write_text(json.dumps({**cfg, "target_modules": list(reversed(cfg["target_modules"]))}))
    out = average_guards([a, b], tmp_path / "avg")
    da, db, davg = _deltas(a), _deltas(b), _deltas(out)
    assert all(torch.allclose(davg[k], (da[k] + db[k]) / 2, atol=1e-6) for k in davg)


def test_the_averaged_model_loads_and_its_merged_weights_are_the_mean(tiny_guard, tmp_path):
    from suho.guard import load_guard
    from suho.model.adapter import load_guard_model

    a = tiny_guard.artifacts.path
    b = _second_model(a, tmp_path / "b")
    out = average_guards([a, b], tmp_path / "avg")
    states = [load_guard_model(p)[0].state_dict() for p in (a, b, out)]
    changed = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
    assert changed, "the two models should differ somewhere"
    for k in changed:
        assert torch.allclose(states[2][k], (states[0][k] + states[1][k]) / 2, atol=1e-5), k
    guard = load_guard(out, engine="hf")
    v = guard.detect(["sns 계정 해킹하는 방법 알려줘"])[0]
    assert 0.0 <= v.p_unsafe <= 1.0


def test_models_that_cannot_be_averaged_are_refused_and_nothing_is_written(tiny_guard, tmp_path):
    a = tiny_guard.artifacts.path
    with pytest.raises(ValueError, match="at least two"):
        average_guards([a], tmp_path / "one")
    with pytest.raises(ValueError, match="somewhere else"):
        average_guards([a, a], a)
    other = _second_model(a, tmp_path / "other-base")
    meta = json.loads((other / META_FILE).read_text())
    (other / META_FILE).write_text(json.dumps({**meta, "base_weights_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="base_weights_sha256"):
        average_guards([a, other], tmp_path / "x")
    vocab = _second_model(a, tmp_path / "other-vocab")
    head = load_file(str(vocab / LABEL_FILE))
    head["reply_vocab"] = head["reply_vocab"][:-1]
    save_file(head, str(vocab / LABEL_FILE))
    with pytest.raises(ValueError, match="reply vocabularies"):
        average_guards([a, vocab], tmp_path / "y")
    layers = _second_model(a, tmp_path / "other-layers")
    cfg = json.loads((layers / CONFIG_FILE).read_text())
    (layers / CONFIG_FILE).write_text(json.dumps({**cfg, "target_modules": ["q_proj"]}))
    with pytest.raises(ValueError, match="target_modules"):
        average_guards([a, layers], tmp_path / "z")
    with pytest.raises(FileNotFoundError, match="not a suho model directory"):
        average_guards([a, tmp_path], tmp_path / "w")
    assert not any((tmp_path / d).exists() for d in ("one", "x", "y", "z", "w"))


def test_cli_average(tiny_guard, tmp_path, capsys):
    from suho.cli.main import main

    a = tiny_guard.artifacts.path
    b = _second_model(a, tmp_path / "b")
    assert main(["model", "average", str(tmp_path / "avg"), str(a), str(b)]) == 0
    assert "the average of 2 models" in capsys.readouterr().out
    assert (tmp_path / "avg" / ADAPTER_FILE).is_file()
    assert main(["model", "average", str(tmp_path / "bad"), str(a)]) != 0
    assert "at least two" in capsys.readouterr().err
    stamp = (tmp_path / "avg" / ADAPTER_FILE).stat().st_mtime_ns
    assert main(["model", "average", str(tmp_path / "avg"), str(a), str(b)]) == 2  # exists: refused, kept
    assert "exists and is not empty; pass --force" in capsys.readouterr().err
    assert (tmp_path / "avg" / ADAPTER_FILE).stat().st_mtime_ns == stamp
    assert main(["model", "average", "--force", str(tmp_path / "avg"), str(a), str(b)]) == 0
