"""The one record schema for every dataset suho handles, and its JSONL reader/writer.

Reading validates every row and reports every bad one (line number and field); nothing is silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from suho.policy.taxonomy import CATEGORY_IDS, Label

LANGUAGES = ("ko", "en")
SPLITS = ("train", "dev", "test", "eval")


@dataclass(frozen=True)
class Record:
    text: str
    label: Label
    category: str | None
    language: str
    source: str
    license: str
    split: str | None = None
    response: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["label"] = self.label.value
        d["tags"] = list(self.tags)
        return {k: v for k, v in d.items() if v not in (None, [])}


class RecordError(ValueError):
    """Rows that failed validation; `errors` holds (line, field, message)."""

    def __init__(self, source: str, errors: list[tuple[int, str, str]]):
        self.source = source
        self.errors = errors
        shown = "\n".join(f"  {source}:{line}: {fld}: {msg}" for line, fld, msg in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{len(errors)} invalid row(s) in {source}:\n{shown}{more}")


_FIELDS = {"text", "label", "category", "language", "source", "license", "split", "response", "notes", "tags"}


def validate_row(row: Any, *, defaults: dict[str, Any] | None = None) -> tuple[Record | None, list[tuple[str, str]]]:
    """(record, []) or (None, [(field, message), ...])."""
    if not isinstance(row, dict):
        return None, [("<row>", f"must be a JSON object, got {type(row).__name__}")]
    row = {**(defaults or {}), **row}
    errs: list[tuple[str, str]] = []
    for key in row:
        if key not in _FIELDS:
            errs.append((key, "unknown field"))
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        errs.append(("text", "required non-empty string"))
    label = row.get("label")
    if label not in ("safe", "unsafe"):
        errs.append(("label", f"must be 'safe' or 'unsafe', got {label!r}"))
    category = row.get("category")
    if label == "unsafe" and category not in CATEGORY_IDS:
        errs.append(("category", f"unsafe rows need one of {', '.join(CATEGORY_IDS)}, got {category!r}"))
    if label == "safe" and category is not None:
        errs.append(("category", f"safe rows have no category, got {category!r}"))
    if row.get("language") not in LANGUAGES:
        errs.append(("language", f"must be one of {', '.join(LANGUAGES)}, got {row.get('language')!r}"))
    for key in ("source", "license"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            errs.append((key, "required non-empty string"))
    if row.get("split") is not None and row["split"] not in SPLITS:
        errs.append(("split", f"must be one of {', '.join(SPLITS)} or absent, got {row['split']!r}"))
    for key in ("response", "notes"):
        if row.get(key) is not None and not isinstance(row[key], str):
            errs.append((key, "must be a string"))
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errs.append(("tags", "must be a list of strings"))
    if errs:
        return None, errs
    return (
        Record(
            text=text,
            label=Label(label),
            category=category,
            language=row["language"],
            source=row["source"],
            license=row["license"],
            split=row.get("split"),
            response=row.get("response"),
            notes=row.get("notes"),
            tags=tuple(tags),
        ),
        [],
    )


def iter_jsonl(path: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; a JSON error is yielded as a RecordError-worthy item."""
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, line


def read_jsonl(path: Path | str, *, defaults: dict[str, Any] | None = None) -> list[Record]:
    """All records of a JSONL file; raises RecordError naming every bad line and field."""
    records: list[Record] = []
    errors: list[tuple[int, str, str]] = []
    try:
        lines = list(iter_jsonl(path))
    except UnicodeDecodeError as exc:
        raise RecordError(str(path), [(0, "<file>", f"not UTF-8: {exc}")]) from exc
    for n, line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append((n, "<json>", f"{exc.msg} at character {exc.pos + 1}"))  # its line is n, not exc.lineno
            continue
        record, errs = validate_row(row, defaults=defaults)
        errors.extend((n, f, m) for f, m in errs)
        if record:
            records.append(record)
    if errors:
        raise RecordError(str(path), errors)
    return records


def jsonl_line(record: Record) -> str:
    """The one JSONL line format for a record (UTF-8 text, no ASCII escapes, trailing newline)."""
    return json.dumps(record.to_dict(), ensure_ascii=False) + "\n"


def write_jsonl(path: Path | str, records: Iterable[Record]) -> int:
    """Write records (one JSON object per line, UTF-8, stable key order); returns the count. Atomic."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(jsonl_line(rec))
            n += 1
    tmp.replace(path)
    return n
