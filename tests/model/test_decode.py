"""Greedy reply decoding (suho.model.decode): the loop guard."""

from suho.model.decode import LOOP_TOKENS, looping


def test_looping_needs_the_last_tokens_to_repeat_the_ones_before():
    once = list(range(LOOP_TOKENS))
    assert looping(once + once)
    assert not looping(once)
    assert not looping(once + once[::-1])
    assert looping([9, 9] + once + once)
