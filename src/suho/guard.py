"""Inference: `detect` (one forward pass, label-token probabilities only) and `respond` (safeguard reply).

The policy is applied *after* the model: per-category scores s_c = P(unsafe) * P(c | unsafe). Categories the policy
`allow`s are ignored. If the summed score of `block` categories reaches the threshold of the highest-scoring one, the
verdict is block (category = that one); otherwise if the summed score of `block` + `caution` categories reaches the
threshold of the highest of those, the verdict is caution. Summing keeps a query that the model splits between two
harms (e.g. crime vs. privacy) from slipping under both thresholds. Switching policy needs no reload.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from suho.data.schema import Label
from suho.lang import detect_language
from suho.model.adapter import decoder, load_guard_model, output_matrix
from suho.model.format import prompt_ids
from suho.paths import REPO_ROOT
from suho.policy import CATEGORY_IDS, Action, Category, Policy, load_policy

DEFAULT_MODEL = REPO_ROOT / "models" / "suho-ko-270m"
MAX_PROMPT_TOKENS = 256


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one text under one policy."""

    label: Label
    category: Category | None  # the category the policy acted on (None when safe)
    action: Action  # block / caution / allow
    p_unsafe: float
    category_scores: dict[str, float]  # P(unsafe) * P(category | unsafe), every category
    model_category: Category  # the model's top category, whatever the policy says
    language: str
    policy: str
    latency_ms: float

    @property
    def flagged(self) -> bool:
        return self.label == Label.UNSAFE

    def under(self, policy: Policy) -> Verdict:
        """This verdict decided under another policy, without another forward pass (the scores carry all of it)."""
        label, category, action, _ = decide(1.0, [self.category_scores[c] for c in CATEGORY_IDS], policy)
        return replace(self, label=label, category=category, action=action, policy=policy.name)


@dataclass(frozen=True)
class Reply:
    text: str
    category: Category
    language: str
    truncated: bool = False  # hit max_new_tokens before the end-of-turn token
    fallback: bool = False  # generation was empty; a fixed reply was used instead


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    reply: Reply | None = None


_FALLBACK = {
    "ko": "죄송하지만 이 요청은 도와드리기 어려워요. 다른 궁금한 점이 있으면 말씀해 주세요.",
    "en": "Sorry, I can't help with that request. Is there something else I can help you with?",
}


def decide(
    p_unsafe: float, p_cat: Sequence[float], policy: Policy
) -> tuple[Label, Category | None, Action, dict[str, float]]:
    """Apply a policy to model probabilities. Pure function: unit-tested without a model."""
    scores = {c: float(p_unsafe * p) for c, p in zip(CATEGORY_IDS, p_cat)}
    for action_set, action in (({Action.BLOCK}, Action.BLOCK), ({Action.BLOCK, Action.CAUTION}, Action.CAUTION)):
        cats = [c for c in CATEGORY_IDS if policy.rule(c).action in action_set]
        if not cats:
            continue
        top = max(cats, key=lambda c: scores[c])
        if sum(scores[c] for c in cats) >= policy.rule(top).threshold:
            return Label.UNSAFE, Category(top), action, scores
    return Label.SAFE, None, Action.ALLOW, scores


class Guard:
    """A loaded guard model plus an active policy. Thread-compatible for reads; one forward at a time."""

    def __init__(self, model, tokenizer, tmap, artifacts, policy: Policy, batch_size: int = 32):
        self.model = model
        self.tokenizer = tokenizer
        self.tmap = tmap
        self.artifacts = artifacts
        self.policy = policy
        self.batch_size = batch_size
        self._body = decoder(model)
        self._label_rows = artifacts.label_rows
        self._reply_vocab = artifacts.reply_vocab
        self._reply_rows = output_matrix(model).detach()[self._reply_vocab].clone()
        self._eot_row = int((self._reply_vocab == tmap.end_of_turn).nonzero()[0, 0])
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    @property
    def name(self) -> str:
        return self.artifacts.path.name

    def with_policy(self, policy: str | Path | Policy) -> Guard:
        """The same loaded model under another policy (no reload)."""
        return Guard(self.model, self.tokenizer, self.tmap, self.artifacts, load_policy(policy), self.batch_size)

    # -- detection ---------------------------------------------------------------------------------------------
    def _prompt(self, text: str) -> list[int]:
        ids = prompt_ids(self.tokenizer, text)
        if len(ids) > MAX_PROMPT_TOKENS:
            half = MAX_PROMPT_TOKENS // 2
            ids = ids[:half] + ids[-(MAX_PROMPT_TOKENS - half) :]
        return ids

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
        """(P(unsafe) [N], P(category | unsafe) [N, 10], seconds per item) in one forward pass per length bucket."""
        _check_texts(texts)
        seqs = [self._prompt(t) + [self.tmap.unsafe] for t in texts]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        p_unsafe = torch.zeros(len(seqs))
        p_cat = torch.zeros(len(seqs), len(CATEGORY_IDS))
        secs = [0.0] * len(seqs)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            t0 = time.perf_counter()
            width = max(len(seqs[i]) for i in idx)
            ids = torch.full((len(idx), width), self._pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(seqs[i])] = torch.tensor(seqs[i])
                mask[r, : len(seqs[i])] = 1
            hidden = self._body(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            last = torch.tensor([len(seqs[i]) - 1 for i in idx])
            rows = torch.arange(len(idx))
            h_label, h_cat = hidden[rows, last - 1], hidden[rows, last]
            pl = torch.softmax(h_label @ self._label_rows[:2].T, -1)[:, 1]
            pc = torch.softmax(h_cat @ self._label_rows[2 : 2 + len(CATEGORY_IDS)].T, -1)
            dt = time.perf_counter() - t0
            for r, i in enumerate(idx):
                p_unsafe[i], p_cat[i], secs[i] = pl[r], pc[r], dt
        return p_unsafe, p_cat, secs

    def detect(self, texts: str | Sequence[str], policy: str | Policy | None = None) -> list[Verdict]:
        """One Verdict per text (a single string gives a one-item list)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        pol = load_policy(policy) if policy is not None else self.policy
        if not texts:
            return []
        p_unsafe, p_cat, secs = self.probabilities(texts)
        out = []
        for i, text in enumerate(texts):
            label, cat, action, scores = decide(float(p_unsafe[i]), p_cat[i].tolist(), pol)
            out.append(
                Verdict(
                    label=label,
                    category=cat,
                    action=action,
                    p_unsafe=round(float(p_unsafe[i]), 6),
                    category_scores={k: round(v, 6) for k, v in scores.items()},
                    model_category=Category(CATEGORY_IDS[int(p_cat[i].argmax())]),
                    language=detect_language(text),
                    policy=pol.name,
                    latency_ms=round(secs[i] * 1000, 2),
                )
            )
        return out

    # -- replies -----------------------------------------------------------------------------------------------
    def reply_language(self, text: str, policy: Policy | None = None) -> str:
        lang = (policy or self.policy).reply_language
        return detect_language(text) if lang == "auto" else lang

    @torch.inference_mode()
    def respond(
        self,
        text: str,
        verdict: Verdict | None = None,
        *,
        category: str | Category | None = None,
        language: str | None = None,
        max_new_tokens: int = 96,
    ) -> Reply:
        """Safeguard reply, generated after prefilling `<unsafe> <category> <language>` (so any query can be forced)."""
        _check_texts([text])
        if category is None:
            category = verdict.category or verdict.model_category if verdict else self.detect([text])[0].model_category
        cat = Category(category)
        lang = language or self.reply_language(text)
        ids = self._prompt(text) + [self.tmap.unsafe, self.tmap.category_token(cat.value), self.tmap.languages[lang]]
        out = self._body(input_ids=torch.tensor([ids]), use_cache=True)
        cache = out.cache
        h = out.last_hidden_state[:, -1]
        gen: list[int] = []
        ended = False
        for _ in range(max_new_tokens):
            row = int((h @ self._reply_rows.T).argmax(-1))
            if row == self._eot_row:
                ended = True
                break
            tok = int(self._reply_vocab[row])
            gen.append(tok)
            if _looping(gen):
                break
            out = self._body(input_ids=torch.tensor([[tok]]), cache=cache, use_cache=True)
            cache, h = out.cache, out.last_hidden_state[:, -1]
        reply = self.tokenizer.decode(gen, skip_special_tokens=True).strip()
        if not reply:
            return Reply(_FALLBACK[lang], cat, lang, truncated=not ended, fallback=True)
        return Reply(reply, cat, lang, truncated=not ended)

    def check(
        self, texts: str | Sequence[str], *, force_reply: bool = False, policy: str | Policy | None = None
    ) -> list[CheckResult]:
        """Detect, then generate a reply where the policy blocks (or for every text with force_reply)."""
        verdicts = self.detect(texts, policy=policy)
        texts = [texts] if isinstance(texts, str) else list(texts)
        pol = load_policy(policy) if policy is not None else self.policy
        results = []
        for text, v in zip(texts, verdicts):
            need = force_reply or v.action == Action.BLOCK
            reply = self.respond(text, v, language=self.reply_language(text, pol)) if need else None
            results.append(CheckResult(v, reply))
        return results


def _looping(gen: list[int], n: int = 6) -> bool:
    """True when the last n tokens repeat the n before them (greedy decoding stuck in a loop)."""
    return len(gen) >= 2 * n and gen[-n:] == gen[-2 * n : -n]


def _check_texts(texts: Sequence[str]) -> None:
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"texts[{i}] is empty or whitespace only")


def load_guard(
    model: str | Path | None = None,
    policy: str | Path | Policy = "ko-KR",
    *,
    batch_size: int = 32,
    threads: int | None = None,
) -> Guard:
    """The trained guard: `model` (a suho model dir), else `$SUHO_MODEL`, else the shipped `models/suho-ko-270m`."""
    if threads:
        torch.set_num_threads(threads)
    path = Path(model or os.environ.get("SUHO_MODEL") or DEFAULT_MODEL).expanduser()
    pol = load_policy(policy)
    m, tok, tmap, art = load_guard_model(path)
    return Guard(m, tok, tmap, art, pol, batch_size=batch_size)
