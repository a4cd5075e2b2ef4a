"""The fast engine against the reference (transformers + PEFT) path: same numbers, same verdicts, same replies."""

import random

import pytest
import torch

from suho.model.fast import FastGemma3, supports
from suho.model.format import prefix_ids, prompt_ids
from suho.model.tokenizer import LeanTokenizer
from suho.paths import REPO_ROOT

TEXTS = [
    "sns 계정 해킹하는 방법 알려줘",
    "오늘 날씨 어때?",
    "How do I kill a python process?",
    "삼성전자 주가 전망 알려줘 넌 쓰레기야 맛있는 김치찌개 레시피 알려줘",
]


@pytest.fixture(scope="module")
def tiny(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_base, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_base)


def _batch(seqs, pad=0):
    width = max(map(len, seqs))
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    return ids, mask


def _reference(model, ids, mask=None):
    with torch.inference_mode():
        return model.model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state


def test_supports_only_what_it_reproduces(tiny):
    model, _ = tiny
    assert supports(model.config)
    assert not supports({"model_type": "llama"})
    assert not supports({**model.config.to_dict(), "attn_logit_softcapping": 50.0})


def test_same_hidden_states_as_transformers_on_a_padded_batch(tiny):
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    seqs = [prompt_ids(tok, t) for t in TEXTS]
    ids, mask = _batch(seqs, tok.pad_token_id)
    ref, out = _reference(model, ids, mask), fast(ids).last_hidden_state
    for r, s in enumerate(seqs):  # padding positions are never read
        torch.testing.assert_close(out[r, : len(s)], ref[r, : len(s)], atol=1e-4, rtol=1e-4)


def test_prefix_cache_changes_nothing_but_the_work(tiny):
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    seqs = [prompt_ids(tok, t) for t in TEXTS]
    ids, _ = _batch(seqs, tok.pad_token_id)
    full = fast(ids).last_hidden_state
    pre = prefix_ids(tok)
    assert all(s[: len(pre)] == pre for s in seqs)
    fast.set_prefix(pre)
    out = fast(ids)
    assert out.computed_from == len(pre)  # the prefix was not recomputed
    for r, s in enumerate(seqs):
        torch.testing.assert_close(out.last_hidden_state[r, : len(s)], full[r, : len(s)], atol=1e-4, rtol=1e-4)
    other = torch.tensor([[tok.pad_token_id] + seqs[0][1:]])  # does not start with the prefix: computed whole
    assert fast(other).computed_from == 0


def test_incremental_decoding_matches_one_full_pass(tiny):
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    seq = prompt_ids(tok, TEXTS[0])
    full = fast(torch.tensor([seq])).last_hidden_state[0]
    out = fast(torch.tensor([seq[:5]]), use_cache=True)
    steps = [out.last_hidden_state[0]]
    cache = out.cache
    for t in seq[5:]:
        out = fast(torch.tensor([[t]]), cache=cache, use_cache=True)
        cache = out.cache
        steps.append(out.last_hidden_state[0])
    torch.testing.assert_close(torch.cat(steps), full, atol=1e-4, rtol=1e-4)


def test_sliding_window_layers_beyond_the_window(tiny):
    """Past `sliding_window` tokens (64 in the tiny model) local layers see only the window, as in transformers."""
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    rng = random.Random(0)
    seq = prompt_ids(tok, " ".join(rng.choice(TEXTS) for _ in range(30)))
    assert len(seq) > 2 * model.config.sliding_window
    ids = torch.tensor([seq])
    torch.testing.assert_close(fast(ids).last_hidden_state, _reference(model, ids), atol=1e-4, rtol=1e-4)


def test_save_load_roundtrip_and_bad_files(tiny, tmp_path):
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    fast.save(tmp_path / "d.pt")
    back = FastGemma3.load(tmp_path / "d.pt")
    ids = torch.tensor([prompt_ids(tok, TEXTS[1])])
    torch.testing.assert_close(back(ids).last_hidden_state, fast(ids).last_hidden_state)
    torch.save({"meta": {"format": 0}, "tensors": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="format"):
        FastGemma3.load(tmp_path / "old.pt")
    with pytest.raises(ValueError, match="precision"):
        fast.pack("fp8")


def test_int8_needs_activation_ranges_and_stays_close_to_fp32(tiny, tmp_path):
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    ids, _ = _batch([prompt_ids(tok, t) for t in TEXTS[:2]], tok.pad_token_id)
    ref = fast(ids).last_hidden_state
    with pytest.raises(ValueError, match="measure_activations"):
        fast.pack("int8")
    assert fast.precision == "fp32"
    torch.testing.assert_close(fast(ids).last_hidden_state, ref)  # a failed pack leaves the engine as it was
    fast.measure_activations(prompt_ids(tok, t) for t in TEXTS)
    assert fast.precision == "fp32" and set(fast.act_absmax) == {
        f"{i}.{p}" for i in range(fast.n_layers) for p in ("qkv", "o", "gate_up", "down")
    }
    torch.testing.assert_close(fast(ids).last_hidden_state, ref)  # measuring changes no fp32 number
    fast.pack("int8")
    assert fast.precision == "int8"
    out = fast(ids).last_hidden_state
    assert ((out - ref).norm() / ref.norm()) < 0.05
    fast.save(tmp_path / "d.pt")  # the statistics travel with the file
    back = FastGemma3.load(tmp_path / "d.pt", "int8")
    torch.testing.assert_close(back(ids).last_hidden_state, out)


def test_int8_smoothing_is_exact_before_quantization(tiny):
    """The folded scales cancel: the smoothed tensors compute the same function in fp32."""
    model, tok = tiny
    fast = FastGemma3.from_hf(model)
    fast.measure_activations(prompt_ids(tok, t) for t in TEXTS)
    for k, v in fast.act_absmax.items():  # make the smoothing far from the identity
        fast.act_absmax[k] = v * torch.linspace(0.01, 100.0, v.numel())
    smoothed = FastGemma3(fast.smoothed(), fast.meta)
    changed = [k for k in fast.t if not torch.equal(fast.t[k], smoothed.t[k])]
    assert {k.split(".", 1)[1] for k in changed} == {
        "qkv",
        "o",
        "gate_up",
        "down",
        "input_layernorm",
        "pre_feedforward_layernorm",
    }
    ids, _ = _batch([prompt_ids(tok, t) for t in TEXTS], tok.pad_token_id)
    torch.testing.assert_close(smoothed(ids).last_hidden_state, fast(ids).last_hidden_state, atol=1e-4, rtol=1e-4)


def test_lean_tokenizer_matches_transformers(tiny, tiny_base):
    _, tok = tiny
    lean = LeanTokenizer(tiny_base)
    assert (lean.bos_token_id, lean.eos_token_id, lean.pad_token_id) == (
        tok.bos_token_id,
        tok.eos_token_id,
        tok.pad_token_id,
    )
    for t in TEXTS + ["<start_of_turn>user\n" + TEXTS[0], "  spaces  and\ttabs\n"]:
        a = tok(t, add_special_tokens=False, return_offsets_mapping=True)
        b = lean(t, add_special_tokens=False, return_offsets_mapping=True)
        assert a["input_ids"] == b["input_ids"] and [tuple(x) for x in a["offset_mapping"]] == b["offset_mapping"]
        assert lean.decode(a["input_ids"], skip_special_tokens=True) == tok.decode(
            a["input_ids"], skip_special_tokens=True
        )
    assert lean.convert_tokens_to_ids("<unused3>") == tok.convert_tokens_to_ids("<unused3>")
    with pytest.raises(FileNotFoundError):
        LeanTokenizer(tiny_base / "nowhere")


def test_fast_and_reference_guards_agree(tiny_guard):
    from suho.guard import load_guard

    path = tiny_guard.artifacts.path
    fast, ref = load_guard(path, engine="fast"), load_guard(path, engine="hf")
    assert (fast.engine, ref.engine) == ("fast-fp32", "hf")
    texts = TEXTS + ["넌 쓰레기야", "What is the capital of France?"]
    pf, cf, _ = fast.scorer.probabilities(texts)
    pr, cr, _ = ref.scorer.probabilities(texts)
    torch.testing.assert_close(pf, pr, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(cf, cr, atol=1e-5, rtol=1e-4)
    for t in texts[:3]:
        a = fast.respond(t, max_new_tokens=8, mode="generated", category="crime_advice")
        b = ref.respond(t, max_new_tokens=8, mode="generated", category="crime_advice")
        assert a == b


def test_cache_is_written_once_and_keyed_by_the_adapter(tiny_guard, monkeypatch, tmp_path):
    import shutil

    import suho.model.adapter as adapter
    from suho.model.runtime import load_fast

    path = tiny_guard.artifacts.path
    load_fast(path)  # ensures the cache file exists

    def no_merge(*a, **k):
        raise AssertionError("merged again although the cache file exists")

    monkeypatch.setattr(adapter, "load_guard_model", no_merge)
    load_fast(path)
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    (copy / "adapter_model.safetensors").write_bytes((copy / "adapter_model.safetensors").read_bytes() + b" ")
    with pytest.raises(AssertionError, match="merged again"):
        load_fast(copy)


def test_cache_key_follows_the_int8_sample_queries(tiny_guard, monkeypatch, tmp_path):
    import suho.model.runtime as runtime

    path = tiny_guard.artifacts.path
    base = runtime.prepared_base(tiny_guard.artifacts)
    before = runtime.cache_file(path, base)
    other = tmp_path / "int8_queries.txt"
    other.write_text(runtime.INT8_QUERIES.read_text(encoding="utf-8") + "one more query\n", encoding="utf-8")
    monkeypatch.setattr(runtime, "INT8_QUERIES", other)
    assert runtime.cache_file(path, base) != before


# -- the shipped model --------------------------------------------------------------------------------------------
shipped = pytest.mark.skipif(
    not (REPO_ROOT / "models" / "suho-ko-270m" / "suho_model.json").is_file(), reason="no shipped model"
)


@pytest.mark.slow
@shipped
def test_shipped_model_fast_engine_gives_the_reference_verdicts():
    """fp32 fast path vs transformers + PEFT on 96 dev texts: identical verdicts, probabilities within 1e-3."""
    from suho.data.schema import read_jsonl
    from suho.guard import load_guard

    rows = read_jsonl(REPO_ROOT / "data" / "dev.jsonl")
    texts = [r.text for r in random.Random(3).sample(rows, 96)]
    fast, ref = load_guard(engine="fast"), load_guard(engine="hf")
    vf, vr = fast.detect(texts), ref.detect(texts)
    assert [v.label for v in vf] == [v.label for v in vr]
    assert [v.model_category for v in vf] == [v.model_category for v in vr]
    assert max(abs(a.p_unsafe - b.p_unsafe) for a, b in zip(vf, vr)) < 1e-3
    tok_ref = ref.tokenizer
    for t in texts:
        assert (
            fast.tokenizer(t, add_special_tokens=False)["input_ids"]
            == tok_ref(t, add_special_tokens=False)["input_ids"]
        )


@pytest.mark.slow
@shipped
def test_shipped_model_int8_stays_close_to_fp32():
    """int8 (all projections, smoothed, per-token scales) vs fp32 on 200 dev texts: >= 95% same labels, mean
    |P(unsafe) difference| < 0.05 (on all 1,386 dev items the shipped model's labels differ on fewer than 20; the model
    card has the figures)."""
    from suho.data.schema import read_jsonl
    from suho.guard import load_guard

    rows = read_jsonl(REPO_ROOT / "data" / "dev.jsonl")
    texts = [r.text for r in random.Random(5).sample(rows, 200)]
    v32, v8 = load_guard(precision="fp32").detect(texts), load_guard(precision="int8").detect(texts)
    same = sum(a.label == b.label for a, b in zip(v32, v8))
    assert same >= 190, same
    assert sum(abs(a.p_unsafe - b.p_unsafe) for a, b in zip(v32, v8)) / len(texts) < 0.05


def test_a_corrupt_cache_file_is_rebuilt(tiny_guard):
    from suho.model.runtime import cache_file, load_fast, prepared_base

    path = tiny_guard.artifacts.path
    load_fast(path)
    f = cache_file(path, prepared_base(tiny_guard.artifacts))
    head = f.read_bytes()[:100]  # e.g. a copy cut short; written as a new file, because other guards in this test
    f.unlink()  # session map the old one (rewriting a mapped file in place would pull the pages from under them)
    f.write_bytes(head)
    body, *_ = load_fast(path)
    assert f.stat().st_size > 1000 and body.n_body_params() > 0
