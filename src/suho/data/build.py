"""`suho data build`: seed files + capped public corpora -> deduplicated, leakage-checked train/dev JSONL.

Deterministic from the seed: the same inputs give byte-identical outputs.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from suho.data.jailbreak import build_jailbreaks
from suho.data.normalize import near_duplicates, near_matches, norm_key
from suho.data.obfuscate import balancing_chosung, training_variants
from suho.data.schema import Label, Record, read_jsonl, write_jsonl
from suho.data.sources import SOURCES, eval_texts, read_source
from suho.data.traffic import TEAM_SOURCE, reserved_texts
from suho.data.traffic import draw as draw_traffic
from suho.paths import REPO_ROOT, shared_data_dir

SEED_SOURCE = "suho-seed"
SEED_LICENSE = "CC-BY-4.0"

# (source, label, category-or-None) -> max rows. Keys absent here are not used at all.
CAPS: dict[tuple[str, str, str | None], int] = {
    ("square-valid", "unsafe", "sensitive_biased"): 400,
    ("square-valid", "unsafe", "uncertain_prediction"): 220,
    ("square-valid", "safe", None): 246,
    ("square-ood", "unsafe", "sensitive_biased"): 148,
    ("square-ood", "unsafe", "uncertain_prediction"): 93,
    ("kosbi-valid", "unsafe", "discrimination_hate"): 400,
    ("kosbi-valid", "safe", None): 400,
    ("beep", "unsafe", "discrimination_hate"): 250,
    ("beep", "unsafe", "insult_offensive"): 300,
    ("beep", "safe", None): 300,
    ("hatescore", "unsafe", "discrimination_hate"): 250,
    ("hatescore", "unsafe", "insult_offensive"): 152,
    ("hatescore", "safe", None): 500,
    ("advbench", "unsafe", "crime_advice"): 180,
    ("advbench", "unsafe", "privacy_violation"): 30,
    ("advbench", "unsafe", "self_harm"): 20,
    ("advbench", "unsafe", "discrimination_hate"): 14,
    ("advbench", "unsafe", "copyright_infringement"): 8,
    ("advbench", "unsafe", "sexual_minors"): 9,
    ("ko_stylekqc", "safe", None): 900,
    ("ko_3i4k", "safe", None): 800,
    ("ko_parakqc", "safe", None): 300,
    ("ko_mrtydi_miracl", "safe", None): 700,
    ("ko_songys_chatbot", "safe", None): 500,
    ("en_clinc150", "safe", None): 350,
    ("en_natural_questions", "safe", None): 350,
    ("en_snips", "safe", None): 120,
    ("en_oasst_eval_prompts", "safe", None): 359,
    ("en_selfinstruct_seed", "safe", None): 150,
}


# (source, label, category-or-None) -> this many more rows, drawn (by their own random stream) from the rows CAPS left
# out and pinned to train: dev, its order and the disguised copies stay exactly as they are
EXTRA_TRAIN: dict[tuple[str, str, str | None], int] = {}


# disguised copies (suho.data.obfuscate) of this many unsafe and this many safe Korean train rows. 1,600 safe copies
# (v9 candidate, with new twin pairs) did no better on disguised text and lowered the ranking; see the model card.
OBFUSCATED_UNSAFE = 1000
OBFUSCATED_SAFE = 1000
# then as many more safe 초성 copies as make Korean train rows with a consonant-only run (ㅋㅋ, ㅅㅂ, ㄷㅁㅊ) as often
# safe as unsafe (suho.data.obfuscate.balancing_chosung). On since v16: without them an abbreviated word reads as a sign
# of harm and safe 초성 queries are flagged more than their clean originals (model card, *Training*)
BALANCE_CHOSUNG = True


class LeakageError(RuntimeError):
    """A training text also appears in an evaluation set or in dev."""


@dataclass
class BuildReport:
    train: int = 0
    dev: int = 0
    obfuscated: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    near_duplicate_examples: list[str] = field(default_factory=list)
    traffic: int = 0  # rows added by the traffic stage (suho.data.traffic)
    jailbreak: int = 0  # wrapped rows added by the jailbreak stage (suho.data.jailbreak)
    benchmarks: dict[str, int] = field(default_factory=dict)  # held-out benchmark -> rows


def read_seed(seed_dir: Path) -> list[Record]:
    """All seed files (`<category>.jsonl`), validated; source/license filled in."""
    out: list[Record] = []
    for path in sorted(Path(seed_dir).glob("*.jsonl")):
        out += read_jsonl(path, defaults={"source": SEED_SOURCE, "license": SEED_LICENSE})
    return out


def _sample_public(
    rng: random.Random, report: BuildReport, root: Path, extra_rng: random.Random
) -> tuple[list[Record], list[Record]]:
    """Capped samples of every source (CAPS), and the EXTRA_TRAIN rows drawn from what the caps left out."""
    out: list[Record] = []
    extra: list[Record] = []
    for name in sorted(SOURCES):
        groups: dict[tuple, list[Record]] = defaultdict(list)
        for r in read_source(name, root):
            groups[(name, r.label.value, r.category)].append(r)
        for key in sorted(groups, key=str):
            rows = groups[key]
            cap = CAPS.get(key, 0)
            if len(rows) > cap:
                rows = rng.sample(rows, cap)
                report.dropped[f"cap:{name}"] += len(groups[key]) - cap
            out += rows
            n_extra = EXTRA_TRAIN.get(key, 0)
            if n_extra:
                taken = {id(r) for r in rows}
                left = [r for r in groups[key] if id(r) not in taken]
                extra += [replace(r, split="train") for r in extra_rng.sample(left, min(n_extra, len(left)))]
    return out, extra


def check_leakage(train: list[Record], forbidden: dict[str, list[str]]) -> None:
    """Raise LeakageError if any training text (normalised) is in a forbidden set."""
    keys = {norm_key(r.text): r.text for r in train}
    hits = []
    for name, texts in forbidden.items():
        for t in texts:
            k = norm_key(t)
            if k and k in keys:
                hits.append(f"{name}: {keys[k]!r}")
    if hits:
        raise LeakageError(f"{len(hits)} training text(s) appear in evaluation data:\n  " + "\n  ".join(hits[:20]))


def check_near_copies(rows: list[Record], forbidden: dict[str, list[str]], threshold: float = 0.45) -> None:
    """Raise LeakageError if a row we wrote ourselves paraphrases an evaluation item (char-3-gram Jaccard > 0.45).

    Exact matches are caught by check_leakage; this catches the near copies a writer may half-remember.
    """
    hits = []
    for name, texts in forbidden.items():
        for i, j, jac in near_matches([r.text for r in rows], texts, threshold):
            hits.append(f"{name}: {rows[i].text!r} ~ {texts[j]!r} ({jac})")
    if hits:
        raise LeakageError(f"{len(hits)} seed text(s) nearly copy evaluation items:\n  " + "\n  ".join(hits[:30]))


def split(records: list[Record], rng: random.Random, dev_fraction: float) -> tuple[list[Record], list[Record]]:
    """Stratified by (label/category, language): each stratum gives round(fraction * n) rows (at least 1 if n >= 5).

    Rows whose seed file already names their split (`"split": "train"|"dev"`, e.g. contrast pairs kept together) go
    there and take no part in the draw, so adding such a file leaves every other row's split as it was; adding
    pinned *train* rows leaves dev byte for byte as it was (its order included: benchmarks derived from dev, such as
    ko-obfuscated, depend on it).
    """
    strata: dict[tuple, list[Record]] = defaultdict(list)
    train, dev = [], []
    for r in records:
        if r.split in ("train", "dev"):
            (train if r.split == "train" else dev).append(r)
        else:
            strata[(r.category or "safe", r.language)].append(r)
    for key in sorted(strata):
        rows = strata[key][:]
        rng.shuffle(rows)
        n_dev = round(len(rows) * dev_fraction)
        if n_dev == 0 and len(rows) >= 5:
            n_dev = 1
        dev += [replace(r, split="dev") for r in rows[:n_dev]]
        train += [replace(r, split="train") for r in rows[n_dev:]]
    dev_rng = random.Random(rng.getrandbits(64))  # drawn before the train shuffle: train rows cannot reorder dev
    rng.shuffle(train)
    dev_rng.shuffle(dev)
    return train, dev


def build(
    seed_dir: Path = REPO_ROOT / "data" / "seed",
    out_dir: Path = REPO_ROOT / "data",
    *,
    seed: int = 1234,
    dev_fraction: float = 0.1,
    shared: Path | None = None,
    near_dup_threshold: float = 0.8,
    obfuscated: tuple[int, int] = (OBFUSCATED_UNSAFE, OBFUSCATED_SAFE),
    balance_chosung: bool = BALANCE_CHOSUNG,
    traffic: bool = True,
    eval_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> BuildReport:
    """Seed rows + capped public corpora -> train/dev; then (with `traffic`) the real-traffic stage, which adds
    train-only rows and writes its held-out benchmarks to `out_dir/benchmarks/`."""
    root = shared or shared_data_dir()
    rng = random.Random(seed)
    report = BuildReport()
    seed_rows = read_seed(seed_dir)
    progress(f"seed rows: {len(seed_rows)}")
    forbidden = eval_texts(root)
    eval_keys = {norm_key(t) for texts in forbidden.values() for t in texts}

    # Our own rows must never match an evaluation set: that is an error, not something to filter.
    check_leakage(seed_rows, forbidden)
    check_near_copies(seed_rows, forbidden)
    public, extra_public = _sample_public(rng, report, root, random.Random(seed + 2))
    progress(f"public rows after caps: {len(public)}" + (f" (+{len(extra_public)} train-only)" if extra_public else ""))
    clean_public = []
    for r in public + extra_public:
        if norm_key(r.text) in eval_keys:
            report.dropped["decontaminated (in an eval set)"] += 1
        else:
            clean_public.append(r)
    extra_ids = {id(r) for r in extra_public}  # last in the pool: a duplicate drops the extra row, never another

    # Exact dedup (seed first, so it wins), then near-duplicates.
    pool: list[Record] = []
    seen: dict[str, Record] = {}
    for r in seed_rows + clean_public:
        k = norm_key(r.text)
        if not k:
            report.dropped["empty after normalising"] += 1
            continue
        if k in seen:
            reason = "exact duplicate" if seen[k].label == r.label else "duplicate with conflicting label"
            report.dropped[reason] += 1
            continue
        seen[k] = r
        pool.append(r)
    dups = near_duplicates(
        [r.text for r in pool], threshold=near_dup_threshold, groups=[f"{r.label.value}:{r.category}" for r in pool]
    )
    drop = {i for i, _, _ in dups}
    for i, j, jac in dups[:20]:
        report.near_duplicate_examples.append(f"{pool[i].text!r} ~ {pool[j].text!r} ({jac})")
    report.dropped["near duplicate"] += len(drop)
    pool = [r for i, r in enumerate(pool) if i not in drop]

    extra_rows = [r for r in pool if id(r) in extra_ids]
    train, dev = split([r for r in pool if id(r) not in extra_ids], rng, dev_fraction)
    if any(obfuscated):
        # disguised copies of train rows only (dev's disguised copies are the ko-obfuscated benchmark)
        extra = training_variants(train, *obfuscated, seed=seed)
        if balance_chosung:
            balancing = balancing_chosung(train + extra, seed=seed + 3)
            progress(f"safe 초성 copies balancing consonant-only runs: {len(balancing)}")
            extra += balancing
        report.obfuscated = len(extra)
        progress(f"obfuscated training variants: {len(extra)}")
        train = train + extra
    if extra_rows:
        progress(f"train-only public rows (EXTRA_TRAIN): {len(extra_rows)}")
        train = train + extra_rows
    if any(obfuscated) or extra_rows:
        random.Random(seed + 1).shuffle(train)
    benches: dict[str, list[Record]] = {}
    if traffic:
        reserved = reserved_texts(eval_dir) if eval_dir else reserved_texts()
        train, dev = drop_reserved(train, report, reserved), drop_reserved(dev, report, reserved)
        added, benches = add_traffic(train, dev, root, seed, {**forbidden, **reserved}, report, progress)
        wrapped = add_jailbreaks(train + added, dev, benches, seed, {**forbidden, **reserved}, report, progress)
        train = train + added + wrapped
        random.Random(seed + 5).shuffle(train)
        forbidden = {**forbidden, **reserved, **{f"benchmark {k}": [r.text for r in v] for k, v in benches.items()}}
    check_leakage(train, {**forbidden, "dev": [r.text for r in dev]})
    report.train = write_jsonl(Path(out_dir) / "train.jsonl", train)
    report.dev = write_jsonl(Path(out_dir) / "dev.jsonl", dev)
    for name, rows in sorted(benches.items()):
        report.benchmarks[name] = write_jsonl(Path(out_dir) / "benchmarks" / f"{name}.jsonl", rows)
    progress(f"wrote {report.train} train + {report.dev} dev rows to {out_dir}")
    return report


RESERVED_NEAR = 0.45  # char-3-gram Jaccard above which a row counts as a near copy of an evaluation item


def drop_reserved(rows: list[Record], report: BuildReport, reserved: dict[str, list[str]]) -> list[Record]:
    """`rows` without exact or near copies of reserved benchmark items (rows written before those sets were reserved:
    dropping them after the split leaves every other row, and dev's order, as it was)."""
    keys = {norm_key(t) for texts in reserved.values() for t in texts}
    bad = {i for i, r in enumerate(rows) if norm_key(r.text) in keys}
    for texts in reserved.values():
        bad |= {i for i, _, _ in near_matches([r.text for r in rows], texts, RESERVED_NEAR)}
    report.dropped["copy of a reserved benchmark item"] += len(bad)
    return [r for i, r in enumerate(rows) if i not in bad]


def add_traffic(
    train: list[Record],
    dev: list[Record],
    root: Path,
    seed: int,
    forbidden: dict[str, list[str]],
    report: BuildReport,
    progress: Callable[[str], None],
) -> tuple[list[Record], dict[str, list[Record]]]:
    """The traffic stage's train rows and benchmarks, deduplicated against everything before it.

    Team-written rows that copy an evaluation item (exactly or nearly) are an error; public rows that do are dropped.
    A held-out row whose text is also a training row leaves its benchmark, so benchmarks stay unseen.
    """
    split = draw_traffic(root, seed + 10)
    team = [r for r in split.train if r.source == TEAM_SOURCE]
    team += [r for rows in split.benchmarks.values() for r in rows if r.source == TEAM_SOURCE]
    check_leakage(team, forbidden)
    check_near_copies(team, forbidden, RESERVED_NEAR)
    seen = {norm_key(r.text) for r in train + dev}
    eval_keys = {norm_key(t) for texts in forbidden.values() for t in texts}
    near_eval: set[int] = set()
    for texts in forbidden.values():
        near_eval |= {i for i, _, _ in near_matches([r.text for r in split.train], texts, RESERVED_NEAR)}
    added: list[Record] = []
    for i, r in enumerate(split.train):
        k = norm_key(r.text)
        if not k:
            continue
        if k in eval_keys or i in near_eval:
            report.dropped["traffic: copy of an evaluation item"] += 1
        elif k in seen:
            report.dropped["traffic: duplicate"] += 1
        else:
            seen.add(k)
            added.append(r)
    dups = near_duplicates(
        [r.text for r in added], threshold=0.8, groups=[f"{r.label.value}:{r.category}" for r in added]
    )
    drop = {i for i, _, _ in dups}
    report.dropped["traffic: near duplicate"] += len(drop)
    added = [r for i, r in enumerate(added) if i not in drop]
    benches: dict[str, list[Record]] = {}
    for name, rows in sorted(split.benchmarks.items()):
        kept, keys = [], set()
        for r in rows:
            k = norm_key(r.text)
            if k and k not in seen and k not in keys and k not in eval_keys:
                keys.add(k)
                kept.append(r)
        benches[name] = kept
    benches["comments-ko"] = comments_benchmark(root, seen, seed)
    report.traffic = len(added)
    progress(
        f"traffic stage: {len(added)} train rows; held out " + ", ".join(f"{k} {len(v)}" for k, v in benches.items())
    )
    return added, benches


# held-out benchmarks whose rows (requests never trained on) are wrapped for the jailbreak benchmarks
JAILBREAK_REQUESTS_FROM = ("redteam-ko", "redteam-en", "real-ko", "real-en", "lookalike-en")


def add_jailbreaks(
    train: list[Record],
    dev: list[Record],
    benches: dict[str, list[Record]],
    seed: int,
    forbidden: dict[str, list[str]],
    report: BuildReport,
    progress: Callable[[str], None],
) -> list[Record]:
    """Wrapped training rows (suho.data.jailbreak); adds the jailbreak-ko/-en benchmarks to `benches`."""
    held = [r for name in JAILBREAK_REQUESTS_FROM for r in benches.get(name, [])]
    jb = build_jailbreaks(train, held, seed + 30)
    if not jb.train:
        return []
    check_leakage(jb.train, forbidden)
    check_near_copies([r for r in jb.train if "jb:rule_only" in r.tags], forbidden, RESERVED_NEAR)
    seen = {norm_key(r.text) for r in train + dev}
    wrapped = []
    for r in jb.train:
        k = norm_key(r.text)
        if k not in seen:
            seen.add(k)
            wrapped.append(r)
    for name, rows in jb.benchmarks.items():
        benches[name] = [r for r in rows if norm_key(r.text) not in seen]
    report.jailbreak = len(wrapped)
    progress(
        f"jailbreak stage: {len(wrapped)} wrapped train rows; held out "
        + ", ".join(f"{k} {len(v)}" for k, v in jb.benchmarks.items())
    )
    return wrapped


COMMENTS_HELDOUT = {"beep": 1000, "hatescore": 500}


def comments_benchmark(root: Path, seen: set[str], seed: int) -> list[Record]:
    """Korean online comments (BEEP!, HateScore's online comments) that no training or dev row holds."""
    rng = random.Random(seed + 20)
    out: list[Record] = []
    for name, n in COMMENTS_HELDOUT.items():
        rows = [r for r in read_source(name, root) if norm_key(r.text) not in seen]
        if name == "hatescore":
            rows = [r for r in rows if r.notes != "규칙 기반 생성" and "lookalike" not in r.tags]
        rng.shuffle(rows)
        out += [replace(r, split="eval") for r in rows[:n]]
    return out


def stats(records: list[Record]) -> dict[str, Counter]:
    """Counts for the dataset card: category x language, and source x label."""
    return {
        "category_language": Counter(
            (r.category or ("safe (look-alike)" if "lookalike" in r.tags else "safe"), r.language) for r in records
        ),
        "source_label": Counter((r.source, r.label.value) for r in records),
        "with_reply": Counter(r.language for r in records if r.label == Label.UNSAFE and r.response),
        "obfuscated": Counter(
            (t.split(":", 1)[1], r.label.value) for r in records for t in r.tags if t.startswith("obfuscated:")
        ),
    }
