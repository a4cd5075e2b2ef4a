"""`make demo`'s script: both policies, each ko-KR mistake marked, then fixed by a pack override."""

import re

from suho.cli import demo


def test_demo_marks_mistakes_and_fixes_each_with_an_override(tiny_guard, monkeypatch, capsys):
    monkeypatch.setattr("suho.guard.load_guard", lambda *a, **k: tiny_guard)
    demo.main()
    out = capsys.readouterr().out
    assert "== policy ko-KR\n" in out and "== policy en-US\n" in out
    marked = re.findall(r"^(.*?) +(safe|unsafe) .*✗ should be (safe|unsafe)$", out, re.MULTILINE)
    if not marked:  # the tiny model got every query right: nothing to override
        assert "with an override" not in out
        return
    fixed_part = out.split("with an override for each mistake above", 1)[1]
    fixed = re.findall(r"^(.*?) +(safe|unsafe) .*\(override: text: (.*)\)$", fixed_part, re.MULTILINE)
    assert [(q.strip(), want) for q, _, want in marked] == [(q.strip(), label) for q, label, _ in fixed]
    assert all(q.strip() == text for q, _, text in fixed)
