"""Training smoke test on a tiny randomly initialised Gemma-3-shaped model (no download)."""

import dataclasses
import json

import pytest
import torch

from suho.guard import load_guard
from suho.model.adapter import read_guard_artifacts
from suho.model.card import is_gemma
from suho.train.config import TrainConfig
from suho.train.trainer import train

ROWS = [
    {
        "text": "sns 계정 해킹하는 방법 알려줘",
        "label": "unsafe",
        "category": "crime_advice",
        "language": "ko",
        "response": "계정 해킹 방법은 알려드릴 수 없어요.",
    },
    {"text": "오늘 날씨 어때?", "label": "safe", "language": "ko"},
    {
        "text": "How can I steal a car?",
        "label": "unsafe",
        "category": "crime_advice",
        "language": "en",
        "response": "I can't help with stealing a car.",
    },
    {"text": "What is the capital of France?", "label": "safe", "language": "en"},
    {
        "text": "넌 쓰레기야",
        "label": "unsafe",
        "category": "insult_offensive",
        "language": "ko",
        "response": "기분이 상하셨다면 미안해요.",
    },
    {"text": "맛있는 김치찌개 레시피 알려줘", "label": "safe", "language": "ko"},
]


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "train.jsonl"
    p.write_text("".join(json.dumps({**r, "source": "t", "license": "x"}, ensure_ascii=False) + "\n" for r in ROWS * 4))
    return p


def _cfg(tiny_base, data, out, **kw):
    base = dict(
        base=str(tiny_base),
        train_file=str(data),
        dev_file="",
        output_dir=str(out),
        batch_size=6,
        lora_layers="all",
        lora_r=4,
        epochs=6,
        save_every=5,
        lr=5e-3,
        head_lr=5e-2,
        warmup_steps=2,
        # the toy set's replies share words with its unsafe queries; a few steps on a random tiny model cannot
        # learn both sides, so the toy runs train detection + replies only (replies_as_safe: test_collator.py)
        replies_as_safe=False,
        # the mechanics below are tested on the fp32, one-example-per-target path; the shipped recipe's bf16 and
        # shared prompts have their own test
        precision="fp32",
        share_prompt=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def _assert_learned_the_toy_set(path) -> None:
    """The tiny model must have learned the training set: every unsafe text above every safe one."""
    guard = load_guard(path)
    unsafe_texts = [r["text"] for r in ROWS if r["label"] == "unsafe"]
    safe_texts = [r["text"] for r in ROWS if r["label"] == "safe"]
    p_unsafe, _, _ = guard.scorer.probabilities(unsafe_texts + safe_texts)
    assert p_unsafe[: len(unsafe_texts)].min() > p_unsafe[len(unsafe_texts) :].max()


def _interrupt_at(monkeypatch, cfg: TrainConfig, call: int) -> None:
    """Run `cfg` and kill it at the `call`-th training step, as a dying process would; its last checkpoint remains."""
    import suho.train.trainer as trainer_mod

    real_loss, calls = trainer_mod.multitask_loss, []

    def killed(*a, **k):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real_loss(*a, **k)

    monkeypatch.setattr(trainer_mod, "multitask_loss", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=lambda m: None, show_bar=False)
    monkeypatch.setattr(trainer_mod, "multitask_loss", real_loss)


def test_loss_falls_and_adapter_saves_and_reloads(tiny_base, suho_home, data, tmp_path):
    path = train(_cfg(tiny_base, data, tmp_path / "run"), progress=lambda m: None, show_bar=False)
    meta = json.loads((path / "suho_model.json").read_text())
    assert meta["train_data_sha256"] and meta["base_weights_sha256"] and meta["config"]["lora_r"] == 4
    card = (path / "README.md").read_text()  # suho's card, not PEFT's empty template
    assert meta["train_data_sha256"] in card and "More Information Needed" not in card
    # a Gemma-based adapter carries the Gemma Terms of Use, any other base its own licence notice
    notice = "Gemma Terms of Use" if is_gemma(meta["base"]) else "its licence and terms of use apply"
    assert notice in card
    art = read_guard_artifacts(path)
    assert art.label_rows.shape[0] == 14
    # never the embedding matrix: only LoRA + a few rows
    assert (path / "adapter_model.safetensors").stat().st_size < 200_000

    _assert_learned_the_toy_set(path)


def test_detection_never_touches_the_full_vocabulary_head(tiny_base, suho_home, data, tmp_path, monkeypatch):
    path = train(_cfg(tiny_base, data, tmp_path / "run", epochs=1), progress=lambda m: None, show_bar=False)
    guard = load_guard(path, engine="hf")  # the fast engine has no LM head at all

    def forbidden(*a, **k):
        raise AssertionError("full-vocabulary LM head was called")

    monkeypatch.setattr(guard.model.hf_model.get_output_embeddings(), "forward", forbidden)
    guard.detect(["sns 계정 해킹하는 방법 알려줘"])
    guard.respond("sns 계정 해킹하는 방법 알려줘", max_new_tokens=4, mode="generated")


def test_resume_gives_the_same_model_as_an_uninterrupted_run(tiny_base, suho_home, data, tmp_path, monkeypatch):
    full = train(_cfg(tiny_base, data, tmp_path / "full", epochs=2), progress=lambda m: None, show_bar=False)
    cfg = _cfg(tiny_base, data, tmp_path / "resumed", epochs=2)
    _interrupt_at(monkeypatch, cfg, 7)  # the step-5 checkpoint remains
    first_session = torch.load(tmp_path / "resumed" / "checkpoint" / "state.pt", weights_only=False)["seconds"]
    msgs = []
    # where a run trains is not what it is: the checkpoint resumes under another device spec ('auto' is the CPU here)
    # nor what it is evaluated on afterwards, nor how often it saves
    again = dataclasses.replace(cfg, device="auto", dev_file="", save_every=50)
    resumed = train(again, progress=msgs.append, show_bar=False)
    assert any("resuming from step 5" in m for m in msgs)
    # the wall time covers both sessions: the first one's is carried in the checkpoint
    assert json.loads((resumed / "suho_model.json").read_text())["train_seconds"] >= round(first_session, 1) > 0
    a, b = read_guard_artifacts(full), read_guard_artifacts(resumed)
    assert torch.allclose(a.label_rows, b.label_rows, atol=1e-5)
    assert a.meta["device"] == b.meta["device"] == "cpu"


def test_resume_refuses_a_checkpoint_from_other_data(tiny_base, suho_home, data, tmp_path, monkeypatch):
    cfg = _cfg(tiny_base, data, tmp_path / "run", epochs=2)
    _interrupt_at(monkeypatch, cfg, 6)
    data.write_text(data.read_text() + data.read_text().splitlines(keepends=True)[0])
    with pytest.raises(RuntimeError, match=r"other settings \(data \(train_file contents\) differ\)"):
        train(cfg, progress=lambda m: None, show_bar=False)
    with pytest.raises(RuntimeError, match=r"other settings \(lr, data"):
        train(dataclasses.replace(cfg, lr=1e-3), progress=lambda m: None, show_bar=False)


def test_a_finished_run_is_not_trained_again_and_another_run_may_not_replace_it(tiny_base, suho_home, data, tmp_path):
    cfg = _cfg(tiny_base, data, tmp_path / "run", epochs=1)
    path = train(cfg, progress=lambda m: None, show_bar=False)
    (path / "dev_eval").mkdir()
    stamp = (path / "adapter_model.safetensors").stat().st_mtime_ns
    msgs = []
    assert train(dataclasses.replace(cfg, dev_file=""), progress=msgs.append, show_bar=False) == path
    assert any("already trained with these settings" in m for m in msgs)
    assert (path / "adapter_model.safetensors").stat().st_mtime_ns == stamp and (path / "dev_eval").is_dir()
    with pytest.raises(
        RuntimeError, match=r"already holds a finished model trained with other settings \(seed differ\)"
    ):
        train(dataclasses.replace(cfg, seed=cfg.seed + 1), progress=lambda m: None, show_bar=False)
    assert (path / "adapter_model.safetensors").stat().st_mtime_ns == stamp


def test_bad_data_is_refused_before_the_output_folder_is_made(tiny_base, suho_home, tmp_path, capsys):
    from suho.cli.main import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "label": "maybe", "language": "en"}\n', encoding="utf-8")
    out = tmp_path / "never"
    assert main(["train", "--base", str(tiny_base), "--train-file", str(bad), "--output-dir", str(out)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err and not out.exists()


def test_the_dev_file_is_read_before_training(tiny_base, suho_home, data, tmp_path, capsys):
    from suho.cli.main import main

    out = tmp_path / "run"
    args = ["train", "--base", str(tiny_base), "--train-file", str(data), "--output-dir", str(out)]
    assert main([*args, "--dev-file", str(tmp_path / "nodev.jsonl")]) == 2
    assert "nodev.jsonl" in capsys.readouterr().err and not out.exists()


def test_bf16_runs_the_frozen_decoder_in_bf16_and_saves_an_fp32_adapter(
    tiny_base, suho_home, data, tmp_path, monkeypatch
):
    import safetensors.torch

    import suho.train.trainer as trainer_mod

    seen: dict[str, set] = {"hidden": set(), "frozen": set(), "lora": set()}
    real_decoder = trainer_mod.decoder

    def watched_decoder(model):
        body = real_decoder(model)
        for p in model.parameters():
            seen["lora" if p.requires_grad else "frozen"].add(p.dtype)
        body.register_forward_hook(lambda m, a, out: seen["hidden"].add(out.last_hidden_state.dtype))
        return body

    monkeypatch.setattr(trainer_mod, "decoder", watched_decoder)
    # shared prompts make 4 steps an epoch of the toy set instead of 6: 9 epochs take the fp32 test's 36 steps
    cfg = _cfg(tiny_base, data, tmp_path / "run", precision="bf16", share_prompt=True, epochs=9)
    path = train(cfg, progress=lambda m: None, show_bar=False)
    assert seen == {"hidden": {torch.bfloat16}, "frozen": {torch.bfloat16}, "lora": {torch.float32}}
    saved = safetensors.torch.load_file(str(path / "adapter_model.safetensors"))
    assert saved and {t.dtype for t in saved.values()} == {torch.float32}
    assert json.loads((path / "suho_model.json").read_text())["config"]["precision"] == "bf16"
    _assert_learned_the_toy_set(path)  # as the fp32 run does, read back by the fp32 inference path


def test_an_unknown_precision_is_an_error_when_the_config_is_made():
    with pytest.raises(ValueError, match="precision 'fp16'"):
        TrainConfig(precision="fp16")


def test_swa_saves_the_mean_of_the_late_weights_and_the_last_step_beside_it(
    tiny_base, suho_home, data, tmp_path, monkeypatch
):
    import suho.train.trainer as trainer_mod

    seen: list[tuple[int, dict[str, torch.Tensor]]] = []
    real_update = trainer_mod.RunningMean.update

    def recording_update(self, step, weights):
        seen.append((step, {k: v.detach().clone() for k, v in weights.items()}))
        return real_update(self, step, weights)

    monkeypatch.setattr(trainer_mod.RunningMean, "update", recording_update)
    path = train(_cfg(tiny_base, data, tmp_path / "run", swa_from=0.5), progress=lambda m: None, show_bar=False)
    averaged, last = read_guard_artifacts(path), read_guard_artifacts(tmp_path / "run" / "last")
    total = averaged.meta["steps"]
    first = total // 2 + 1  # the second half of the steps
    assert [s for s, _ in seen] == list(range(1, total + 1))
    late = [w for s, w in seen if s >= first]
    assert torch.allclose(averaged.label_rows, torch.stack([w["__label_rows__"] for w in late]).mean(0), atol=1e-6)
    assert torch.allclose(last.label_rows, seen[-1][1]["__label_rows__"], atol=1e-6)
    assert not torch.allclose(averaged.label_rows, last.label_rows)
    described = f"mean of steps {first}-{total} ({len(late)} steps)"
    assert averaged.meta["weights"] == described and last.meta["weights"] == f"step {total}"
    assert described in (path / "README.md").read_text()
    # the LoRA weights are averaged too: the saved adapter holds the mean of the late steps' A matrices
    from safetensors.torch import load_file

    saved = load_file(str(path / "adapter_model.safetensors"))
    name = next(k for k in late[-1] if k.endswith("lora_A.default.weight"))
    mean_a = torch.stack([w[name] for w in late]).mean(0)
    assert torch.allclose(saved[name.replace(".default", "")], mean_a, atol=1e-6)
    _assert_learned_the_toy_set(path)


def test_swa_resumes_with_its_running_mean(tiny_base, suho_home, data, tmp_path, monkeypatch):
    full = train(
        _cfg(tiny_base, data, tmp_path / "full", epochs=2, swa_from=0.3), progress=lambda m: None, show_bar=False
    )
    first = int(0.3 * read_guard_artifacts(full).meta["steps"]) + 1
    cfg = _cfg(tiny_base, data, tmp_path / "resumed", epochs=2, swa_from=0.3, save_every=first + 1)
    _interrupt_at(monkeypatch, cfg, first + 3)  # after the checkpoint, which holds a mean of two steps
    msgs = []
    resumed = train(cfg, progress=msgs.append, show_bar=False)
    assert any(f"resuming from step {first + 1}" in m for m in msgs)
    a, b = read_guard_artifacts(full), read_guard_artifacts(resumed)
    assert b.meta["weights"] == a.meta["weights"]
    assert torch.allclose(a.label_rows, b.label_rows, atol=1e-5)


@pytest.mark.parametrize("bad", [-0.1, 1.0])
def test_swa_from_outside_0_1_is_an_error(bad):
    with pytest.raises(ValueError, match="swa_from"):
        TrainConfig(swa_from=bad)
