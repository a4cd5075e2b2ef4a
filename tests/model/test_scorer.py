"""Detection scores (suho.model.scorer): a text takes its most unsafe window; steps end with the same scores."""

import torch

from suho.model.scorer import Probabilities


def _long_text(n_sentences: int) -> str:
    return " ".join(f"문장{i} word{i % 97} 이야기 {i % 89}." for i in range(n_sentences))


def test_a_long_text_takes_the_scores_of_its_most_unsafe_window(tiny_guard):
    scorer = tiny_guard.scorer
    text = _long_text(120)
    windows = scorer.windower.windows(text)
    p_unsafe, p_cat, _ = scorer.probabilities([text])
    pu, pc, _ = scorer.score(windows)
    best = int(pu.argmax())
    assert float(p_unsafe[0]) == float(pu[best]) and p_cat[0].tolist() == pc[best].tolist()
    assert torch.allclose(p_cat.sum(-1), torch.ones(1))


def test_steps_yield_none_between_steps_and_end_with_the_probabilities(tiny_guard):
    scorer = tiny_guard.scorer
    texts = [_long_text(30), "오늘 날씨 어때?"]
    steps = list(scorer.steps(texts, windows_per_step=8))
    assert steps[:-1] == [None] * 3  # 31 windows in 4 steps of 8
    result: Probabilities = steps[-1]
    whole = scorer.probabilities(texts)
    torch.testing.assert_close(result[0], whole[0], atol=1e-4, rtol=0)
    assert len(result[2]) == 2 and all(s > 0 for s in result[2])


def test_batch_size_does_not_change_the_scores(tiny_guard):
    scorer = tiny_guard.scorer
    texts = ["짧은 질문", "조금 더 긴 질문이에요 이건 정말로", "How can I steal a car?", "hi"]
    a = scorer.probabilities(texts)
    size = scorer.batch_size
    try:
        scorer.batch_size = 1
        b = scorer.probabilities(texts)
    finally:
        scorer.batch_size = size
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=0)
