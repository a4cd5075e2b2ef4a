"""Greedy decoding of a safeguard reply over the reply vocabulary's rows only (never the full LM head).

The reply vocabulary is the set of tokens the training replies use (`GuardArtifacts.reply_vocab`): training scores
replies over the same rows, so generation cannot pick a token the model never learnt to write.
"""

from __future__ import annotations

import torch

from suho.model.engine import LoadedModel

LOOP_TOKENS = 6  # generation stops when the last this-many tokens repeat the ones before them


def looping(gen: list[int], n: int = LOOP_TOKENS) -> bool:
    """True when the last n tokens repeat the n before them (greedy decoding stuck in a loop)."""
    return len(gen) >= 2 * n and gen[-n:] == gen[-2 * n : -n]


class ReplyDecoder:
    def __init__(self, model: LoadedModel):
        self.body = model.body
        self.device = model.device
        self.vocab = model.artifacts.reply_vocab
        self.rows = model.output_matrix().detach()[self.vocab].clone()  # (V_reply, H)
        self.eot_row = int((self.vocab == model.tmap.end_of_turn).nonzero()[0, 0])

    @torch.inference_mode()
    def generate(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], bool]:
        """(generated token ids, whether it ended at the end-of-turn token) after the prompt `ids`."""
        out = self.body(input_ids=torch.tensor([ids], device=self.device), use_cache=True)
        cache, h = out.cache, out.last_hidden_state[:, -1]
        gen: list[int] = []
        for _ in range(max_new_tokens):
            row = int((h @ self.rows.T).argmax(-1))
            if row == self.eot_row:
                return gen, True
            tok = int(self.vocab[row])
            gen.append(tok)
            if looping(gen):
                break
            out = self.body(input_ids=torch.tensor([[tok]], device=self.device), cache=cache, use_cache=True)
            cache, h = out.cache, out.last_hidden_state[:, -1]
        return gen, False
