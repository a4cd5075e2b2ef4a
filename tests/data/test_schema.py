import json

import pytest

from suho.data.schema import Label, Record, RecordError, read_jsonl, write_jsonl


def _row(**kw):
    base = {"text": "오늘 날씨 어때?", "label": "safe", "language": "ko", "source": "t", "license": "MIT"}
    base.update(kw)
    return base


def test_roundtrip(tmp_path):
    recs = [
        Record("sns 계정 해킹", Label.UNSAFE, "crime_advice", "ko", "s", "MIT", response="안 돼요.", tags=("x",)),
        Record("hello", Label.SAFE, None, "en", "s", "MIT", split="dev"),
    ]
    p = tmp_path / "a.jsonl"
    assert write_jsonl(p, recs) == 2
    assert read_jsonl(p) == recs
    assert "\\u" not in p.read_text(encoding="utf-8")  # Korean stays readable


def test_every_bad_row_is_reported_with_line_and_field(tmp_path):
    p = tmp_path / "bad.jsonl"
    lines = [
        json.dumps(_row()),
        json.dumps(_row(label="unsafe")),  # no category
        "{not json",
        "",
        json.dumps(_row(language="fr", extra=1)),
        json.dumps(_row(category="crime_advice")),  # safe with a category
        json.dumps(_row(text="   ")),
    ]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as err:
        read_jsonl(p)
    found = {(line, fld) for line, fld, _ in err.value.errors}
    assert {(2, "category"), (3, "<json>"), (5, "language"), (5, "extra"), (6, "category"), (7, "text")} <= found
    assert (1, "text") not in found
    assert "bad.jsonl:2: category" in str(err.value)
    (json_error,) = [m for line, fld, m in err.value.errors if fld == "<json>"]
    assert json_error == "Expecting property name enclosed in double quotes at character 2"  # no parser 'line 1'


def test_defaults_fill_missing_fields(tmp_path):
    p = tmp_path / "seed.jsonl"
    p.write_text(json.dumps({"text": "x y", "label": "safe", "category": None, "language": "en"}) + "\n")
    rec = read_jsonl(p, defaults={"source": "seed", "license": "CC-BY-4.0"})[0]
    assert rec.source == "seed" and rec.license == "CC-BY-4.0"


def test_not_utf8(tmp_path):
    p = tmp_path / "latin.jsonl"
    p.write_bytes(b'{"text": "caf\xe9"}\n')
    with pytest.raises(RecordError, match="not UTF-8"):
        read_jsonl(p)
