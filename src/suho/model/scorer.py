"""Detection scores: P(unsafe) and P(category | unsafe) for texts, one forward pass per batch of windows.

Each window is `prompt + <unsafe>` (`suho.model.windows`). In one pass, the hidden state at the prompt's last token
is scored against the {safe, unsafe} rows of the label head and the one at `<unsafe>` against its ten category rows
(`format.LABEL_ROWS`, `format.CATEGORY_ROWS`); the full-vocabulary LM head is never evaluated. A text takes the
probabilities of its most unsafe window.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import torch

from suho.model.batch import PaddedBatch, by_length
from suho.model.engine import LoadedModel
from suho.model.format import CATEGORY_ROWS, LABEL_ROWS
from suho.model.windows import Windower
from suho.policy.taxonomy import CATEGORY_IDS

# (P(unsafe) [N], P(category | unsafe) [N, 10], seconds of model time per text)
Probabilities = tuple[torch.Tensor, torch.Tensor, list[float]]


class Scorer:
    """Scores normalised texts with a loaded model, whichever engine runs it."""

    def __init__(self, model: LoadedModel, batch_size: int = 32):
        tok = model.tokenizer
        self.body = model.body
        self.device = model.device
        self.batch_size = batch_size
        self.windower = Windower(tok, model.tmap.unsafe, model.whole_tokens)
        self._label_rows = model.artifacts.label_rows.to(model.device)
        self._pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def probabilities(self, texts: Sequence[str]) -> Probabilities:
        """All windows of `texts` scored at once, batched by length."""
        *_, result = self.steps(texts)
        return result

    def steps(self, texts: Sequence[str], windows_per_step: int | None = None) -> Iterator[Probabilities | None]:
        """`probabilities`, at most `windows_per_step` windows at a time (None: all at once): yields None after each
        step but the last, then the result. A caller can do other work between steps."""
        windows = [self.windower.windows(t) for t in texts]
        flat = [w for ws in windows for w in ws]
        # the steps take the windows in length order, so their batches pad as little as one run's would
        steps = by_length([len(w) for w in flat], windows_per_step or max(1, len(flat)))
        pu = torch.zeros(len(flat))
        pc = torch.zeros(len(flat), len(CATEGORY_IDS))
        timing: list[tuple[tuple[int, int], float]] = [((0, 0), 0.0)] * len(flat)
        for n, idx in enumerate(steps):
            u, c, t = self.score([flat[j] for j in idx])
            pu[idx], pc[idx] = u, c
            for j, (b, dt) in zip(idx, t, strict=True):
                timing[j] = ((n, b), dt)  # a batch is (step, batch number): counted once per text
            if n + 1 < len(steps):
                yield None
        p_unsafe = torch.zeros(len(texts))
        p_cat = torch.zeros(len(texts), len(CATEGORY_IDS))
        secs = [0.0] * len(texts)
        start = 0
        for i, ws in enumerate(windows):
            span = range(start, start + len(ws))
            best = start + int(pu[start : span.stop].argmax())
            p_unsafe[i], p_cat[i] = pu[best], pc[best]
            secs[i] = sum(dict(timing[j] for j in span).values())  # each batch its windows ran in, counted once
            start = span.stop
        yield p_unsafe, p_cat, secs

    @torch.inference_mode()
    def score(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, float]]]:
        """Label and category probabilities of windows (prompt + <unsafe> ids), one forward pass per batch; per
        window also (its batch's number, the seconds that batch took)."""
        p_unsafe = torch.zeros(len(seqs))
        p_cat = torch.zeros(len(seqs), len(CATEGORY_IDS))
        secs = [(0, 0.0)] * len(seqs)
        for b, idx in enumerate(by_length([len(s) for s in seqs], self.batch_size)):
            t0 = time.perf_counter()
            batch = PaddedBatch.of([seqs[i] for i in idx], self._pad, self.device)
            hidden = self.body(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False)
            hidden = hidden.last_hidden_state  # (B, T, H)
            h_label, h_cat = batch.at(hidden, 2), batch.at(hidden, 1)  # the prompt's last token, <unsafe>
            pl = torch.softmax(h_label @ self._label_rows[LABEL_ROWS].T, -1)[:, 1]
            pc = torch.softmax(h_cat @ self._label_rows[CATEGORY_ROWS].T, -1)
            pl, pc = pl.float().cpu(), pc.float().cpu()
            dt = time.perf_counter() - t0
            for r, i in enumerate(idx):
                p_unsafe[i], p_cat[i], secs[i] = pl[r], pc[r], (b, dt)
        return p_unsafe, p_cat, secs
