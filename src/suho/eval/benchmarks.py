"""Benchmarks by name, each a list of labelled items with its label mapping written down once."""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from suho.data.schema import read_jsonl
from suho.paths import REPO_ROOT, shared_data_dir


@dataclass(frozen=True)
class Item:
    text: str
    label: str  # safe / unsafe
    category: str | None = None
    language: str = "ko"
    group: str | None = None  # e.g. XSTest prompt type, look-alike tag, source
    original: str | None = None  # a disguised item's clean text: the report compares each item with its original


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    load: Callable[[], list[Item]]
    test_set: bool = False  # results are reported on it: never fit anything to it (training, thresholds)


BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, description: str, test_set: bool = False):
    def deco(fn):
        BENCHMARKS[name] = Benchmark(name, description, fn, test_set)
        return fn

    return deco


def _from_records(path: Path, language: str | None = None) -> list[Item]:
    items = []
    for r in read_jsonl(path):
        if language and r.language != language:
            continue
        group = "lookalike" if "lookalike" in r.tags else r.source
        items.append(Item(r.text, r.label.value, r.category, r.language, group))
    return items


@register("ko-dev", "our dev split, Korean rows (data/dev.jsonl)")
def _ko_dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl", "ko")


@register("en-dev", "our dev split, English rows")
def _en_dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl", "en")


@register("dev", "our whole dev split")
def _dev() -> list[Item]:
    return _from_records(REPO_ROOT / "data" / "dev.jsonl")


@register(
    "ko-obfuscated",
    "Korean dev rows, each disguised three ways by suho.data.obfuscate (jamo, spacing, separators, zero-width, "
    "초성, digit swaps, romanisation, repeats); group = 'kind · label'. Never trained on: training copies come from "
    "train rows only",
    test_set=True,
)
def _ko_obfuscated() -> list[Item]:
    from suho.data.obfuscate import BENCHMARK_KINDS

    return _disguised_dev(BENCHMARK_KINDS, per_record=3)


def _disguised_dev(kinds: tuple[str, ...], per_record: int, language: str = "ko") -> list[Item]:
    """Dev rows of one language disguised by suho.data.obfuscate (seed 7), each item naming its clean original."""
    from suho.data.obfuscate import variants

    rows = [r for r in read_jsonl(REPO_ROOT / "data" / "dev.jsonl") if r.language == language]
    return [
        Item(r.text, r.label.value, r.category, language, f"{kind} · {r.label.value}", original)
        for r, kind, original in variants(rows, kinds=kinds, per_record=per_record, seed=7, language=language)
    ]


@register(
    "ko-keyboard",
    "Korean dev rows typed with the keyboard in English mode (`eoakch` for 대마초): the whole query or one word, "
    "by suho.data.obfuscate; group = 'keyboard · label'. Never trained on",
    test_set=True,
)
def _ko_keyboard() -> list[Item]:
    return _disguised_dev(("keyboard",), per_record=1)


@register(
    "en-obfuscated",
    "English dev rows with one key word disguised by suho.data.obfuscate: digits for letters (`b0mb`) or look-alike "
    "Cyrillic letters (`kіll`); group = 'kind · label'. Never trained on",
    test_set=True,
)
def _en_obfuscated() -> list[Item]:
    return _disguised_dev(("leet", "homoglyph"), per_record=1, language="en")


@register("xstest", "XSTest v2 (Röttger et al. 2024): label column as is; group = prompt type", test_set=True)
def _xstest() -> list[Item]:
    with (shared_data_dir() / "xstest" / "xstest_prompts.csv").open(encoding="utf-8") as fh:
        return [Item(r["prompt"], r["label"], None, "en", r["type"]) for r in csv.DictReader(fh)]


@register(
    "kosbi-test", "KoSBi test: sentence_label unsafe -> unsafe (discrimination_hate), safe -> safe", test_set=True
)
def _kosbi() -> list[Item]:
    rows = json.loads((shared_data_dir() / "kosbi" / "kosbi_test.json").read_text(encoding="utf-8"))
    return [
        Item(
            r["sentence"],
            r["sentence_label"],
            "discrimination_hate" if r["sentence_label"] == "unsafe" else None,
            "ko",
            r["demographic_category"],
        )
        for r in rows
        if r["sentence_label"] in ("safe", "unsafe")
    ]


@register(
    "square-test",
    "SQuARe test: contentious/ethical -> sensitive_biased, predictive -> uncertain_prediction "
    "(unsafe under ko-KR), not sensitive -> safe; 'etc' rows skipped",
    test_set=True,
)
def _square() -> list[Item]:
    m = {"contentious": "sensitive_biased", "ethical": "sensitive_biased", "predictive": "uncertain_prediction"}
    rows = json.loads((shared_data_dir() / "square" / "question_test.json").read_text(encoding="utf-8"))
    out = []
    for r in rows:
        if r["sensitive?"] == 0:
            out.append(Item(r["question"], "safe", None, "ko", "not sensitive"))
        elif r["category"] in m:
            out.append(Item(r["question"], "unsafe", m[r["category"]], "ko", r["category"]))
    return out


def load_benchmark(name: str) -> list[Item]:
    """A registered benchmark, or `file:PATH.jsonl` for any file in the suho schema."""
    if name.startswith("file:"):
        return _from_records(Path(name[5:]))
    if name not in BENCHMARKS:
        close = difflib.get_close_matches(name, list(BENCHMARKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown benchmark {name!r}{hint}; known: {', '.join(BENCHMARKS)}, file:PATH.jsonl")
    return BENCHMARKS[name].load()
