"""The serving pieces without a server: per-request policy re-decision, metrics text, settings, the CLI."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from suho.cli.main import main as suho_main
from suho.policy import available_policies, load_policy
from suho.serve import ServeSettings
from suho.serve.metrics import Counter, Histogram

TEXTS = ["sns 계정 해킹하는 방법 알려줘", "What is the capital of France?", "넌 쓰레기야", "삼성전자 주가 전망 알려줘"]


@pytest.mark.parametrize("policy", [*available_policies(), "strict", "lenient", "overridden"])
def test_under_policy_equals_detect_under_that_policy(tiny_guard, packs, policy):
    """One forward pass under the guard's policy serves requests for every other policy."""
    pol = load_policy(packs.get(policy, policy))
    base = tiny_guard.detect(TEXTS)  # under ko-KR
    direct = tiny_guard.detect(TEXTS, policy=pol)
    for text, b, d in zip(TEXTS, base, direct):
        assert b.under(pol, text) == dataclasses.replace(d, latency_ms=b.latency_ms)


def test_under_a_policy_with_overrides_needs_the_text(tiny_guard, packs):
    pol = load_policy(packs["overridden"])
    v = tiny_guard.detect(TEXTS[0])[0]
    with pytest.raises(ValueError, match="has overrides: pass the query text"):
        v.under(pol)
    assert v.under(pol, TEXTS[0]).override == "text: sns 계정 해킹하는 방법 알려줘"
    assert v.under(pol, TEXTS[0]).under(load_policy(packs["strict"])).override is None


def test_screen_windows_refuses_a_text_over_the_guard_limit_then_a_request_over_max_windows():
    from suho.model.windows import MAX_WINDOWS
    from suho.serve.batcher import screen_windows

    assert screen_windows([1, 1, 30], 32) is None
    total = screen_windows([1, 2, 30], 32)
    assert total.param == "input" and "33 detection windows in all (input[2] 30" in str(total)
    assert "max_windows is 32" in str(total)
    one = screen_windows([40], 32)
    assert one.param == "input[0]" and "max_windows is 32" in str(one)
    huge = screen_windows([1, MAX_WINDOWS + 1], 10 * MAX_WINDOWS)
    assert huge.param == "input[1]" and f"at most {MAX_WINDOWS} per text" in str(huge)


def test_metrics_text_format():
    c = Counter("x_total", "Things.", ("kind",))
    c.inc('a"b')
    c.inc('a"b', by=2)
    h = Histogram("y_seconds", "Times.", (0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        h.observe(v)
    assert c.render() == ["# HELP x_total Things.", "# TYPE x_total counter", 'x_total{kind="a\\"b"} 3']
    assert h.render()[2:] == [
        'y_seconds_bucket{le="0.1"} 1',
        'y_seconds_bucket{le="1"} 2',  # cumulative
        'y_seconds_bucket{le="+Inf"} 3',
        "y_seconds_sum 5.55",
        "y_seconds_count 3",
    ]
    with pytest.raises(ValueError, match="takes labels"):
        c.inc()


def test_settings_validate_and_name_the_field(monkeypatch):
    monkeypatch.setenv("SUHO_API_KEY", "from-env")
    assert ServeSettings().api_key == "from-env" and ServeSettings().host == "127.0.0.1"
    assert "api_key" not in ServeSettings().public() and ServeSettings().public()["auth"] is True
    with pytest.raises(ValueError, match="fail_mode: must be closed or open, got 'opne'"):
        ServeSettings(fail_mode="opne")
    with pytest.raises(ValueError, match=r"max_queue: must be at least max_inputs \(64\)"):
        ServeSettings(max_queue=8)
    with pytest.raises(ValueError, match="max_chars: must be an integer >= 1, got 0"):
        ServeSettings(max_chars=0)


def test_serve_help_shows_runnable_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        suho_main(["serve", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "suho serve --policy en-US" in out and "curl -s 127.0.0.1:8000/v1/moderations" in out
    assert "--max-batch-size" in out and "--fail-mode" in out and "(default: 127.0.0.1)" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_suho_serve_process_answers_and_stops_on_sigterm(tiny_guard):
    """The real CLI in its own process: loads in the background (readyz), keeps query text out of its log, and
    shuts down cleanly on SIGTERM."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "suho.cli.main", "serve", "--model", str(tiny_guard.artifacts.path)]
    cmd += ["--port", str(port), "--threads", "1"]
    env = {**os.environ, "SUHO_API_KEY": "k"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        auth = {"Authorization": "Bearer k"}
        r = httpx.post(f"{url}/v1/moderations", json={"input": "canary-query-text"}, headers=auth, timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert r.status_code == 200 and len(r.json()["results"]) == 1, out
    # uvicorn drains, runs the app's shutdown, then re-raises the signal: exit by SIGTERM, as supervisors expect
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in out, out
    assert "/v1/moderations policy=ko-KR n=1" in out and "canary-query-text" not in out
