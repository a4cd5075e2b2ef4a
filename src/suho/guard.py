"""Inference: `detect` (one forward pass, label-token probabilities only) and `respond` (safeguard reply).

The policy is applied *after* the model: per-category scores s_c = P(unsafe) * P(c | unsafe). Categories the policy
`allow`s are ignored. If the summed score of `block` categories reaches the threshold of the highest-scoring one, the
verdict is block (category = that one); otherwise if the summed score of `block` + `caution` categories reaches the
threshold of the highest of those, the verdict is caution. Summing keeps a query that the model splits between two
harms (e.g. crime vs. privacy) from slipping under both thresholds. Switching policy needs no reload.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from suho.data.schema import Label
from suho.model.adapter import decoder, load_guard_model, output_matrix
from suho.model.fast import FastGemma3
from suho.model.format import WINDOW_TOKENS, prompt_ids
from suho.paths import REPO_ROOT
from suho.policy import CATEGORY_IDS, Action, Category, Policy, load_policy
from suho.policy.overrides import Override
from suho.policy.pack import crisis_numbers
from suho.policy.taxonomy import taxonomy
from suho.text.lang import detect_language
from suho.text.normalize import normalize_query, text_problem

DEFAULT_MODEL = REPO_ROOT / "models" / "suho-ko-270m"
MAX_PROMPT_TOKENS = 256  # reply prompts: longer queries keep their head and tail
# detection: a text up to WINDOW_TOKENS tokens (or the model's own `whole_tokens`) is read whole, longer ones sentence
# by sentence
SENTENCE_TOKENS = 96  # a window: one sentence plus the one before it, at most this many tokens
SENTENCE_STRIDE = 64  # a sentence longer than SENTENCE_TOKENS is cut into pieces overlapping by 32 tokens
MAX_WINDOWS = 1024  # ~27k characters of Korean prose (26 per window, measured); longer is an error, not a cut
_SENTENCE_END = re.compile(r"(?<=[.!?。？！…~\n])\s+|\n+")


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
    # the policy override that decided this verdict instead of the model's scores ("text: ..." / "pattern: ...")
    override: str | None = None

    @property
    def flagged(self) -> bool:
        return self.label == Label.UNSAFE

    def under(self, policy: Policy, text: str | None = None) -> Verdict:
        """This verdict decided under another policy, without another forward pass (the scores carry all of it).

        A policy with overrides also needs the query `text` (as given to `detect`), to match them."""
        if policy.overrides and text is None:
            raise ValueError(f"policy {policy.name!r} has overrides: pass the query text to match them")
        ov = policy.overrides.match(normalize_query(text)) if policy.overrides else None
        scores = [self.category_scores[c] for c in CATEGORY_IDS]
        label, category, action, _ = decide(1.0, scores, policy, ov)
        return replace(self, label=label, category=category, action=action, policy=policy.name, override=_describe(ov))


@dataclass(frozen=True)
class Reply:
    text: str
    category: Category
    language: str
    truncated: bool = False  # hit max_new_tokens before the end-of-turn token
    fallback: bool = False  # generation was empty; a fixed reply was used instead
    crisis_line_added: bool = False  # self-harm reply lacked the policy's crisis line; the guard appended it
    template: bool = False  # the taxonomy's fixed reply (policy reply_mode: template), not generated


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    reply: Reply | None = None


_CRISIS_SENTENCE = {
    "ko": "혼자 견디지 마시고 {line}에 연락해 보세요.",
    "en": "You don't have to go through this alone: please reach out to {line}.",
}

_FALLBACK = {
    "ko": "죄송하지만 이 요청은 도와드리기 어려워요. 다른 궁금한 점이 있으면 말씀해 주세요.",
    "en": "Sorry, I can't help with that request. Is there something else I can help you with?",
}


def decide(
    p_unsafe: float, p_cat: Sequence[float], policy: Policy, override: Override | None = None
) -> tuple[Label, Category | None, Action, dict[str, float]]:
    """Apply a policy to model probabilities (or to the pack's `override` for this query, which decides instead of
    them; the scores are the model's either way). Pure function: unit-tested without a model."""
    scores = {c: float(p_unsafe * p) for c, p in zip(CATEGORY_IDS, p_cat)}
    if override is not None:
        return (*overridden(override, policy), scores)
    for action_set, action in (({Action.BLOCK}, Action.BLOCK), ({Action.BLOCK, Action.CAUTION}, Action.CAUTION)):
        cats = [c for c in CATEGORY_IDS if policy.rule(c).action in action_set]
        if not cats:
            continue
        top = max(cats, key=lambda c: scores[c])
        if sum(scores[c] for c in cats) >= policy.rule(top).threshold:
            return Label.UNSAFE, Category(top), action, scores
    return Label.SAFE, None, Action.ALLOW, scores


def overridden(override: Override, policy: Policy) -> tuple[Label, Category | None, Action]:
    """The decision a policy override gives: it replaces the model's reading, and the policy still acts on it (an
    unsafe override in a category the policy allows is allowed)."""
    if override.label == Label.SAFE.value or override.category is None:
        return Label.SAFE, None, Action.ALLOW
    action = policy.rule(override.category).action
    if action == Action.ALLOW:
        return Label.SAFE, None, Action.ALLOW
    return Label.UNSAFE, Category(override.category), action


def _describe(override: Override | None) -> str | None:
    return override.describe() if override is not None else None


class Guard:
    """A loaded guard model plus an active policy. Thread-compatible for reads; one forward at a time."""

    def __init__(self, model, tokenizer, tmap, artifacts, policy: Policy, batch_size: int = 32, body=None):
        """`model`: the merged HF model (reference path), or None with `body` a FastGemma3 (fast path)."""
        self.model = model
        self.tokenizer = tokenizer
        self.tmap = tmap
        self.artifacts = artifacts
        self.policy = policy
        self.batch_size = batch_size
        self._body = body if body is not None else decoder(model)
        # the hf engine may sit on a GPU (load_guard(device=...)); the fast engine is CPU-only
        self._device = next(model.parameters()).device if model is not None else torch.device("cpu")
        self._label_rows = artifacts.label_rows.to(self._device)
        self._reply_vocab = artifacts.reply_vocab
        out = output_matrix(model) if model is not None else self._body.embed  # Gemma ties input and output
        self._reply_rows = out.detach()[self._reply_vocab].clone()
        self._eot_row = int((self._reply_vocab == tmap.end_of_turn).nonzero()[0, 0])
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self._template_tokens = len(prompt_ids(tokenizer, ""))  # BOS + chat turn around the query
        self.whole_tokens = int(artifacts.meta.get("whole_tokens", WINDOW_TOKENS))

    @property
    def name(self) -> str:
        return self.artifacts.path.name

    @property
    def engine(self) -> str:
        """`fast-fp32` / `fast-int8` (suho.model.fast) or `hf` (the transformers reference path)."""
        return f"fast-{self._body.precision}" if isinstance(self._body, FastGemma3) else "hf"

    def with_policy(self, policy: str | Path | Policy) -> Guard:
        """The same loaded model under another policy (no reload)."""
        return Guard(
            self.model, self.tokenizer, self.tmap, self.artifacts, load_policy(policy), self.batch_size, self._body
        )

    # -- detection ---------------------------------------------------------------------------------------------
    def _prompt(self, text: str) -> list[int]:
        # disguises (decomposed jamo, spaced or symbol-separated syllables, fullwidth, zero-width) are undone first;
        # clean text is unchanged by construction (suho.text.normalize)
        ids = prompt_ids(self.tokenizer, normalize_query(text))
        if len(ids) > MAX_PROMPT_TOKENS:
            half = MAX_PROMPT_TOKENS // 2
            ids = ids[:half] + ids[-(MAX_PROMPT_TOKENS - half) :]
        return ids

    def windows_needed(self, text: str) -> int:
        """How many detection windows `text` takes (1 unless it is over `whole_tokens` tokens; see `_windows`), without
        running the model: a server screens requests with it before they reach the model."""
        text = normalize_query(text)
        n_tokens = len(prompt_ids(self.tokenizer, text)) - self._template_tokens
        return 1 if n_tokens <= self.whole_tokens else len(self._pieces(text))

    def _windows(self, text: str) -> list[list[int]]:
        """Detection inputs for one text: the whole prompt, or for a long text one short window per sentence.

        A harmful request hidden in a long harmless text must still be caught, so long texts are not truncated. The
        model reads a query's intent at its end (it is trained on single queries), so each window *ends* at a
        sentence: the sentence plus the one before it, at most SENTENCE_TOKENS tokens (a longer sentence is cut into
        overlapping pieces). The text takes the verdict of its most unsafe window. `text` is already normalised.
        """
        whole = prompt_ids(self.tokenizer, text)  # the common case: one tokenization, one window
        n_tokens = len(whole) - self._template_tokens
        if n_tokens <= self.whole_tokens:
            return [whole + [self.tmap.unsafe]]
        pieces = self._pieces(text)
        if len(pieces) > MAX_WINDOWS:
            raise ValueError(
                f"text of {len(text)} characters ({n_tokens} tokens) needs {len(pieces)} windows; the guard reads at "
                f"most {MAX_WINDOWS} (about {MAX_WINDOWS * 26:,} characters of ordinary prose): split it (e.g. per "
                "message) and check the parts"
            )
        out = []
        for i, (piece, n) in enumerate(pieces):
            if i and n + pieces[i - 1][1] <= SENTENCE_TOKENS:
                piece = pieces[i - 1][0] + " " + piece
            out.append(prompt_ids(self.tokenizer, piece) + [self.tmap.unsafe])
        return out

    def _pieces(self, text: str) -> list[tuple[str, int]]:
        """A long text's sentences (a sentence over SENTENCE_TOKENS cut into overlapping pieces), each with its
        token count: one detection window ends at each."""
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

    @torch.inference_mode()
    def _score(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, float]]]:
        """Label and category probabilities for prompt+<unsafe> sequences, batched by length (one forward each);
        per sequence also (batch number, seconds that batch took)."""
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        p_unsafe = torch.zeros(len(seqs))
        p_cat = torch.zeros(len(seqs), len(CATEGORY_IDS))
        secs = [(0, 0.0)] * len(seqs)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            t0 = time.perf_counter()
            width = max(len(seqs[i]) for i in idx)
            ids = torch.full((len(idx), width), self._pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(seqs[i])] = torch.tensor(seqs[i])
                mask[r, : len(seqs[i])] = 1
            ids, mask = ids.to(self._device), mask.to(self._device)
            hidden = self._body(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            last = torch.tensor([len(seqs[i]) - 1 for i in idx], device=self._device)
            rows = torch.arange(len(idx), device=self._device)
            h_label, h_cat = hidden[rows, last - 1], hidden[rows, last]
            pl = torch.softmax(h_label @ self._label_rows[:2].T, -1)[:, 1]
            pc = torch.softmax(h_cat @ self._label_rows[2 : 2 + len(CATEGORY_IDS)].T, -1)
            pl, pc = pl.float().cpu(), pc.float().cpu()
            dt = time.perf_counter() - t0
            for r, i in enumerate(idx):
                p_unsafe[i], p_cat[i], secs[i] = pl[r], pc[r], (b, dt)
        return p_unsafe, p_cat, secs

    def probabilities(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
        """(P(unsafe) [N], P(category | unsafe) [N, 10], seconds per item): one forward pass per length bucket.

        Long texts are scored window by window (see `_windows`); each takes its most unsafe window's probabilities.
        """
        _check_texts(texts)
        return self._probabilities([normalize_query(t) for t in texts])

    def _probabilities(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
        """`probabilities` of texts already normalised."""
        *_, result = self._probability_steps(texts, None)
        return result

    def _probability_steps(self, texts: Sequence[str], windows_per_step: int | None):
        """`_probabilities` scored at most `windows_per_step` windows at a time (None: all at once): yields None
        after each step but the last, then the result."""
        windows = [self._windows(t) for t in texts]
        flat = [w for ws in windows for w in ws]
        step = windows_per_step or max(1, len(flat))
        pu = torch.zeros(len(flat))
        pc = torch.zeros(len(flat), len(CATEGORY_IDS))
        timing: list[tuple[tuple[int, int], float]] = [((0, 0), 0.0)] * len(flat)
        by_length = sorted(range(len(flat)), key=lambda j: len(flat[j]))  # each step's batches pad little, as one run's
        for first in range(0, len(flat), step):
            idx = by_length[first : first + step]
            u, c, t = self._score([flat[j] for j in idx])
            pu[idx], pc[idx] = u, c
            for j, (b, dt) in zip(idx, t, strict=True):
                timing[j] = ((first, b), dt)  # a batch is (step, batch number): counted once per text
            if first + step < len(flat):
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
        for result in self._probability_steps(normalised, windows_per_step):
            if result is None:
                yield None
        p_unsafe, p_cat, secs = result
        out = []
        for i, text in enumerate(normalised):
            ov = pol.overrides.match(text)
            label, cat, action, scores = decide(float(p_unsafe[i]), p_cat[i].tolist(), pol, ov)
            out.append(
                Verdict(
                    label=label,
                    category=cat,
                    action=action,
                    p_unsafe=round(float(p_unsafe[i]), 6),
                    category_scores={k: round(v, 6) for k, v in scores.items()},
                    model_category=Category(CATEGORY_IDS[int(p_cat[i].argmax())]),
                    language=detect_language(text),  # as normalised: `tkfdls qkdqjq` is Korean
                    policy=pol.name,
                    latency_ms=round(secs[i] * 1000, 2),
                    override=_describe(ov),
                )
            )
        yield out

    # -- replies -----------------------------------------------------------------------------------------------
    def reply_language(self, text: str, policy: Policy | None = None) -> str:
        lang = (policy or self.policy).reply_language
        # the query as the model read it: Korean typed in English keyboard mode or romanised is Korean
        return detect_language(normalize_query(text)) if lang == "auto" else lang

    @torch.inference_mode()
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
        writes it after prefilling `<unsafe> <category> <language>` (so any query can be forced).

        A self-harm reply always carries the policy's crisis line: the model is trained to give it, and when the
        generated text lacks it the guard appends one fixed sentence (`Reply.crisis_line_added`), because a
        missing number there is the one reply error that must never reach a user.
        """
        _check_texts([text])
        pol = load_policy(policy) if policy is not None else self.policy
        if category is None:
            category = verdict.category or verdict.model_category if verdict else self.detect([text])[0].model_category
        cat = Category(category)
        lang = language or self.reply_language(text, pol)
        if lang not in self.tmap.languages:
            raise ValueError(f"language {lang!r} is not a reply language; use one of {', '.join(self.tmap.languages)}")
        mode = mode or pol.reply_mode
        line = pol.crisis_line_for(lang)
        if mode == "template":
            return Reply(taxonomy()[cat].reply[lang].format(crisis_line=line), cat, lang, template=True)
        if mode != "generated":
            raise ValueError(f"mode must be 'template' or 'generated', got {mode!r}")
        ids = self._prompt(text) + [self.tmap.unsafe, self.tmap.category_token(cat.value), self.tmap.languages[lang]]
        out = self._body(input_ids=torch.tensor([ids], device=self._device), use_cache=True)
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
            out = self._body(input_ids=torch.tensor([[tok]], device=self._device), cache=cache, use_cache=True)
            cache, h = out.cache, out.last_hidden_state[:, -1]
        reply = self.tokenizer.decode(gen, skip_special_tokens=True).strip()
        fallback = not reply
        if fallback:
            reply = _FALLBACK[lang]
        added = cat == Category.SELF_HARM and not has_crisis_line(reply, line)
        if added:
            reply = f"{reply} {_CRISIS_SENTENCE[lang].format(line=line)}"
        return Reply(reply, cat, lang, truncated=not ended, fallback=fallback, crisis_line_added=added)

    def check(
        self, texts: str | Sequence[str], *, force_reply: bool = False, policy: str | Policy | None = None
    ) -> list[CheckResult]:
        """Detect, then generate a reply where the policy blocks (or for every text with force_reply)."""
        pol = load_policy(policy) if policy is not None else self.policy
        texts = _as_list(texts)  # once: an iterator would be used up by detect
        verdicts = self.detect(texts, policy=pol)
        results = []
        for text, v in zip(texts, verdicts):
            need = force_reply or v.action == Action.BLOCK
            reply = self.respond(text, v, policy=pol) if need else None
            results.append(CheckResult(v, reply))
        return results


def has_crisis_line(reply: str, crisis_line: str) -> bool:
    """True when the reply gives the crisis line: any of its phone numbers (3+ digits), else its full text."""
    numbers = crisis_numbers(crisis_line)
    if numbers:
        return any(n in reply for n in numbers)
    return crisis_line.strip() in reply


def _looping(gen: list[int], n: int = 6) -> bool:
    """True when the last n tokens repeat the n before them (greedy decoding stuck in a loop)."""
    return len(gen) >= 2 * n and gen[-n:] == gen[-2 * n : -n]


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


ENGINES = ("auto", "fast", "hf")


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
    """The trained guard: `model` (a suho model dir), else `$SUHO_MODEL`, else the shipped `models/suho-ko-270m`.

    engine: `fast` (suho.model.fast: Gemma 3 bases; merged weights cached once, memory-mapped), `hf` (transformers
    + PEFT, any base: the reference path), `auto` (fast when the base supports it). precision: `fp32` (default) or
    `int8` (fast engine only; `$SUHO_PRECISION` sets the default). device: `cpu` (default), `cuda`, `cuda:N` or `auto`;
    a GPU runs the hf engine (the fast engine is built for CPUs), so `auto` engine picks hf there.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    precision = precision or os.environ.get("SUHO_PRECISION") or "fp32"
    from suho.model.base import resolve_device

    dev = resolve_device(device)
    if dev.type != "cpu":
        if engine == "fast":
            raise ValueError(f"the fast engine runs on the CPU; device {device!r} needs engine='hf' (or 'auto')")
        engine = "hf"
    if threads:
        torch.set_num_threads(threads)
    path = Path(model or os.environ.get("SUHO_MODEL") or DEFAULT_MODEL).expanduser()
    pol = load_policy(policy)
    from suho.model.runtime import load_fast

    fast = load_fast(path, precision=precision) if engine != "hf" else None
    if fast is not None:
        body, tok, tmap, art = fast
        return Guard(None, tok, tmap, art, pol, batch_size=batch_size, body=body)
    if engine == "fast":
        raise ValueError(f"the fast engine runs Gemma 3 bases only; {path.name}'s base needs engine='hf'")
    if precision != "fp32":
        raise ValueError(f"precision {precision!r} needs the fast engine (Gemma 3 bases); the hf engine runs fp32")
    m, tok, tmap, art = load_guard_model(path)
    return Guard(m.to(dev), tok, tmap, art, pol, batch_size=batch_size)
