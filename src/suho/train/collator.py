"""Turn records into token ids with -100 masks, and compute the multi-task loss on target positions only.

`labels[b, t]` is the token the model must emit *after* position t (already shifted), or -100. Each target position is
scored against only the rows it can take: {safe, unsafe}, the 10 categories, or the reply vocabulary. The language
token after the category is prefilled at inference, so it is never a target.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from suho.data.schema import Label, Record
from suho.model.batch import PaddedBatch, pad
from suho.model.format import CATEGORY_ROWS, LABEL_ROWS, TokenMap, prompt_ids, reply_ids, target_ids
from suho.text.normalize import normalize_query

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def _prompt(record: Record, tokenizer, max_prompt_tokens: int) -> list[int]:
    """Prompt ids of the query as the guard sees it (normalised); long queries keep their head and tail."""
    return prompt_ids(tokenizer, normalize_query(record.text), max_prompt_tokens)


def encode_detection(record: Record, tokenizer, tmap: TokenMap, max_prompt_tokens: int = 128) -> Example:
    """Detection example: the label token after the prompt; for unsafe rows also the category after `<unsafe>`.

    Exactly the inputs of inference (prompt [+ <unsafe>]), so detection batches are short and of mixed labels.
    """
    p = _prompt(record, tokenizer, max_prompt_tokens)
    if record.label == Label.SAFE:
        return Example(p, [IGNORE] * (len(p) - 1) + [tmap.safe])
    return Example(p + [tmap.unsafe], [IGNORE] * (len(p) - 1) + [tmap.unsafe, tmap.category_token(record.category)])


def encode_reply(
    record: Record, tokenizer, tmap: TokenMap, max_prompt_tokens: int = 128, max_reply_tokens: int = 96
) -> Example | None:
    """Reply example (unsafe rows with a response): prompt + <unsafe> <category> <lang> reply <end_of_turn>.

    Only the reply tokens are targets; label and category are learnt from detection examples, so unsafe rows do not
    count twice there. None for rows without a reply.
    """
    if record.label != Label.UNSAFE or not record.response:
        return None
    p = _prompt(record, tokenizer, max_prompt_tokens)
    head = target_ids(tmap, tokenizer, record.label.value, record.category, record.language, None)
    full = reply_ids(tokenizer, record.response)
    reply = full[:max_reply_tokens]
    ids = p + head + reply
    # <lang> predicts the first reply token; the last reply token predicts <end_of_turn> (unless the reply was cut)
    ended = len(reply) == len(full)
    labels = [IGNORE] * (len(p) + 2) + reply + [tmap.end_of_turn if ended else IGNORE]
    return Example(ids, labels)


def encode(
    record: Record,
    tokenizer,
    tmap: TokenMap,
    max_prompt_tokens: int = 128,
    max_reply_tokens: int = 96,
    replies_as_safe: bool = False,
    share_prompt: bool = False,
) -> list[Example]:
    """All examples of one record; the first carries the row's own detection targets.

    With `replies_as_safe`, an unsafe row's safeguard reply is also a *safe* detection example: a refusal names the
    harm it refuses ("I can't tell you how to jump...") and gives a crisis line, so without this the guard learns to
    flag its own replies (and the replies of any well-behaved model it guards).

    With `share_prompt`, an unsafe row with a reply is one example instead of two: the reply example also carries the
    detection targets (the label at the prompt's last token, the category at `<unsafe>`). Attention is causal, so those
    positions see exactly the detection example's inputs and give the same losses; the prompt is computed once.
    """
    det = encode_detection(record, tokenizer, tmap, max_prompt_tokens)
    reply = encode_reply(record, tokenizer, tmap, max_prompt_tokens, max_reply_tokens)
    extra = []
    if reply and replies_as_safe:
        as_query = replace(record, text=record.response, label=Label.SAFE, category=None, response=None)
        extra.append(encode_detection(as_query, tokenizer, tmap, max_prompt_tokens))
    if reply and share_prompt:
        n = len(det.input_ids)  # prompt + <unsafe>: the reply example's first tokens, none of them a reply target
        if reply.input_ids[:n] != det.input_ids or any(t != IGNORE for t in reply.labels[:n]):
            raise AssertionError("a reply example must start with its detection example")
        return [Example(reply.input_ids, det.labels + reply.labels[n:]), *extra]
    return [det, *extra] + ([reply] if reply else [])


def collate(batch: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded tensors (causal attention keeps real tokens independent of the padding after them)."""
    padded = PaddedBatch.of([e.input_ids for e in batch], pad_id)
    labels = pad([e.labels for e in batch], IGNORE)
    return {"input_ids": padded.input_ids, "attention_mask": padded.attention_mask, "labels": labels}


@dataclass
class LossParts:
    total: torch.Tensor
    label: float
    category: float
    reply: float
    rank: float = 0.0


def multitask_loss(
    hidden: torch.Tensor,
    labels: torch.Tensor,
    label_rows: torch.Tensor,
    reply_rows: torch.Tensor,
    reply_lookup: torch.Tensor,
    tmap: TokenMap,
    detect_weight: float = 1.0,
    reply_weight: float = 1.0,
    rank_weight: float = 0.0,
) -> LossParts:
    """Cross-entropy over restricted heads. `reply_lookup[token_id]` is the row in `reply_rows`, or -1.

    With `rank_weight`, a pairwise ranking loss is added on the batch's label positions: for every (unsafe, safe)
    pair, softplus(s_safe - s_unsafe), where s is the unsafe-minus-safe label logit (the log-odds of P(unsafe)). It
    is a smooth surrogate of 1 - AUC: it asks only that unsafe rows score above safe ones, whatever the threshold, and
    its gradient falls on the pairs in the wrong order. A batch with one label only adds nothing.
    """
    pos = labels != IGNORE
    h = hidden[pos]
    tgt = labels[pos]
    zero = hidden.sum() * 0.0
    is_label = (tgt == tmap.safe) | (tgt == tmap.unsafe)
    cat_ids = torch.tensor(tmap.categories, device=tgt.device)
    is_cat = torch.isin(tgt, cat_ids)
    is_reply = ~(is_label | is_cat)

    l_label = zero
    l_rank = zero
    if is_label.any():
        logits = h[is_label] @ label_rows[LABEL_ROWS].T
        unsafe = tgt[is_label] == tmap.unsafe
        l_label = F.cross_entropy(logits, unsafe.long())
        if rank_weight:
            l_rank = pairwise_rank_loss(logits[:, 1] - logits[:, 0], unsafe)
    l_cat = zero
    if is_cat.any():
        logits = h[is_cat] @ label_rows[CATEGORY_ROWS].T
        l_cat = F.cross_entropy(logits, (tgt[is_cat].unsqueeze(1) == cat_ids).float().argmax(1))
    l_reply = zero
    if is_reply.any():
        rows = reply_lookup[tgt[is_reply]]
        if (rows < 0).any():
            raise ValueError("a reply target token is missing from the reply vocabulary")
        logits = h[is_reply] @ reply_rows.T
        l_reply = F.cross_entropy(logits, rows)
    total = detect_weight * (l_label + l_cat) + reply_weight * l_reply + rank_weight * l_rank
    return LossParts(total, l_label.item(), l_cat.item(), l_reply.item(), l_rank.item())


def pairwise_rank_loss(score: torch.Tensor, unsafe: torch.Tensor) -> torch.Tensor:
    """Mean softplus(s_j - s_i) over every unsafe i and safe j; 0 when the batch holds one label only."""
    pos, neg = score[unsafe], score[~unsafe]
    if not len(pos) or not len(neg):
        return score.sum() * 0.0
    return F.softplus(neg[None, :] - pos[:, None]).mean()


def build_reply_vocab(examples: list[Example], tmap: TokenMap, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sorted reply token ids, lookup table id -> row or -1) from every reply target in the training data."""
    special = set(tmap.all_ids)
    ids = {t for e in examples for t in e.labels if t != IGNORE and t not in special}
    ids.add(tmap.end_of_turn)
    vocab = torch.tensor(sorted(ids), dtype=torch.long)
    lookup = torch.full((vocab_size,), -1, dtype=torch.long)
    lookup[vocab] = torch.arange(len(vocab))
    return vocab, lookup
