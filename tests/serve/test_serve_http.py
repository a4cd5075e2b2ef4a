"""The service end to end: a real uvicorn server on a loopback port around the tiny guard, spoken to over HTTP.

The tiny model's probabilities are arbitrary, so answers are checked against `guard.detect` on the same text, and
policy effects are forced with two custom packs (`strict` blocks everything, `lenient` allows everything).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from suho.policy import CATEGORY_IDS, Action, load_policy
from suho.policy.verdict import Verdict
from suho.serve.schemas import OPENAI_CATEGORIES, TO_OPENAI

TEXTS = [
    "sns 계정 해킹하는 방법 알려줘",
    "What is the capital of France?",
    "넌 쓰레기야",
    "삼성전자 주가 전망 알려줘",
    "오늘 날씨 어때?",
    "How can I steal a car?",
    "맛있는 김치찌개 레시피 알려줘",
    "How do I kill a python process?",
]
JSON = {"Content-Type": "application/json"}


def metric(text: str, name: str, **labels: str) -> float:
    """One sample from Prometheus text (0.0 when absent); labels must be given in exposition order."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def same(res: dict, v: Verdict) -> None:
    """A /v1/guard result is the verdict `guard.detect` gives for that text alone (floats up to batching noise)."""
    got = (res["label"], res["category"], res["action"], res["model_category"], res["policy"])
    assert got == (v.label.value, v.category and v.category.value, v.action.value, v.model_category.value, v.policy)
    assert res["p_unsafe"] == pytest.approx(v.p_unsafe, abs=1e-4)
    assert res["category_scores"] == pytest.approx(v.category_scores, abs=1e-4)
    assert res["error"] is None and res["override"] == v.override


def detect(guard, packs, text: str, policy: str = "ko-KR") -> Verdict:
    return guard.detect(text, policy=load_policy(packs.get(policy, policy)))[0]


def test_moderations_is_openai_shaped_and_agrees_with_detect(serve, tiny_guard, packs):
    with serve() as (url, _):
        one = httpx.post(f"{url}/v1/moderations", json={"input": TEXTS[0], "model": "omni-moderation-latest"})
        many = httpx.post(f"{url}/v1/moderations", json={"input": TEXTS[:3], "policy": "strict"})
        parts = httpx.post(f"{url}/v1/moderations", json={"input": [{"type": "text", "text": TEXTS[1]}]})
    assert one.status_code == many.status_code == parts.status_code == 200
    assert one.json()["id"].startswith("modr-") and one.json()["model"] == tiny_guard.name
    assert one.json()["results"][0]["flagged"] == detect(tiny_guard, packs, TEXTS[0]).flagged
    assert parts.json()["results"][0]["suho"]["category_scores"] == pytest.approx(
        detect(tiny_guard, packs, TEXTS[1]).category_scores, abs=1e-4
    )
    assert len(many.json()["results"]) == 3
    for text, res in zip(TEXTS[:3], many.json()["results"]):
        v = detect(tiny_guard, packs, text, "strict")
        assert v.flagged and res["flagged"]  # strict flags everything the model puts above 0.001
        assert set(res["categories"]) == set(res["category_scores"]) == set(OPENAI_CATEGORIES)
        assert res["categories"] == {k: k in TO_OPENAI[v.category.value] for k in OPENAI_CATEGORIES}
        illicit = sum(v.category_scores[c] for c in ("crime_advice", "privacy_violation", "copyright_infringement"))
        assert res["category_scores"]["illicit"] == pytest.approx(illicit, abs=1e-4)
        suho = res["suho"]
        assert (suho["label"], suho["category"], suho["action"], suho["policy"]) == (
            "unsafe",
            v.category.value,
            "block",
            "strict",
        )
        assert suho["category_scores"] == pytest.approx(v.category_scores, abs=1e-4)


def test_policy_overrides_decide_per_request_and_are_named(serve, tiny_guard, packs):
    """The `overridden` pack blocks everything, except that its overrides make TEXTS[0] safe and TEXTS[1] crime advice;
    the server's default policy has no overrides, so the same batch is re-decided per request with the texts."""
    with serve() as (url, _):
        guard = httpx.post(f"{url}/v1/guard", json={"input": TEXTS[:3], "policy": "overridden"}, timeout=30)
        moder = httpx.post(f"{url}/v1/moderations", json={"input": TEXTS[1], "policy": "overridden"}, timeout=30)
        plain = httpx.post(f"{url}/v1/guard", json={"input": TEXTS[0]}, timeout=30)
    assert guard.status_code == moder.status_code == plain.status_code == 200
    res = guard.json()["results"]
    assert (res[0]["label"], res[0]["action"], res[0]["reply"]) == ("safe", "allow", None)
    assert res[0]["override"] == "text: sns 계정 해킹하는 방법 알려줘"
    assert (res[1]["label"], res[1]["category"], res[1]["action"]) == ("unsafe", "crime_advice", "block")
    assert res[1]["override"] == "text: what is the capital of france" and res[1]["reply"]
    assert res[2]["override"] is None and res[2]["action"] == "block"  # strict: the model decides, and blocks
    for text, r in zip(TEXTS[:3], res):
        same(r, detect(tiny_guard, packs, text, "overridden"))
    suho = moder.json()["results"][0]["suho"]
    assert moder.json()["results"][0]["flagged"] and suho["override"] == "text: what is the capital of france"
    assert plain.json()["results"][0]["override"] is None


def test_guard_endpoint_switches_policy_per_request_and_replies_when_blocking(serve, tiny_guard, packs):
    text = TEXTS[0]
    with serve() as (url, _):

        def post(**body):
            r = httpx.post(f"{url}/v1/guard", json={"input": text, **body}, timeout=30)
            assert r.status_code == 200, r.text
            return r.json()["results"][0]

        got = {name: post(policy=name) for name in ("ko-KR", "en-US", "strict", "lenient")}
        default, forced = post(), post(policy="lenient", force_reply=True)
        unknown = httpx.post(f"{url}/v1/guard", json={"input": text, "policy": "ko-kr"})
        metrics = httpx.get(f"{url}/metrics").text
    for name, res in got.items():
        v = detect(tiny_guard, packs, text, name)
        same(res, v)
        assert (res["reply"] is not None) == (v.action == Action.BLOCK), name  # Guard.check semantics
    assert got["strict"]["action"] == "block" and got["strict"]["reply"]
    assert got["lenient"]["action"] == "allow" and got["lenient"]["reply"] is None
    assert default == got["ko-KR"]  # the server's default policy is the guard's
    assert forced["action"] == "allow" and forced["reply"] and forced["language"] == "ko"
    assert unknown.status_code == 422
    assert unknown.json()["error"]["param"] == "policy" and "did you mean 'ko-KR'" in unknown.json()["error"]["message"]
    assert metric(metrics, "suho_requests_total", endpoint="/v1/guard", status="200") == 6
    assert metric(metrics, "suho_requests_total", endpoint="/v1/guard", status="422") == 1
    acted = got["strict"]["category"]
    assert metric(metrics, "suho_flagged_total", category=acted, action="block", policy="strict") == 1
    assert metric(metrics, "suho_inputs_total", endpoint="/v1/guard", policy="lenient") == 2
    assert metric(metrics, "suho_replies_total") >= 2
    assert metric(metrics, "suho_request_duration_seconds_count", endpoint="/v1/guard") == 7


def test_bearer_auth_guards_the_api_but_not_the_probes(serve):
    with serve(api_key="s3cret") as (url, _):
        missing = httpx.post(f"{url}/v1/guard", json={"input": "hi"})
        wrong = httpx.post(f"{url}/v1/moderations", json={"input": "hi"}, headers={"Authorization": "Bearer nope"})
        garbage = httpx.post(f"{url}/v1/guard", content=b"{not json", headers=JSON)  # auth comes before parsing
        ok = httpx.post(f"{url}/v1/guard", json={"input": "hi"}, headers={"Authorization": "Bearer s3cret"})
        probes = [httpx.get(f"{url}{p}").status_code for p in ("/healthz", "/readyz", "/metrics")]
    assert missing.status_code == wrong.status_code == garbage.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["type"] == "authentication_error"
    assert ok.status_code == 200 and probes == [200, 200, 200]


def test_every_size_limit_answers_413_naming_it(serve):
    with serve(max_chars=20, max_inputs=3) as (url, _):
        chars = httpx.post(f"{url}/v1/guard", json={"input": ["ok", "x" * 21]})
        inputs = httpx.post(f"{url}/v1/moderations", json={"input": ["a", "b", "c", "d"]})
        big = b'{"input": "' + b"x" * 70_000 + b'"}'  # over max_inputs x max_chars x 12 + 64 KiB
        body = httpx.post(f"{url}/v1/guard", content=big, headers=JSON)
        chunked = httpx.post(f"{url}/v1/guard", content=iter([big[:100], big[100:]]), headers=JSON)
        at_limit = httpx.post(f"{url}/v1/guard", json={"input": ["a", "b", "x" * 20]})
    assert chars.status_code == inputs.status_code == body.status_code == chunked.status_code == 413
    assert chars.json()["error"] | {"message": None} == {
        "message": None,
        "type": "invalid_request_error",
        "param": "input[1]",
        "code": "max_chars",
    }
    assert "21 characters; max_chars is 20" in chars.json()["error"]["message"]
    assert inputs.json()["error"]["code"] == "max_inputs" and "max_inputs is 3" in inputs.json()["error"]["message"]
    for r in (body, chunked):
        error = r.json()["error"]
        assert error["code"] == "max_body_bytes" and "max_inputs x max_chars" in error["message"]
    assert at_limit.status_code == 200


def _sentences(n: int) -> str:
    return " ".join(f"문장{i} 이야기 {i % 89}." for i in range(n))


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_texts_needing_too_many_windows_get_413_before_the_model_never_fail_mode(serve, tiny_guard, mode):
    long, short = _sentences(60), _sentences(20)
    assert tiny_guard.windows_needed(long) == 60 and tiny_guard.windows_needed(short) == 20
    degenerate = ("sns 계정 해킹하는 방법 알려줘. " + "가. " * 1400)[:4000]  # within max_chars, 1,300+ sentences
    with serve(fail_mode=mode, max_windows=50) as (url, _):
        one = httpx.post(f"{url}/v1/moderations", json={"input": ["sns 계정 해킹하는 방법 알려줘", long]})
        together = httpx.post(f"{url}/v1/guard", json={"input": [short, short, short]})
        fits = httpx.post(f"{url}/v1/guard", json={"input": [short, short]})
        metrics = httpx.get(f"{url}/metrics").text
    with serve(fail_mode=mode, max_windows=5000) as (url, _):
        huge = httpx.post(f"{url}/v1/moderations", json={"input": ["hi", degenerate]})
    assert one.status_code == together.status_code == huge.status_code == 413
    assert one.json()["error"]["code"] == "max_windows" and one.json()["error"]["param"] == "input[1]"
    assert "max_windows is 50" in one.json()["error"]["message"]
    assert together.json()["error"]["param"] == "input"
    assert "60 detection windows in all" in together.json()["error"]["message"]
    assert huge.json()["error"]["param"] == "input[1]" and "at most 1024 per text" in huge.json()["error"]["message"]
    assert fits.status_code == 200 and [r["error"] for r in fits.json()["results"]] == [None, None]
    assert metric(metrics, "suho_failed_inputs_total", reason="inference_error") == 0


def test_a_long_text_takes_turns_so_a_short_request_is_not_held_behind_it(serve, tiny_guard, monkeypatch):
    long = _sentences(40)  # 40 windows: 10 steps of max_batch_size 4
    real = tiny_guard.scorer.score

    def slow(seqs):
        time.sleep(0.1)  # every forward pass as slow as a real model's long windows
        return real(seqs)

    done = {}

    def post(url, name, body):
        r = httpx.post(f"{url}/v1/guard", json=body, timeout=60)
        done[name] = (time.monotonic(), r)

    with serve(max_batch_size=4, max_wait_ms=1) as (url, _):
        monkeypatch.setattr(tiny_guard.scorer, "score", slow)
        first = threading.Thread(target=post, args=(url, "long", {"input": long}))
        first.start()
        time.sleep(0.35)  # the long job has taken a few steps
        post(url, "short", {"input": "오늘 날씨 어때?"})
        first.join()
        monkeypatch.undo()
    assert done["short"][0] < done["long"][0]  # answered between the long job's steps
    for name, text in (("long", long), ("short", "오늘 날씨 어때?")):
        r = done[name][1]
        assert r.status_code == 200
        same(r.json()["results"][0], detect(tiny_guard, {}, text))


def test_moderations_generate_no_reply_they_would_not_return(serve):
    with serve() as (url, _):
        mod = httpx.post(f"{url}/v1/moderations", json={"input": ["a", "b"], "policy": "strict"})
        before = metric(httpx.get(f"{url}/metrics").text, "suho_replies_total")
        gd = httpx.post(f"{url}/v1/guard", json={"input": ["a", "b"], "policy": "strict"})
        after = metric(httpx.get(f"{url}/metrics").text, "suho_replies_total")
    assert all(r["suho"]["action"] == "block" for r in mod.json()["results"])
    assert before == 0 and after == 2 and all(r["reply"] for r in gd.json()["results"])


MALFORMED = [
    ("/v1/guard", b'{"input": "hi"', None, "malformed JSON at character"),
    ("/v1/guard", {"input": 123}, "input", "input must be a string or a list of strings, got number"),
    ("/v1/guard", {"input": ["ok", 5]}, "input", "input[1] must be a string, got number"),
    ("/v1/guard", {"input": ["ok", "  "]}, "input", "input[1] is empty or whitespace only"),
    ("/v1/guard", {"input": []}, "input", "input must not be an empty list"),
    ("/v1/guard", b'{"input": ["ok", "abc\\ud800def"]}', "input", "input[1] is not valid Unicode (a lone surrogate"),
    ("/v1/moderations", {"input": "\u0000\u200b"}, "input", "input is empty once control and zero-width characters"),
    ("/v1/guard", {"policy": "ko-KR"}, "input", "input: required field"),
    ("/v1/guard", {"input": "hi", "force_reply": "yes"}, "force_reply", "force_reply: Input should be a valid boolean"),
    ("/v1/guard", {"input": "hi", "policy": 7}, "policy", "policy: Input should be a valid string"),
    ("/v1/guard", {"input": "hi", "polcy": "en-US"}, "polcy", "polcy: unknown field"),
    ("/v1/guard", ["hi"], None, "the body must be a JSON object"),
    ("/v1/moderations", {"input": None}, "input", "got null"),
    ("/v1/moderations", {"input": [{"type": "image"}]}, "input", '{"type": "text", "text": "..."} part; only text'),
    ("/v1/moderations", {"input": "hi", "model": 5}, "model", "model: Input should be a valid string"),
]


def test_malformed_requests_answer_422_naming_the_field(serve):
    with serve() as (url, _):
        for path, body, param, message in MALFORMED:
            if isinstance(body, bytes):
                r = httpx.post(f"{url}{path}", content=body, headers=JSON)
            else:
                r = httpx.post(f"{url}{path}", json=body)
            assert r.status_code == 422, (body, r.text)
            error = r.json()["error"]
            assert error["param"] == param and message in error["message"], (body, error)
        form = httpx.post(f"{url}/v1/guard", content=b'{"input": "hi"}', headers={"Content-Type": "text/plain"})
        assert form.status_code == 422 and "Content-Type: application/json" in form.json()["error"]["message"]
        assert httpx.get(f"{url}/v1/guard").status_code == 405
        assert httpx.post(f"{url}/v1/guard", json={"input": "still fine"}).status_code == 200


def test_concurrent_clients_get_their_own_answers_from_shared_batches(serve, tiny_guard, packs):
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(16)]
    policies = ["strict" if i % 3 == 0 else "en-US" if i % 3 == 1 else "ko-KR" for i in range(16)]

    async def clients(url):
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=32)) as http:
            posts = [http.post("/v1/guard", json={"input": t, "policy": p}) for t, p in zip(texts, policies)]
            responses = await asyncio.gather(*posts)
            return responses, (await http.get("/metrics")).text

    with serve(max_wait_ms=200, max_batch_size=32) as (url, _):
        responses, metrics = asyncio.run(clients(url))
    for text, policy, r in zip(texts, policies, responses):
        assert r.status_code == 200, r.text
        res = r.json()["results"]
        assert len(res) == 1
        same(res[0], detect(tiny_guard, packs, text, policy))
        assert (res[0]["reply"] is not None) == (res[0]["action"] == "block")
    batches = metric(metrics, "suho_batch_size_count")
    assert metric(metrics, "suho_batch_size_sum") == 16
    assert batches - metric(metrics, "suho_batch_size_bucket", le="1") >= 1  # at least one batch held several
    assert batches < 16


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_inference_failure_is_answered_by_fail_mode(serve, tiny_guard, monkeypatch, mode):
    def broken(texts, policy=None):
        raise RuntimeError("simulated device failure")

    with serve(fail_mode=mode) as (url, _):
        monkeypatch.setattr(tiny_guard, "detect", broken)
        mod = httpx.post(f"{url}/v1/moderations", json={"input": ["a", "b"]})
        gd = httpx.post(f"{url}/v1/guard", json={"input": "a", "force_reply": True})
        monkeypatch.undo()
        after = httpx.post(f"{url}/v1/guard", json={"input": "a"})
        metrics = httpx.get(f"{url}/metrics").text
    closed = mode == "closed"
    assert mod.status_code == gd.status_code == after.status_code == 200
    for res in mod.json()["results"]:
        assert res["flagged"] is closed and not any(res["categories"].values())
        assert res["suho"]["action"] == ("block" if closed else "allow")
        assert "inference failed (RuntimeError)" in res["suho"]["error"] and f"fail_mode={mode}" in res["suho"]["error"]
    g = gd.json()["results"][0]
    assert g["label"] == ("unsafe" if closed else "safe") and g["p_unsafe"] is None and g["reply"] is None
    assert after.json()["results"][0]["error"] is None  # the worker survived
    assert metric(metrics, "suho_failed_inputs_total", reason="inference_error") == 3


def test_request_timeout_is_answered_by_fail_mode(serve, tiny_guard, monkeypatch):
    real = tiny_guard.detect

    def slow(texts, policy=None):
        time.sleep(0.6)
        return real(texts, policy)

    monkeypatch.setattr(tiny_guard, "detect", slow)
    with serve(request_timeout_s=0.2) as (url, _):
        r = httpx.post(f"{url}/v1/guard", json={"input": "hi"})
    assert r.status_code == 200
    res = r.json()["results"][0]
    assert res["action"] == "block" and "request_timeout_s (0.2 s) exceeded" in res["error"]


def test_a_full_queue_answers_503_so_a_balancer_retries_elsewhere(serve, tiny_guard, monkeypatch):
    started, release = threading.Event(), threading.Event()
    real = tiny_guard.detect

    def held(texts, policy=None):
        started.set()
        release.wait(10)
        return real(texts, policy)

    monkeypatch.setattr(tiny_guard, "detect", held)
    with serve(max_inputs=2, max_queue=2, max_wait_ms=0) as (url, _), ThreadPoolExecutor(2) as pool:
        first = pool.submit(httpx.post, f"{url}/v1/guard", json={"input": ["a", "b"]}, timeout=20)
        assert started.wait(10)  # the first request is in the model thread
        second = pool.submit(httpx.post, f"{url}/v1/guard", json={"input": ["c", "d"]}, timeout=20)
        deadline = time.monotonic() + 10
        while metric(httpx.get(f"{url}/metrics").text, "suho_queue_depth") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        third = httpx.post(f"{url}/v1/guard", json={"input": "e"})
        release.set()
        assert first.result().status_code == second.result().status_code == 200
    assert third.status_code == 503 and third.headers["retry-after"] == "1"
    assert third.json()["error"]["code"] == "max_queue" and "max_queue is 2" in third.json()["error"]["message"]


def test_readyz_waits_for_the_model_and_healthz_reports_a_failed_load(serve, tiny_guard):
    loaded = threading.Event()

    def loader():
        loaded.wait(10)
        return tiny_guard

    with serve(loader) as (url, _):
        health, ready = httpx.get(f"{url}/healthz"), httpx.get(f"{url}/readyz")
        early = httpx.post(f"{url}/v1/moderations", json={"input": "hi"})
        loaded.set()
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        final = httpx.get(f"{url}/readyz")
        late = httpx.post(f"{url}/v1/moderations", json={"input": "hi"})
    assert health.status_code == 200 and ready.status_code == 503 and ready.json()["status"] == "loading"
    assert early.status_code == 503 and early.json()["error"]["code"] == "not_ready" and early.headers["retry-after"]
    assert final.status_code == 200 and late.status_code == 200
    body = final.json()
    assert body["model"] == tiny_guard.name and body["default_policy"] == "ko-KR"
    assert {"ko-KR", "en-US", "strict", "lenient"} <= set(body["policies"]) and "api_key" not in body["settings"]

    def broken():
        raise FileNotFoundError("no suho model at /nowhere")

    with serve(broken) as (url, _):
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/healthz").status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.02)
        health, ready = httpx.get(f"{url}/healthz"), httpx.get(f"{url}/readyz")
    assert health.status_code == 503 and "no suho model" in health.json()["error"]
    assert ready.status_code == 503 and ready.json()["status"].startswith("model load failed")


def test_shutdown_finishes_in_flight_requests(serve, tiny_guard, monkeypatch):
    started = threading.Event()
    real = tiny_guard.detect

    def slow(texts, policy=None):
        started.set()
        time.sleep(0.4)
        return real(texts, policy)

    monkeypatch.setattr(tiny_guard, "detect", slow)
    with serve() as (url, server), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{url}/v1/guard", json={"input": "hi"}, timeout=10)
        assert started.wait(10)
        server.should_exit = True  # what SIGTERM does
        r = pending.result(timeout=10)
    assert r.status_code == 200 and r.json()["results"][0]["error"] is None


def test_bench_load_reports_figures_and_refuses_remote_hosts(serve, capsys):
    path = Path(__file__).parents[2] / "bench" / "load.py"
    spec = importlib.util.spec_from_file_location("bench_load", path)
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    with serve() as (url, _):
        rc = load.main(["--url", url, "--clients", "4", "--seconds", "1", "--warmup", "0.2"])
    out = capsys.readouterr().out
    assert rc == 0 and "requests/s" in out and "p99" in out and " 0 errors" in out, out
    for host in ("http://example.com:8000", "http://10.0.0.5:8000"):
        with pytest.raises(SystemExit, match="loopback"):
            load.main(["--url", host])


def test_openai_mapping_covers_every_category():
    assert set(TO_OPENAI) == set(CATEGORY_IDS)
    assert {k for keys in TO_OPENAI.values() for k in keys} <= set(OPENAI_CATEGORIES)
