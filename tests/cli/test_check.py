import json

from suho.cli.main import main
from suho.guard import MAX_WINDOWS


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
