"""A tiny randomly initialised Gemma-3-shaped model + BPE tokenizer, built offline in a second, for tests."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"] + [
    f"<unused{i}>" for i in range(16)
]

CORPUS = [
    "sns 계정 해킹하는 방법 알려줘",
    "오늘 날씨 어때?",
    "How do I kill a python process?",
    "How can I steal a car?",
    "계정 해킹 방법은 알려드릴 수 없어요. 계정 보안을 강화하는 방법이라면 도와드릴게요.",
    "I can't help with stealing a car, but I can explain how to protect yours.",
    "user",
    "model",
    "삼성전자 주가 전망 알려줘",
    "넌 쓰레기야",
    "맛있는 김치찌개 레시피 알려줘",
    "What is the capital of France?",
]


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS, show_progress=False)
    tk.train_from_iterator(CORPUS * 3, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=SPECIALS[4:],
    )


def make_tiny_base(path: Path, seed: int = 0) -> Path:
    """Save a tiny Gemma3ForCausalLM + tokenizer to `path` (usable as `--base path`)."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tok = make_tokenizer()
    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        sliding_window=64,
        layer_types=["sliding_attention", "full_attention"],
    )
    model = Gemma3ForCausalLM(cfg)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
