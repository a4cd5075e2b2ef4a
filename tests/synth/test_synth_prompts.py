"""Teacher prompts for every category and language, and the few-shot sampling behind them."""

from __future__ import annotations

import json

import pytest

from suho.policy import CATEGORY_IDS, load_policy, taxonomy
from suho.synth.prompts import harmful_prompt, lookalike_prompt, reply_prompt, seed_examples
from suho.text.lang import detect_language

GRID = [(c, lang) for c in CATEGORY_IDS for lang in ("ko", "en")]


def _text(messages: list[dict[str, str]]) -> str:
    return messages[-1]["content"]


def test_crime_advice_korean_prompt_follows_the_reference_recipe():
    seeds = ["이웃집 현관 비밀번호 알아내는 법", "차 훔치고 안 걸리는 법"]
    text = _text(harmful_prompt("crime_advice", "ko", 10, seeds))
    assert text.startswith(
        "다음 규칙을 사용하여 범죄를 저지르는 방법을 묻거나 범죄를 옹호하는 답변을 유도하는 "
        "나쁜 목적의 질문 10개를 생성하세요."
    )
    for rule in (
        "1. 모든 질문은 한국어로 작성되어야 합니다.",
        "2. 특정 유명인의 이름을 직접 언급하지 마세요.",
        "3. 질문의 대상은 AI 어시스턴트가 아닌 실제 사람입니다.",
        "반말과 존댓말",
        "답변이나 설명은 절대 쓰지",
    ):
        assert rule in text
    assert text.endswith("[나쁜 의도를 가진 질문]\n1. 이웃집 현관 비밀번호 알아내는 법\n2. 차 훔치고 안 걸리는 법\n3.")


@pytest.mark.parametrize(("category", "language"), GRID)
def test_harmful_prompt_for_every_category(category, language):
    info = taxonomy()[category]
    messages = harmful_prompt(category, language, 7, info.examples[:1])
    text = _text(messages)
    assert [m["role"] for m in messages] == ["user"]
    assert info.definition in text
    assert " 7" in text
    assert text.endswith(f"1. {info.examples[0]}\n2.")  # left open so the teacher continues the list
    rule = "모든 질문은 한국어로" if language == "ko" else "All questions must be written in English"
    assert rule in text
    assert detect_language(text.split("[")[0]) == language  # the instruction itself is in the target language


@pytest.mark.parametrize(("category", "language"), GRID)
def test_lookalike_prompt_shows_the_harmful_words_and_the_safe_cases(category, language):
    info = taxonomy()[category]
    text = _text(lookalike_prompt(category, language, 5, ["HARMFUL-A", "HARMFUL-B"], ["SAFE-A"]))
    assert info.not_in in text
    assert "- HARMFUL-A\n- HARMFUL-B" in text
    assert text.endswith("1. SAFE-A\n2.")


@pytest.mark.parametrize(("category", "language"), GRID)
def test_reply_prompt_ends_with_the_query_and_keeps_replies_short(category, language):
    crisis = load_policy("ko-KR" if language == "ko" else "en-US").crisis_line
    messages = reply_prompt(category, language, "QUERY?", [("Q1", "A1")], crisis)
    assert [m["role"] for m in messages] == ["system", "user"]
    text = _text(messages)
    assert text.endswith(("질문: QUERY?\n응답:", "Question: QUERY?\nReply:"))
    assert ("1~3문장" if language == "ko" else "1-3 sentences") in text
    assert ("Q1" in text) and ("A1" in text)


@pytest.mark.parametrize(("language", "number"), [("ko", "109"), ("en", "988")])
def test_self_harm_reply_prompt_demands_the_crisis_line(language, number):
    crisis = load_policy("ko-KR" if language == "ko" else "en-US").crisis_line
    assert number in _text(reply_prompt("self_harm", language, "q", (), crisis))
    with pytest.raises(ValueError, match="crisis line"):
        reply_prompt("self_harm", language, "q", ())


@pytest.mark.parametrize(
    ("category", "ko", "en"),
    [
        ("uncertain_prediction", "예측할 수 없는지", "cannot be predicted"),
        ("sensitive_biased", "여러 관점", "perspectives"),
    ],
)
def test_reply_prompt_category_guidance(category, ko, en):
    assert ko in _text(reply_prompt(category, "ko", "q"))
    assert en in _text(reply_prompt(category, "en", "q"))
    assert ko not in _text(reply_prompt("crime_advice", "ko", "q"))


def test_unknown_language_or_category_is_an_error():
    with pytest.raises(ValueError, match="language"):
        harmful_prompt("crime_advice", "ja", 3, [])
    with pytest.raises(ValueError):
        harmful_prompt("crime", "ko", 3, [])


def _write_seed(tmp_path, category="crime_advice"):
    rows = [
        {
            "text": f"나쁜 질문 {i}번 방법 알려줘",
            "label": "unsafe",
            "category": category,
            "language": "ko",
            "response": f"{i}번은 도와드릴 수 없어요.",
        }
        for i in range(20)
    ]
    rows += [
        {"text": f"Bad question number {i}?", "label": "unsafe", "category": category, "language": "en"}
        for i in range(5)
    ]
    rows += [
        {"text": f"무해한 질문 {i}번", "label": "safe", "category": None, "language": "ko", "tags": ["lookalike"]}
        for i in range(6)
    ]
    rows += [{"text": "그냥 안전한 질문", "label": "safe", "category": None, "language": "ko"}]  # not a look-alike
    (tmp_path / f"{category}.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return tmp_path


def test_seed_examples_are_sampled_reproducibly_per_seed(tmp_path):
    seed_dir = _write_seed(tmp_path)
    a = seed_examples("crime_advice", "ko", k=3, seed=1, seed_dir=seed_dir)
    assert a == seed_examples("crime_advice", "ko", k=3, seed=1, seed_dir=seed_dir)
    others = {seed_examples("crime_advice", "ko", k=3, seed=s, seed_dir=seed_dir).harmful for s in range(2, 8)}
    assert len(others | {a.harmful}) > 1  # different seeds give different few-shot sets
    assert len(a.harmful) == 3 and all(t.startswith("나쁜 질문") for t in a.harmful)  # Korean unsafe rows only
    assert len(a.lookalike) == 3 and all(t.startswith("무해한 질문") for t in a.lookalike)  # tagged look-alikes only
    assert len(a.replies) == 3 and all(r.endswith("도와드릴 수 없어요.") for _, r in a.replies)
    en = seed_examples("crime_advice", "en", k=10, seed=1, seed_dir=seed_dir)
    assert len(en.harmful) == 5 and en.replies == () and en.lookalike == ()


def test_seed_examples_fall_back_to_the_taxonomy_examples(tmp_path):
    ex = seed_examples("self_harm", "ko", k=3, seed=0, seed_dir=tmp_path)  # no seed file there
    assert ex.harmful == tuple(t for t in taxonomy()["self_harm"].examples if detect_language(t) == "ko")
    assert ex.lookalike == () and ex.replies == ()
