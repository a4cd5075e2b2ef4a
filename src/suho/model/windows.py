"""Detection windows: what the model reads of one text. A short text is read whole; a long one sentence by sentence.

A harmful request hidden in a long harmless text must still be caught, so long texts are never truncated. The model
reads a query's intent at its end (it is trained on single queries), so each window of a long text *ends* at a
sentence: the sentence plus the one before it, at most SENTENCE_TOKENS tokens (a longer sentence is cut into
overlapping pieces). The text takes the verdict of its most unsafe window (`suho.model.scorer`).
"""

from __future__ import annotations

import re

from suho.model.format import WINDOW_TOKENS, prompt_ids

SENTENCE_TOKENS = 96  # a window of a long text: one sentence plus the one before it, at most this many tokens
SENTENCE_STRIDE = 64  # a sentence longer than SENTENCE_TOKENS is cut into pieces overlapping by 32 tokens
MAX_WINDOWS = 1024  # per text; a text needing more is an error, not cut short
CHARS_PER_WINDOW = 26  # characters of Korean prose per window, measured: what window counts mean in characters
_SENTENCE_END = re.compile(r"(?<=[.!?。？！…~\n])\s+|\n+")


class Windower:
    """Cuts normalised texts into detection windows: prompt ids ending in the `<unsafe>` token (`unsafe_id`)."""

    def __init__(self, tokenizer, unsafe_id: int, whole_tokens: int = WINDOW_TOKENS):
        self.tokenizer = tokenizer
        self.unsafe_id = unsafe_id
        self.whole_tokens = whole_tokens  # a query up to this many tokens is read whole (the model's whole_tokens)
        self._template_tokens = len(prompt_ids(tokenizer, ""))  # BOS + the chat turn around the query

    def count(self, text: str) -> int:
        """How many windows `text` takes, without building them: a server screens requests with it."""
        n_tokens = len(prompt_ids(self.tokenizer, text)) - self._template_tokens
        return 1 if n_tokens <= self.whole_tokens else len(self.pieces(text))

    def windows(self, text: str) -> list[list[int]]:
        """The windows of one text: its whole prompt, or for a long text one window per sentence (see above)."""
        whole = prompt_ids(self.tokenizer, text)  # the common case: one tokenization, one window
        n_tokens = len(whole) - self._template_tokens
        if n_tokens <= self.whole_tokens:
            return [whole + [self.unsafe_id]]
        pieces = self.pieces(text)
        if len(pieces) > MAX_WINDOWS:
            raise ValueError(
                f"text of {len(text)} characters ({n_tokens} tokens) needs {len(pieces)} windows; the guard reads at "
                f"most {MAX_WINDOWS} (about {MAX_WINDOWS * CHARS_PER_WINDOW:,} characters of ordinary prose): split "
                "it (e.g. per message) and check the parts"
            )
        out = []
        for i, (piece, n) in enumerate(pieces):
            if i and n + pieces[i - 1][1] <= SENTENCE_TOKENS:
                piece = pieces[i - 1][0] + " " + piece
            out.append(prompt_ids(self.tokenizer, piece) + [self.unsafe_id])
        return out

    def pieces(self, text: str) -> list[tuple[str, int]]:
        """A long text's sentences (a sentence over SENTENCE_TOKENS cut into overlapping pieces), each with its
        token count: one window ends at each."""
        pieces = []
        for sent in _SENTENCE_END.split(text):
            if not sent.strip():
                continue
            enc = self.tokenizer(sent, add_special_tokens=False, return_offsets_mapping=True)
            spans = enc["offset_mapping"]
            if len(spans) <= SENTENCE_TOKENS:
                pieces.append((sent, len(spans)))
                continue
            for start in range(0, len(spans) - SENTENCE_TOKENS + SENTENCE_STRIDE, SENTENCE_STRIDE):
                end = min(start + SENTENCE_TOKENS, len(spans)) - 1
                pieces.append((sent[spans[start][0] : spans[end][1]], end - start + 1))
        return pieces
