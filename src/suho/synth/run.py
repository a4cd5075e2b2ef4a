"""`synthesize()`: loop categories x kinds against a teacher until each reaches its target, resumably.

Every accepted row is appended to the output JSONL and flushed at once, so a run that dies (network, quota, Ctrl-C)
loses at most the batch in flight: the next run reads the file, counts what each (category, kind, language) already
has, and only asks for what is missing. A category whose batches keep yielding nothing new (the teacher refuses, or
has run out of ideas) is given up after `max_empty_batches`, so a run always ends.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from tqdm import tqdm

from suho.config import option
from suho.data.schema import LANGUAGES, Label, Record, jsonl_line, read_jsonl, write_jsonl
from suho.paths import REPO_ROOT
from suho.policy.pack import load_policy
from suho.policy.taxonomy import CATEGORY_IDS, taxonomy
from suho.synth.client import ChatClient, Messages, Teacher
from suho.synth.filters import Deduper, clean_reply, parse_list, reject_reason
from suho.synth.prompts import KINDS, harmful_prompt, lookalike_prompt, reply_prompt, seed_examples, seed_rows

LICENSE = "generated (teacher terms apply)"
SYNTH_TAG = "synthetic"
LOOKALIKE_OF = "lookalike_of:"  # tag prefix naming the category a look-alike imitates (safe rows have no category)
REPLY_TRIES = 2


@dataclass
class SynthConfig:
    base_url: str = option(
        "http://localhost:8000/v1", "OpenAI-compatible endpoint root; requests go to <base-url>/chat/completions"
    )
    model: str = option("", "teacher model name as the endpoint knows it (required unless --dry-run)")
    api_key_env: str = option(
        "OPENAI_API_KEY", "environment variable holding the API key, sent as a Bearer token if set"
    )
    policy: str = option(
        "",
        "policy pack (name or YAML path) whose crisis line self-harm replies must give "
        "(default: ko-KR for ko, en-US for en)",
    )
    categories: tuple[str, ...] = option(CATEGORY_IDS, "taxonomy categories to generate")
    kinds: tuple[str, ...] = option(
        KINDS,
        "harmful: unsafe queries; lookalike: safe queries using the same words; "
        "reply: a safeguard reply stored with each new harmful query",
    )
    language: str = option("ko", "language of everything generated: ko or en")
    per_category: int = option(
        100, "target rows per category for each of harmful and lookalike, counting rows already in the output"
    )
    batch_size: int = option(10, "items asked for per request")
    temperature: float = option(1.0, "sampling temperature for query lists (replies use at most 0.7)")
    max_tokens: int = option(1024, "completion token limit per request")
    max_retries: int = option(5, "retries per request on connection errors, timeouts, 429 and 5xx")
    timeout: float = option(120.0, "seconds per HTTP request")
    out: str = option("", "output JSONL, appended to and resumed from (default data/synth/<language>.jsonl)")
    seed: int = option(0, "seed for few-shot sampling (same seed and file state give the same prompts)")
    seed_dir: str = option(
        "",
        "directory of <category>.jsonl seed files for few-shot examples (default: the repo's "
        "data/seed; taxonomy examples where a file is missing)",
    )
    shots: int = option(3, "few-shot examples per prompt")
    max_empty_batches: int = option(3, "give a category up after this many consecutive batches with no new row")
    near_dup_threshold: float = option(0.7, "char-3-gram Jaccard above which a text is a near-duplicate")

    def __post_init__(self) -> None:
        self.categories, self.kinds = tuple(self.categories), tuple(self.kinds)
        errors = [
            f"categories: unknown {c!r}{_suggest(c, CATEGORY_IDS)}" for c in self.categories if c not in CATEGORY_IDS
        ]
        errors += [f"kinds: unknown {k!r}{_suggest(k, KINDS)}" for k in self.kinds if k not in KINDS]
        if self.language not in LANGUAGES:
            errors.append(f"language: must be one of {', '.join(LANGUAGES)}, got {self.language!r}")
        for name in ("batch_size", "max_empty_batches"):
            if getattr(self, name) < 1:
                errors.append(f"{name}: must be at least 1, got {getattr(self, name)}")
        for name in ("per_category", "max_retries", "shots"):
            if getattr(self, name) < 0:
                errors.append(f"{name}: must not be negative, got {getattr(self, name)}")
        if errors:
            raise ValueError("invalid SynthConfig:\n" + "\n".join(f"  - {e}" for e in errors))

    @property
    def out_path(self) -> Path:
        return Path(self.out or f"data/synth/{self.language}.jsonl")

    @property
    def seed_path(self) -> Path:
        return Path(self.seed_dir) if self.seed_dir else REPO_ROOT / "data" / "seed"

    @property
    def crisis_line(self) -> str:
        pol = load_policy(self.policy or ("ko-KR" if self.language == "ko" else "en-US"))
        return pol.crisis_line_for(self.language)


def _suggest(value: str, options) -> str:
    close = difflib.get_close_matches(value, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class SynthReport:
    """What a run did: rows per (category, kind), why items were rejected, what ran out before its target."""

    out: Path
    existing: Counter = field(default_factory=Counter)  # (category, kind) -> rows found at start
    written: Counter = field(default_factory=Counter)  # (category, kind) -> rows appended by this run
    replies: int = 0  # safeguard replies stored (with new rows or filled into old ones)
    rejected: Counter = field(default_factory=Counter)  # reason -> items
    exhausted: list[tuple[str, str]] = field(default_factory=list)  # gave up after max_empty_batches
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def existing_counts(records: list[Record], language: str) -> Counter:
    """(category, 'harmful' | 'lookalike') -> synthetic rows of `language` already in the output."""
    counts: Counter = Counter()
    for r in records:
        if SYNTH_TAG not in r.tags or r.language != language:
            continue
        if r.label == Label.UNSAFE:
            counts[(r.category, "harmful")] += 1
        for tag in r.tags:
            if tag.startswith(LOOKALIKE_OF):
                counts[(tag[len(LOOKALIKE_OF) :], "lookalike")] += 1
    return counts


def _repair_tail(path: Path, log: Callable[[str], None]) -> None:
    """A run killed mid-write leaves a partial last line: drop it (it was never counted), or end a whole one."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    try:
        json.loads(data[cut:])
    except ValueError:
        with path.open("r+b") as fh:
            fh.truncate(cut)
        log(f"{path}: dropped a partial last line left by an interrupted run")
    else:
        with path.open("ab") as fh:
            fh.write(b"\n")


def _append(fh: IO[str], record: Record) -> None:
    """One JSON line (the shared `jsonl_line` format), flushed so a crash cannot lose an accepted row."""
    fh.write(jsonl_line(record))
    fh.flush()


class _Run:
    """State of one `synthesize` call: teacher, dedup index, report."""

    def __init__(self, cfg: SynthConfig, teacher: Teacher, records: list[Record], report: SynthReport) -> None:
        self.cfg, self.teacher, self.report = cfg, teacher, report
        self.crisis_line = cfg.crisis_line
        number = re.search(r"\d{3,}", self.crisis_line)
        self.crisis_number = number.group(0) if number else None
        self.dedup = Deduper(cfg.near_dup_threshold)
        # Seeds and taxonomy examples count as already written: teachers like to hand the few-shot examples back.
        for cat in CATEGORY_IDS:
            rows = seed_rows(str(cfg.seed_path), cat)
            for label in Label:
                self.dedup.add([r.text for r in rows if r.label == label], label.value)
        self.dedup.add([t for info in taxonomy().values() for t in info.examples], Label.UNSAFE.value)
        for label in Label:
            self.dedup.add([r.text for r in records if r.label == label], label.value)

    def ask(self, messages: Messages, temperature: float, max_tokens: int) -> str:
        result = self.teacher.chat(messages, temperature=temperature, max_tokens=max_tokens)
        self.report.requests += 1
        self.report.prompt_tokens += result.usage.prompt_tokens
        self.report.completion_tokens += result.usage.completion_tokens
        return result.text

    def reply(self, category: str, query: str) -> str | None:
        """A validated safeguard reply, or None after REPLY_TRIES (the row is kept; a later run fills it in)."""
        cfg = self.cfg
        ex = seed_examples(
            category, cfg.language, k=min(cfg.shots, 2), seed=f"{cfg.seed}:reply:{query}", seed_dir=cfg.seed_path
        )
        shots = [p for p in ex.replies if p[0] != query]
        messages = reply_prompt(category, cfg.language, query, shots, self.crisis_line)
        for _ in range(REPLY_TRIES):
            text = clean_reply(self.ask(messages, min(cfg.temperature, 0.7), min(cfg.max_tokens, 400)))
            crisis = self.crisis_number if category == "self_harm" else None
            reason = reject_reason(
                text, kind="reply", language=cfg.language, min_chars=10, max_chars=400, crisis_number=crisis
            )
            if reason is None:
                self.report.replies += 1
                return text
            self.report.rejected[f"reply:{reason}"] += 1
        return None

    def batch(self, category: str, kind: str, done: int, empty: int) -> list[str]:
        """One request for `batch_size` items; returns the new, valid, non-duplicate ones (not yet recorded)."""
        cfg = self.cfg
        ex = seed_examples(
            category, cfg.language, k=cfg.shots, seed=f"{cfg.seed}:{kind}:{done}:{empty}", seed_dir=cfg.seed_path
        )
        if kind == "harmful":
            messages = harmful_prompt(category, cfg.language, cfg.batch_size, ex.harmful)
        else:
            messages = lookalike_prompt(category, cfg.language, cfg.batch_size, ex.harmful, ex.lookalike)
        valid = []
        for item in parse_list(self.ask(messages, cfg.temperature, cfg.max_tokens)):
            reason = reject_reason(item, kind=kind, language=cfg.language)
            if reason:
                self.report.rejected[reason] += 1
            else:
                valid.append(item)
        fresh, dups = self.dedup.filter(valid, _group(kind))
        for _, reason in dups:
            self.report.rejected[reason] += 1
        return fresh

    def record(self, category: str, kind: str, text: str, response: str | None) -> Record:
        harmful = kind == "harmful"
        return Record(
            text=text,
            label=Label.UNSAFE if harmful else Label.SAFE,
            category=category if harmful else None,
            language=self.cfg.language,
            source=f"synth:{self.cfg.model}",
            license=LICENSE,
            response=response,
            tags=(SYNTH_TAG,) if harmful else (SYNTH_TAG, "lookalike", f"{LOOKALIKE_OF}{category}"),
        )


def _group(kind: str) -> str:
    return Label.UNSAFE.value if kind == "harmful" else Label.SAFE.value


def _backfill_replies(run: _Run, records: list[Record], path: Path, progress: bool) -> None:
    """Give a reply to earlier synthetic unsafe rows that lack one; the file is rewritten (atomically) even if
    the teacher fails part-way, so replies already obtained are kept."""
    cfg = run.cfg
    todo = [
        i
        for i, r in enumerate(records)
        if SYNTH_TAG in r.tags
        and r.label == Label.UNSAFE
        and not r.response
        and r.language == cfg.language
        and r.category in cfg.categories
    ]
    if not todo:
        return
    records = list(records)
    try:
        for i in tqdm(todo, desc="synth replies", disable=not progress):
            response = run.reply(records[i].category, records[i].text)
            if response:
                records[i] = replace(records[i], response=response)
    finally:
        write_jsonl(path, records)


def synthesize(
    cfg: SynthConfig, client: Teacher | None = None, *, progress: bool = True, log: Callable[[str], None] = print
) -> SynthReport:
    """Generate until every (category, kind) of `cfg` has `per_category` rows in `cfg.out_path` or is exhausted."""
    if not cfg.model:
        raise ValueError("model is required: the teacher model's name as the endpoint knows it")
    path = cfg.out_path
    path.parent.mkdir(parents=True, exist_ok=True)
    _repair_tail(path, log)
    records = read_jsonl(path) if path.is_file() else []
    report = SynthReport(out=path, existing=existing_counts(records, cfg.language))
    own = (
        None
        if client
        else ChatClient(
            cfg.base_url,
            cfg.model,
            api_key_env=cfg.api_key_env,
            timeout=cfg.timeout,
            max_retries=cfg.max_retries,
            on_retry=log,
        )
    )
    teacher: Teacher = client or own  # type: ignore[assignment]
    try:
        run = _Run(cfg, teacher, records, report)
        if "reply" in cfg.kinds:
            _backfill_replies(run, records, path, progress)
        tasks = [(c, k) for c in cfg.categories for k in ("harmful", "lookalike") if k in cfg.kinds]
        missing = {t: max(0, cfg.per_category - report.existing[t]) for t in tasks}
        with (
            path.open("a", encoding="utf-8", newline="\n") as fh,
            tqdm(total=sum(missing.values()), desc="synth", disable=not progress) as bar,
        ):
            for category, kind in tasks:
                empty = 0
                while missing[(category, kind)] > 0 and empty < cfg.max_empty_batches:
                    done = report.existing[(category, kind)] + report.written[(category, kind)]
                    fresh = run.batch(category, kind, done, empty)[: missing[(category, kind)]]
                    for text in fresh:
                        with_reply = kind == "harmful" and "reply" in cfg.kinds
                        _append(fh, run.record(category, kind, text, run.reply(category, text) if with_reply else None))
                        run.dedup.add([text], _group(kind))
                        report.written[(category, kind)] += 1
                        missing[(category, kind)] -= 1
                        bar.update(1)
                    empty = 0 if fresh else empty + 1
                if missing[(category, kind)] > 0:
                    report.exhausted.append((category, kind))
                    log(
                        f"{category}/{kind}: no new rows in {cfg.max_empty_batches} batches in a row; "
                        f"stopping {missing[(category, kind)]} short of {cfg.per_category}"
                    )
    finally:
        if own is not None:
            own.close()
    return report


def preview(cfg: SynthConfig) -> list[tuple[str, str, Messages]]:
    """(category, kind, messages) of the first request of each task, for `--dry-run`; calls nothing."""
    out = []
    for category in cfg.categories:
        ex = seed_examples(category, cfg.language, k=cfg.shots, seed=f"{cfg.seed}:preview", seed_dir=cfg.seed_path)
        if "harmful" in cfg.kinds:
            out.append((category, "harmful", harmful_prompt(category, cfg.language, cfg.batch_size, ex.harmful)))
        if "lookalike" in cfg.kinds:
            out.append(
                (
                    category,
                    "lookalike",
                    lookalike_prompt(category, cfg.language, cfg.batch_size, ex.harmful, ex.lookalike),
                )
            )
        if "reply" in cfg.kinds:
            query = ex.harmful[0]
            shots = [p for p in ex.replies if p[0] != query][:2]
            out.append((category, "reply", reply_prompt(category, cfg.language, query, shots, cfg.crisis_line)))
    return out
