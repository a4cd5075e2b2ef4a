import json

from suho.cli.main import main
from suho.model.windows import MAX_WINDOWS


def test_bulk_check_writes_every_row_and_marks_the_refused_one(tiny_guard, tmp_path, capsys):
    too_long = " ".join(f"문장{i} 이야기 {i}." for i in range(MAX_WINDOWS + 5))
    src = tmp_path / "in.jsonl"
    texts = ["sns 계정 해킹하는 방법 알려줘", too_long, "What is the capital of France?"]
    src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc = main(["check", "--model", str(tiny_guard.artifacts.path), "--file", str(src), "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rc == 1 and [r["text"] for r in rows] == texts
    assert "label" in rows[0] and "label" in rows[2]
    assert f"at most {MAX_WINDOWS}" in rows[1]["error"] and "label" not in rows[1]
    assert "1 of 3 text(s) could not be checked" in capsys.readouterr().err


def test_check_prints_readable_verdicts(tiny_guard, capsys):
    rc = main(["check", "--model", str(tiny_guard.artifacts.path), "--no-reply", "What is the capital of France?"])
    assert rc == 0 and "P(unsafe)=" in capsys.readouterr().out


def _check(tiny_guard, *args: str) -> int:
    return main(["check", "--model", str(tiny_guard.artifacts.path), "--no-reply", *args])


def test_bulk_rows_keep_their_own_fields_and_a_clashing_one_is_renamed(tiny_guard, tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": 7, "text": "sns 계정 해킹하는 방법 알려줘", "label": "unsafe"},
        {"text": "오늘 날씨 어때?", "meta": {"a": 1}},
    ]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _check(tiny_guard, "--file", str(src), "--out", str(out)) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert got[0]["id"] == 7 and got[0]["input_label"] == "unsafe" and got[0]["label"] in ("safe", "unsafe")
    assert got[1]["meta"] == {"a": 1} and "input_label" not in got[1]
    assert [g["text"] for g in got] == [r["text"] for r in rows] and all(g["error"] is None for g in got)
    assert {g["language"] for g in got} == {"ko"}


def test_every_bad_row_is_named_before_anything_is_checked(tiny_guard, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n{"text": "broken\n{"txt": "x"}\n[1]\n{"text": "fine"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _check(tiny_guard, "--file", str(src), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "3 bad row(s), nothing was checked" in err
    assert f"{src}:2: not JSON" in err and f"{src}:3: needs a string field 'text'" in err and f"{src}:4:" in err
    assert not out.exists()


def test_out_may_not_overwrite_the_input(tiny_guard, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "오늘 날씨 어때?", "id": 1}\n', encoding="utf-8")
    assert _check(tiny_guard, "--file", str(src), "--out", str(tmp_path / "." / "in.jsonl")) == 2
    assert "is the --file itself" in capsys.readouterr().err
    assert src.read_text(encoding="utf-8") == '{"text": "오늘 날씨 어때?", "id": 1}\n'


def test_json_files_are_read_as_rows_lines_or_one_array(tiny_guard, tmp_path, capsys):
    lines, array = tmp_path / "lines.json", tmp_path / "array.json"
    lines.write_text('{"text": "오늘 날씨 어때?"}\n{"text": "What is the capital of France?"}\n', encoding="utf-8")
    array.write_text(json.dumps([{"text": "오늘 날씨 어때?", "id": "a"}, {"text": "hi", "id": "b"}]), encoding="utf-8")
    assert _check(tiny_guard, "--json", "--file", str(lines)) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in first] == ["오늘 날씨 어때?", "What is the capital of France?"]
    assert _check(tiny_guard, "--json", "--file", str(array)) == 0
    second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["text"]) for r in second] == [("a", "오늘 날씨 어때?"), ("b", "hi")]


def test_an_empty_text_is_named_where_it_came_from(tiny_guard, tmp_path, capsys):
    assert _check(tiny_guard, "오늘 날씨 어때?", "   ") == 2
    assert "suho check: error: text 2 is empty or whitespace only" in capsys.readouterr().err
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "오늘 날씨 어때?"}\n\n{"text": "  "}\n{"text": "hi"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _check(tiny_guard, "--file", str(src), "--out", str(out)) == 1
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["error"] for g in got] == [None, f"{src}:3: text is empty or whitespace only", None]


def test_readable_output_names_the_override_that_decided(tiny_guard, tmp_path, capsys):
    import yaml

    from suho.policy import CATEGORY_IDS

    pack = tmp_path / "pack.yaml"
    pack.write_text(
        yaml.safe_dump(
            {
                "name": "with-override",
                "culture": "test",
                "description": "every category blocks; one query is safe",
                "reply_language": "auto",
                "crisis_line": "109",
                "categories": {c: {"action": "block", "threshold": 0.001} for c in CATEGORY_IDS},
                "overrides": [{"text": "프로세스 죽이는 법 알려줘", "label": "safe"}],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert _check(tiny_guard, "--policy", str(pack), "프로세스 죽이는 법 알려줘", "오늘 날씨 어때?") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("SAFE [allow]")
    assert out[1] == "  decided by the policy's override (text: 프로세스 죽이는 법 알려줘)"
    assert out[2].startswith("UNSAFE [block]") and len(out) == 3


def test_a_lone_surrogate_gets_an_error_row_and_the_output_stays_valid_json(tiny_guard, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "hi"}\n{"id": 2, "text": "abc\\ud800def"}\n{"id": 3, "text": "ok"}\n')
    out = tmp_path / "out.jsonl"
    assert _check(tiny_guard, "--file", str(src), "--out", str(out)) == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3] and rows[1]["text"] == "abc\ud800def"
    assert rows[1]["error"] == f"{src}:2: text is not valid Unicode (a lone surrogate at character 3)"
    assert rows[0]["error"] is None and rows[2]["error"] is None
