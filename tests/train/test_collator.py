import pytest
import torch
import torch.nn.functional as F

from suho.data.schema import Label, Record
from suho.model.format import TokenMap
from suho.train.collator import (
    IGNORE,
    Example,
    build_reply_vocab,
    collate,
    encode,
    encode_detection,
    encode_reply,
    multitask_loss,
    pairwise_rank_loss,
)

TMAP = TokenMap(safe=10, unsafe=11, categories=tuple(range(20, 30)), languages={"ko": 30, "en": 31}, end_of_turn=5)


class FakeTok:
    """Tokenizer stand-in: one token per character code (so tests can write expected ids by hand)."""

    bos_token_id = 2

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [100 + (ord(c) % 50) for c in text]}


def _n_prompt(text):
    return 1 + len("<start_of_turn>user\n" + text + "<end_of_turn>\n<start_of_turn>model\n")


def test_safe_detection_example_targets_only_the_label_token():
    ex = encode_detection(Record("ab", Label.SAFE, None, "en", "s", "x"), FakeTok(), TMAP)
    n = _n_prompt("ab")
    assert len(ex.input_ids) == n  # the label token itself is never fed
    assert ex.labels == [IGNORE] * (n - 1) + [TMAP.safe]


def test_unsafe_detection_example_targets_label_then_category():
    ex = encode_detection(
        Record("ab", Label.UNSAFE, "privacy_violation", "ko", "s", "x", response="no"), FakeTok(), TMAP
    )
    n = _n_prompt("ab")
    assert ex.input_ids[-1] == TMAP.unsafe and len(ex.input_ids) == n + 1
    assert ex.labels == [IGNORE] * (n - 1) + [TMAP.unsafe, 21]


def test_reply_example_targets_reply_and_end_but_not_label_category_language():
    rec = Record("ab", Label.UNSAFE, "privacy_violation", "ko", "s", "x", response="no")
    ex = encode_reply(rec, FakeTok(), TMAP)
    reply = FakeTok()("no")["input_ids"]
    n = _n_prompt("ab")
    assert ex.input_ids[n:] == [TMAP.unsafe, 21, 30] + reply
    assert ex.labels == [IGNORE] * (n + 2) + reply + [TMAP.end_of_turn]
    cut = encode_reply(rec, FakeTok(), TMAP, max_reply_tokens=1)
    assert cut.labels[-2:] == [reply[0], IGNORE]  # a cut reply never learns to stop early
    assert encode_reply(Record("ab", Label.SAFE, None, "en", "s", "x"), FakeTok(), TMAP) is None
    assert len(encode(rec, FakeTok(), TMAP)) == 2


def test_replies_as_safe_adds_the_reply_as_a_safe_detection_example():
    rec = Record("ab", Label.UNSAFE, "self_harm", "ko", "s", "x", response="call 109")
    det, as_safe, reply = encode(rec, FakeTok(), TMAP, replies_as_safe=True)
    assert as_safe == encode_detection(Record("call 109", Label.SAFE, None, "ko", "s", "x"), FakeTok(), TMAP)
    assert as_safe.labels[-1] == TMAP.safe and det.labels[-2:] == [TMAP.unsafe, 26]
    assert reply == encode_reply(rec, FakeTok(), TMAP)
    # safe rows have no reply, so nothing is added
    assert len(encode(Record("ab", Label.SAFE, None, "en", "s", "x"), FakeTok(), TMAP, replies_as_safe=True)) == 1


def test_collate_pads_right_with_ignore():
    batch = collate([Example([1, 2, 3], [IGNORE, IGNORE, 10]), Example([1, 2], [IGNORE, 11])], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [1, 2, 0]]
    assert batch["labels"].tolist() == [[IGNORE, IGNORE, 10], [IGNORE, 11, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


def test_multitask_loss_matches_hand_computed_cross_entropy():
    torch.manual_seed(0)
    h = torch.randn(1, 4, 8)
    label_rows = torch.randn(14, 8)
    labels = torch.tensor([[IGNORE, TMAP.unsafe, 22, 40]])
    vocab, lookup = build_reply_vocab([Example([0], [40, TMAP.end_of_turn])], TMAP, 64)
    assert vocab.tolist() == [TMAP.end_of_turn, 40]
    reply_rows = torch.randn(2, 8)
    parts = multitask_loss(h, labels, label_rows, reply_rows, lookup, TMAP, detect_weight=1.0, reply_weight=0.5)
    want_label = F.cross_entropy((h[0, 1] @ label_rows[:2].T)[None], torch.tensor([1]))
    want_cat = F.cross_entropy((h[0, 2] @ label_rows[2:12].T)[None], torch.tensor([2]))
    want_reply = F.cross_entropy((h[0, 3] @ reply_rows.T)[None], torch.tensor([1]))
    assert torch.isclose(parts.total, want_label + want_cat + 0.5 * want_reply)


def test_reply_token_outside_vocabulary_is_an_error():
    _, lookup = build_reply_vocab([Example([0], [40])], TMAP, 64)
    labels = torch.tensor([[41]])
    try:
        multitask_loss(torch.randn(1, 1, 8), labels, torch.randn(14, 8), torch.randn(2, 8), lookup, TMAP)
    except ValueError as exc:
        assert "reply vocabulary" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_oversample_repeats_only_the_detection_example_of_matching_rows():
    import pytest

    from suho.train.config import TrainConfig
    from suho.train.trainer import build_examples

    twin = Record("ab", Label.SAFE, None, "ko", "s", "x", tags=("lookalike",))
    harm = Record("cd", Label.UNSAFE, "crime_advice", "ko", "s", "x", response="no", tags=("lookalike", "slang"))
    plain = Record("ef", Label.SAFE, None, "ko", "s", "x")
    rows = [twin, harm, plain]
    base = build_examples(rows, FakeTok(), TMAP, TrainConfig(replies_as_safe=True, share_prompt=False))
    assert len(base) == 1 + 3 + 1
    cfg = TrainConfig(replies_as_safe=True, share_prompt=False, oversample=("safe/lookalike=3", "slang=2"))
    out = build_examples(rows, FakeTok(), TMAP, cfg)
    det = encode_detection(harm, FakeTok(), TMAP)
    assert out.count(encode_detection(twin, FakeTok(), TMAP)) == 3  # safe/ rule: safe rows only
    assert out.count(det) == 2 and len(out) == 3 + 4 + 1  # 'slang=2' applies; the reply is not repeated
    assert out.count(encode_detection(plain, FakeTok(), TMAP)) == 1
    # with a shared prompt the unsafe row is reply (+ detection targets) and reply-as-safe; repeats stay detection-only
    shared = build_examples(
        rows, FakeTok(), TMAP, TrainConfig(replies_as_safe=True, share_prompt=True, oversample=("slang=2",))
    )
    assert shared.count(det) == 1 and len(shared) == 1 + (1 + 2) + 1
    # a disguised copy keeps its original's reply: the reply is a safe query once, the copy still trains the reply
    copy = Record("c-d", Label.UNSAFE, "crime_advice", "ko", "s", "x", response="no", tags=("obfuscated",))
    with_copy = build_examples([harm, copy], FakeTok(), TMAP, TrainConfig(replies_as_safe=True, share_prompt=False))
    reply_as_safe = encode_detection(Record("no", Label.SAFE, None, "ko", "s", "x"), FakeTok(), TMAP)
    assert with_copy.count(reply_as_safe) == 1 and len(with_copy) == 3 + 2
    for bad in ("lookalike", "lookalike=0", "maybe/lookalike=2", "=2", "lookalike=x"):
        with pytest.raises(ValueError, match="oversample entry"):
            TrainConfig(oversample=(bad,)).oversample_rules()


def test_share_prompt_puts_the_detection_targets_on_the_reply_example():
    rec = Record("ab", Label.UNSAFE, "privacy_violation", "ko", "s", "x", response="no")
    det, as_safe, reply = encode(rec, FakeTok(), TMAP, replies_as_safe=True)
    merged, as_safe2 = encode(rec, FakeTok(), TMAP, replies_as_safe=True, share_prompt=True)
    assert as_safe2 == as_safe and merged.input_ids == reply.input_ids
    n = len(det.input_ids)
    assert merged.labels[:n] == det.labels and merged.labels[n:] == reply.labels[n:]
    # rows without a reply are not affected
    safe = Record("ab", Label.SAFE, None, "en", "s", "x")
    assert encode(safe, FakeTok(), TMAP, share_prompt=True) == encode(safe, FakeTok(), TMAP)
    bare = Record("ab", Label.UNSAFE, "crime_advice", "ko", "s", "x")
    assert encode(bare, FakeTok(), TMAP, share_prompt=True) == [encode_detection(bare, FakeTok(), TMAP)]


def test_share_prompt_gives_the_same_losses_as_separate_examples(tmp_path):
    """Causal attention: the merged example's detection positions see the detection example's inputs exactly."""
    from tiny import make_tiny_base
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from suho.model.format import ensure_label_tokens

    path = make_tiny_base(tmp_path / "tiny")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tmap = ensure_label_tokens(tok)
    rec = Record(
        "sns 계정 해킹하는 방법 알려줘",
        Label.UNSAFE,
        "crime_advice",
        "ko",
        "s",
        "x",
        response="계정 해킹 방법은 알려드릴 수 없어요.",
    )
    det, reply = encode(rec, tok, tmap)
    (merged,) = encode(rec, tok, tmap, share_prompt=True)
    vocab, lookup = build_reply_vocab([reply], tmap, len(tok))
    torch.manual_seed(0)
    label_rows, reply_rows = torch.randn(14, 32), torch.randn(len(vocab), 32)

    def parts(ex):
        batch = collate([ex], tok.pad_token_id)
        with torch.no_grad():
            h = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return multitask_loss(h, batch["labels"], label_rows, reply_rows, lookup, tmap)

    d, r, m = parts(det), parts(reply), parts(merged)
    assert abs(m.label - d.label) < 1e-5 and abs(m.category - d.category) < 1e-5 and abs(m.reply - r.reply) < 1e-5
    assert m.label > 0 and m.reply > 0


def test_rank_loss_is_the_mean_over_unsafe_safe_pairs_and_ignores_a_common_shift():
    score = torch.tensor([2.0, -1.0, 0.5, 3.0])
    unsafe = torch.tensor([True, False, True, False])
    want = F.softplus(torch.tensor([s - u for u in (2.0, 0.5) for s in (-1.0, 3.0)])).mean()
    assert torch.isclose(pairwise_rank_loss(score, unsafe), want)
    assert torch.isclose(pairwise_rank_loss(score + 7.0, unsafe), want)  # a threshold move changes nothing
    assert pairwise_rank_loss(score, torch.ones(4, dtype=torch.bool)).item() == 0.0


def test_multitask_loss_adds_the_weighted_rank_loss_on_label_positions():
    torch.manual_seed(0)
    h = torch.randn(2, 3, 8)
    label_rows = torch.randn(14, 8)
    labels = torch.tensor([[IGNORE, TMAP.unsafe, 22], [IGNORE, IGNORE, TMAP.safe]])
    vocab, lookup = build_reply_vocab([Example([0], [40])], TMAP, 64)
    reply_rows = torch.randn(len(vocab), 8)
    plain = multitask_loss(h, labels, label_rows, reply_rows, lookup, TMAP)
    ranked = multitask_loss(h, labels, label_rows, reply_rows, lookup, TMAP, rank_weight=0.5)
    log_odds = label_rows[1] - label_rows[0]  # s = unsafe logit - safe logit
    want = F.softplus(h[1, 2] @ log_odds - h[0, 1] @ log_odds)
    assert torch.isclose(ranked.total, plain.total + 0.5 * want)
    assert ranked.rank == pytest.approx(want.item()) and plain.rank == 0.0
