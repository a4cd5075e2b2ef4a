"""The front door: `load_guard()` and `Guard`, which normalises a query, scores it, decides under a policy, replies.

Each step lives elsewhere: the normaliser in `suho.text`, scoring in `suho.model.scorer` (windows, batches, the label
head), the decision and the result types in `suho.policy`, reply decoding in `suho.model.decode`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import torch

from suho.model.decode import ReplyDecoder
from suho.model.engine import LoadedModel, load_model
from suho.model.format import prompt_ids, reply_prefix
from suho.model.scorer import Scorer
from suho.paths import find_model
from suho.policy import Action, Category, Policy, load_policy
from suho.policy.replies import generated_reply, template_reply
from suho.policy.verdict import CheckResult, Reply, Verdict
from suho.text import detect_language, normalize_query, text_problem

__all__ = ["Guard", "load_guard"]

MAX_REPLY_PROMPT_TOKENS = 256  # a reply's prompt: a longer query keeps its head and tail


class Guard:
    """A loaded guard model plus an active policy. Thread-compatible for reads; one forward at a time."""

    def __init__(self, model: LoadedModel, policy: Policy, batch_size: int = 32):
        self.model = model
        self.policy = policy
        self.scorer = Scorer(model, batch_size)  # detection: windows, padded batches, the label head
        self.decoder = ReplyDecoder(model)  # generated replies: greedy, over the reply vocabulary

    @property
    def name(self) -> str:
        return self.model.artifacts.path.name

    @property
    def engine(self) -> str:
        """`fast-fp32` / `fast-int8` (suho.model.fast) or `hf` (the transformers reference path)."""
        return self.model.engine

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def artifacts(self):
        return self.model.artifacts

    def with_policy(self, policy: str | Path | Policy) -> Guard:
        """The same loaded model under another policy (no reload)."""
        other = copy.copy(self)
        other.policy = load_policy(policy)
        return other

    # -- detection ---------------------------------------------------------------------------------------------
    def windows_needed(self, text: str) -> int:
        """How many detection windows `text` takes (1 unless it is long; see `suho.model.windows`), without running
        the model: a server screens requests with it before they reach the model."""
        return self.scorer.windower.count(normalize_query(text))

    def detect(self, texts: str | Sequence[str], policy: str | Policy | None = None) -> list[Verdict]:
        """One Verdict per text (a single string gives a one-item list)."""
        *_, verdicts = self.detect_steps(texts, policy)
        return verdicts

    def detect_steps(
        self, texts: str | Sequence[str], policy: str | Policy | None = None, windows_per_step: int | None = None
    ) -> Iterator[list[Verdict] | None]:
        """`detect` in steps of at most `windows_per_step` detection windows: yields None after each step but the
        last, then the verdicts. A server advances it between other work, so one long text does not hold the model
        for all its windows; the verdicts are `detect`'s (up to the float noise of other batch shapes)."""
        texts = _as_list(texts)
        pol = load_policy(policy) if policy is not None else self.policy
        if not texts:
            yield []
            return
        _check_texts(texts)
        normalised = [normalize_query(t) for t in texts]  # once: the model and the language read the same text
        for result in self.scorer.steps(normalised, windows_per_step):
            if result is None:
                yield None
        p_unsafe, p_cat, secs = result
        yield [
            Verdict.from_scores(
                float(p_unsafe[i]),
                p_cat[i].tolist(),
                pol,
                language=detect_language(text),  # as normalised: `tkfdls qkdqjq` is Korean
                seconds=secs[i],
                override=pol.overrides.match(text),
            )
            for i, text in enumerate(normalised)
        ]

    # -- replies -----------------------------------------------------------------------------------------------
    def reply_language(self, text: str, policy: Policy | None = None) -> str:
        lang = (policy or self.policy).reply_language
        # the query as the model read it: Korean typed in English keyboard mode or romanised is Korean
        return detect_language(normalize_query(text)) if lang == "auto" else lang

    def respond(
        self,
        text: str,
        verdict: Verdict | None = None,
        *,
        category: str | Category | None = None,
        language: str | None = None,
        max_new_tokens: int = 96,
        policy: str | Policy | None = None,
        mode: str | None = None,
    ) -> Reply:
        """Safeguard reply for a query: the policy's `reply_mode` (or `mode`) decides how it is written.

        `template`: the taxonomy's fixed reply for the category, in the reply language. `generated`: the model
        writes it after prefilling `<unsafe> <category> <language>` (so any query can be forced). Either way a
        self-harm reply carries the policy's crisis line (`suho.policy.replies`).
        """
        _check_texts([text])
        pol = load_policy(policy) if policy is not None else self.policy
        if category is None:
            category = verdict.category or verdict.model_category if verdict else self.detect([text])[0].model_category
        cat = Category(category)
        lang = language or self.reply_language(text, pol)
        tmap = self.model.tmap
        if lang not in tmap.languages:
            raise ValueError(f"language {lang!r} is not a reply language; use one of {', '.join(tmap.languages)}")
        mode = mode or pol.reply_mode
        if mode == "template":
            return template_reply(cat, lang, pol)
        if mode != "generated":
            raise ValueError(f"mode must be 'template' or 'generated', got {mode!r}")
        ids = prompt_ids(self.tokenizer, normalize_query(text), MAX_REPLY_PROMPT_TOKENS)
        tokens, ended = self.decoder.generate(ids + reply_prefix(tmap, cat.value, lang), max_new_tokens)
        reply = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return generated_reply(reply, cat, lang, pol, ended=ended)

    def check(
        self, texts: str | Sequence[str], *, force_reply: bool = False, policy: str | Policy | None = None
    ) -> list[CheckResult]:
        """Detect, then reply where the policy blocks (or for every text with force_reply)."""
        pol = load_policy(policy) if policy is not None else self.policy
        texts = _as_list(texts)  # once: an iterator would be used up by detect
        verdicts = self.detect(texts, policy=pol)
        results = []
        for text, v in zip(texts, verdicts):
            need = force_reply or v.action == Action.BLOCK
            reply = self.respond(text, v, policy=pol) if need else None
            results.append(CheckResult(v, reply))
        return results


def _as_list(texts: str | Sequence[str]) -> list[str]:
    """A str is one text; anything else must be a sequence of str (bytes are refused: they would iterate as ints)."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray, Mapping)) or not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a str or a sequence of str, got {type(texts).__name__}")
    return list(texts)


def _check_texts(texts: Sequence[str]) -> None:
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
        problem = text_problem(t)
        if problem:
            raise ValueError(f"texts[{i}] {problem}")


def load_guard(
    model: str | Path | None = None,
    policy: str | Path | Policy = "ko-KR",
    *,
    batch_size: int = 32,
    threads: int | None = None,
    engine: str = "auto",
    precision: str | None = None,
    device: str = "cpu",
) -> Guard:
    """The trained guard at `model` (a suho model directory), else `$SUHO_MODEL`, else the shipped suho-ko-270m
    (in a source checkout's models/, or in `$SUHO_HOME/models/`; `suho.paths.find_model` says how to get it).

    engine: `fast` (Gemma 3 bases, CPU), `hf` (transformers + PEFT, any base, CPU or GPU) or `auto`; precision:
    `fp32` or `int8` (fast engine only; `$SUHO_PRECISION` sets the default); device: `cpu`, `cuda`, `cuda:N` or
    `auto` (see `suho.model.engine`). threads: torch threads (default: all cores).
    """
    path = find_model(model)
    pol = load_policy(policy)
    if threads:
        torch.set_num_threads(threads)
    return Guard(load_model(path, engine=engine, precision=precision, device=device), pol, batch_size=batch_size)
