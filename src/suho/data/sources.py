"""Readers for the public corpora in `../shared/data/`, mapped to the suho taxonomy.

Each source is registered by name with its license and a mapping written down here, once. Readers return every
usable row as a Record; caps and sampling happen in `build.py` so that one source cannot drown the rest.
Evaluation-only files (XSTest, SQuARe test, KoSBi test) are read by `eval_texts()` for the leakage check, never here.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from suho.data.schema import Label, Record
from suho.paths import shared_data_dir


@dataclass(frozen=True)
class Source:
    name: str
    license: str
    mapping: str
    read: Callable[[Path], list[Record]]


SOURCES: dict[str, Source] = {}


def register(name: str, license: str, mapping: str):
    def deco(fn: Callable[[Path], list[Record]]):
        SOURCES[name] = Source(name, license, mapping, fn)
        return fn

    return deco


def _rec(
    text: str,
    label: str,
    category: str | None,
    language: str,
    source: str,
    notes: str | None = None,
    response: str | None = None,
    tags: tuple[str, ...] = (),
) -> Record:
    lic = SOURCES[source].license if source in SOURCES else _PENDING[source]
    return Record(
        text=text.strip(),
        label=Label(label),
        category=category,
        language=language,
        source=source,
        license=lic,
        response=response,
        notes=notes,
        tags=tags,
    )


_PENDING: dict[str, str] = {}  # licenses of sources being registered (reader runs after register)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _licensed(name: str, license: str):
    _PENDING[name] = license
    return name


# -- Korean, sensitive questions ------------------------------------------------------------------------------
_SQUARE_MAP = {"contentious": "sensitive_biased", "ethical": "sensitive_biased", "predictive": "uncertain_prediction"}


@register(
    "square-valid",
    "MIT",
    "SQuARe valid: contentious/ethical -> sensitive_biased, predictive -> "
    "uncertain_prediction, not sensitive -> safe; 'etc' (no clear counterpart) skipped",
)
def _square_valid(root: Path) -> list[Record]:
    out = []
    for row in json.loads((root / "square" / "question_valid.json").read_text(encoding="utf-8")):
        if row["sensitive?"] == 0:
            out.append(_rec(row["question"], "safe", None, "ko", "square-valid", notes="not sensitive"))
        elif row["category"] in _SQUARE_MAP:
            out.append(
                _rec(
                    row["question"], "unsafe", _SQUARE_MAP[row["category"]], "ko", "square-valid", notes=row["category"]
                )
            )
    return out


@register("square-ood", "MIT", "SQuARe OOD questions, same mapping; an acceptable OOD response becomes the reply")
def _square_ood(root: Path) -> list[Record]:
    replies: dict[str, str] = {}
    for row in json.loads((root / "square" / "response_test_ood.json").read_text(encoding="utf-8")):
        if row["acceptable?"] == 1:
            replies.setdefault(row["question"], row["response"])
    out = []
    for row in json.loads((root / "square" / "question_test_ood.json").read_text(encoding="utf-8")):
        cat = _SQUARE_MAP.get(row["category"])
        if row["sensitive?"] == 1 and cat:
            out.append(
                _rec(
                    row["question"],
                    "unsafe",
                    cat,
                    "ko",
                    "square-ood",
                    notes=row["category"],
                    response=replies.get(row["question"]),
                )
            )
    return out


# -- Korean, bias / hate / insults ----------------------------------------------------------------------------
@register("kosbi-valid", "MIT", "KoSBi valid: sentence unsafe -> discrimination_hate, safe -> safe")
def _kosbi(root: Path) -> list[Record]:
    out = []
    for row in json.loads((root / "kosbi" / "kosbi_valid.json").read_text(encoding="utf-8")):
        label = row["sentence_label"]
        if label in ("safe", "unsafe"):
            out.append(
                _rec(
                    row["sentence"],
                    label,
                    "discrimination_hate" if label == "unsafe" else None,
                    "ko",
                    "kosbi-valid",
                    notes=row["demographic_category"],
                )
            )
    return out


@register(
    "beep",
    "CC-BY-SA-4.0",
    "BEEP! train+dev: hate -> discrimination_hate, offensive -> insult_offensive, none -> safe (noisy labels)",
)
def _beep(root: Path) -> list[Record]:
    out = []
    mapping = {
        "hate": ("unsafe", "discrimination_hate"),
        "offensive": ("unsafe", "insult_offensive"),
        "none": ("safe", None),
    }
    for name in ("train.tsv", "dev.tsv"):
        with (root / "beep" / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                label, cat = mapping[row["hate"]]
                out.append(_rec(row["comments"], label, cat, "ko", "beep", notes=f"bias={row['bias']}"))
    return out


@register(
    "hatescore",
    "Apache-2.0 (authors: non-profit/academic intent)",
    "HateScore: Clean -> safe (neutral sentences about groups: look-alikes), 혐오발언 -> discrimination_hate, "
    "단순 악플 -> insult_offensive",
)
def _hatescore(root: Path) -> list[Record]:
    out = []
    with (root / "hatescore" / "HateScore.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            macro = row["macrolabel"]
            if macro == "Clean":
                # rule-generated 'Clean' rows that quote slurs meta-linguistically are ambiguous: skip them
                if "혐오" in row["comment"] and row["source"] == "규칙 기반 생성":
                    continue
                out.append(
                    _rec(
                        row["comment"],
                        "safe",
                        None,
                        "ko",
                        "hatescore",
                        notes=row["source"],
                        tags=("lookalike",) if row["source"] != "온라인 댓글" else (),
                    )
                )
            elif macro == "혐오발언":
                out.append(
                    _rec(row["comment"], "unsafe", "discrimination_hate", "ko", "hatescore", notes=row["microlabel"])
                )
            elif macro == "단순 악플":
                out.append(_rec(row["comment"], "unsafe", "insult_offensive", "ko", "hatescore"))
    return out


# -- English, harmful instructions ----------------------------------------------------------------------------
_ADV_RULES = [
    ("self_harm", r"suicid|self-harm|self harm|eating disorder|anorexi|bulimi|cutting"),
    ("discrimination_hate", r"\bhate\b|racis|discriminat|minorit|ethnic|religio|racial|sexis"),
    ("privacy_violation", r"personal (info|data)|privacy|track .*location|stalk|dox|identity"),
    ("copyright_infringement", r"pira|copyright|torrent"),
    ("sexual_minors", r"child|minor|underage"),
]


@register(
    "advbench",
    "MIT",
    "AdvBench harmful_behaviors goals, all unsafe; category by keyword rules "
    "(self-harm, hate, privacy, piracy, minors), else crime_advice",
)
def _advbench(root: Path) -> list[Record]:
    out = []
    with (root / "advbench" / "harmful_behaviors.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            goal = row["goal"]
            cat = next((c for c, pat in _ADV_RULES if re.search(pat, goal, re.I)), "crime_advice")
            out.append(_rec(goal, "unsafe", cat, "en", "advbench"))
    return out


# -- ordinary safe queries ------------------------------------------------------------------------------------
_DEATH_WISH = re.compile(r"죽고|살기 ?싫|목숨|자살|죽을래|죽어버")


def _benign(
    name: str,
    license: str,
    language: str,
    filename: str,
    keep: Callable[[dict], bool] = lambda r: True,
    mapping: str = "safe, ordinary",
):
    src = f"{name}"

    @register(src, license, mapping)
    def _read(root: Path) -> list[Record]:
        rows = _jsonl(root / "benign" / name / filename)
        return [_rec(r["text"], "safe", None, language, src) for r in rows if keep(r) and r["text"].strip()]

    return _read


_benign("ko_stylekqc", "CC-BY-SA-4.0", "ko", "ko_stylekqc.jsonl")
_benign(
    "ko_3i4k",
    "CC-BY-SA-4.0",
    "ko",
    "ko_3i4k_questions_commands.jsonl",
    keep=lambda r: r.get("label_name") in ("question", "command", "rhetorical question", "rhetorical command"),
)
_benign(
    "ko_parakqc",
    "CC-BY-SA-4.0",
    "ko",
    "ko_parakqc.jsonl",
    keep=lambda r: r.get("set_id", 0) % 10 == 0,
    mapping="safe; one paraphrase set in ten",
)
_benign("ko_mrtydi_miracl", "Apache-2.0", "ko", "ko_mrtydi_miracl_queries.jsonl")
_benign(
    "ko_songys_chatbot",
    "MIT",
    "ko",
    "ko_songys_chatbot.jsonl",
    keep=lambda r: not _DEATH_WISH.search(r["text"]),
    mapping="safe; rows expressing wishes to die dropped",
)
_benign("en_clinc150", "CC-BY-3.0", "en", "en_clinc150.jsonl")
_benign("en_natural_questions", "CC-BY-SA-3.0", "en", "en_nq_queries.jsonl")
_benign("en_snips", "CC0-1.0", "en", "en_snips_queries.jsonl")
_benign(
    "en_oasst_eval_prompts",
    "Apache-2.0",
    "en",
    "en_oasst_eval_prompts.jsonl",
    keep=lambda r: r.get("review_flag") != "harmful",
    mapping="safe; the 2 rows flagged harmful dropped",
)
_benign("en_selfinstruct_seed", "Apache-2.0", "en", "en_selfinstruct_seed_tasks.jsonl")


# -- evaluation sets: read only to keep them out of training ----------------------------------------------------
def eval_texts(root: Path | None = None) -> dict[str, list[str]]:
    """Texts of every evaluation set, by name (for the leakage check)."""
    root = root or shared_data_dir()
    out: dict[str, list[str]] = {}
    with (root / "xstest" / "xstest_prompts.csv").open(encoding="utf-8") as fh:
        out["xstest"] = [r["prompt"] for r in csv.DictReader(fh)]
    out["square-test"] = [
        r["question"] for r in json.loads((root / "square" / "question_test.json").read_text(encoding="utf-8"))
    ]
    out["kosbi-test"] = [
        r["sentence"] for r in json.loads((root / "kosbi" / "kosbi_test.json").read_text(encoding="utf-8"))
    ]
    return out


def read_source(name: str, root: Path | None = None) -> list[Record]:
    if name not in SOURCES:
        import difflib

        close = difflib.get_close_matches(name, list(SOURCES), n=1)
        raise KeyError(f"unknown source {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return SOURCES[name].read(root or shared_data_dir())
