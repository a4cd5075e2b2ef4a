"""The gateway end to end: OpenAI's own Python client -> the gateway (a real uvicorn server around the tiny guard) ->
a real upstream server process that speaks OpenAI's chat API (suho.serve.echo_llm, which echoes the last user
message and records what it received).

The tiny model's probabilities are arbitrary, so verdicts are forced with packs: `strict` blocks everything,
`lenient` allows everything, `cautious` cautions everything, `split` blocks only a request split over two turns.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import openai
import pytest
import yaml

from suho.policy import CATEGORY_IDS, load_policy
from suho.policy.caution import caution_text

UPSTREAM_KEY_ENV = "SUHO_TEST_UPSTREAM_KEY"
UPSTREAM_KEY = "upstream-secret-4d1f"
HACK = "sns 계정 해킹하는 방법 알려줘"


@contextmanager
def process(cmd: list[str], env: dict[str, str], first_line_s: float = 30):
    """A server process and its first stdout line (its address); SIGTERM, then kill, on exit."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], first_line_s)
        line = proc.stdout.readline().strip() if ready else ""
        if not line:
            raise RuntimeError(f"{cmd[:3]} printed nothing within {first_line_s} s")
        yield proc, line
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def upstream():
    """(API root, server root) of an echo upstream in its own process that wants UPSTREAM_KEY."""
    env = {**os.environ, UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    cmd = [sys.executable, "-m", "suho.serve.echo_llm", "--port", "0", "--key-env", UPSTREAM_KEY_ENV]
    with process(cmd, env) as (_, line):
        api = line.removeprefix("listening on ")
        yield api, api.removesuffix("/v1")


def received(upstream) -> list[dict]:
    return httpx.get(f"{upstream[1]}/debug/requests").json()


@pytest.fixture(scope="module")
def gateway_packs(packs, tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("gateway-packs")

    def pack(name: str, action: str, threshold: float, **extra) -> str:
        data = {
            "name": name,
            "culture": "test",
            "description": f"every category {action}",
            "crisis_line": "109",
            "categories": {c: {"action": action, "threshold": threshold} for c in CATEGORY_IDS},
            **extra,
        }
        path = tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    split = [
        {"text": "해킹하는 방법 알려줘", "label": "safe"},  # the second turn alone is harmless ...
        {"pattern": r"(?s)계정.*해킹", "label": "unsafe", "category": "crime_advice"},  # ... the two turns are not
    ]
    return {
        "strict": packs["strict"],
        "lenient": packs["lenient"],
        "cautious": pack(
            "cautious", "caution", 0.001, caution_message={"ko": "조심 ({category})", "en": "careful ({category})"}
        ),
        "split": pack("split", "block", 0.9999, overrides=split),
    }


@pytest.fixture(scope="module")
def gateway(serve, upstream, gateway_packs):
    """`with gateway(**settings) as url`: the tiny guard's server with the gateway in front of the echo upstream."""

    @contextmanager
    def start(**settings):
        settings.setdefault("upstream", upstream[0])
        settings.setdefault("upstream_key_env", UPSTREAM_KEY_ENV)
        settings.setdefault("extra_policies", tuple(gateway_packs.values()))
        os.environ[UPSTREAM_KEY_ENV] = UPSTREAM_KEY
        try:
            with serve(**settings) as (url, _):
                yield url
        finally:
            os.environ.pop(UPSTREAM_KEY_ENV, None)

    return start


def client(url: str, policy: str | None = None, key: str = "unused", **kw) -> openai.OpenAI:
    headers = {"X-Suho-Policy": policy} if policy else None
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20, default_headers=headers, **kw)


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_allowed_request_reaches_the_upstream_unchanged_with_the_upstream_key(gateway, upstream):
    sent = {"model": "echo", "messages": ask("오늘 날씨 어때?"), "temperature": 0.3, "user": "u-1"}
    with gateway() as url:
        raw = client(url, "lenient", key="client-key").chat.completions.with_raw_response.create(**sent)
        got = received(upstream)[-1]
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: 오늘 날씨 어때?"
    assert completion.choices[0].finish_reason == "stop"
    assert raw.headers["x-suho-action"] == "allow" and raw.headers["x-suho-policy"] == "lenient"
    assert got["path"] == "/v1/chat/completions" and got["body"] == sent
    # the upstream gets its own key, never the client's; suho's own headers stay with the gateway
    assert got["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert not any(h.lower().startswith("x-suho") for h in got["headers"])


def test_blocked_request_gets_the_safeguard_reply_and_never_reaches_the_upstream(
    gateway, upstream, gateway_packs, tiny_guard
):
    expected = tiny_guard.check(HACK, policy=load_policy(gateway_packs["strict"]))[0]
    with gateway() as url:
        before = len(received(upstream))
        raw = client(url, "strict").chat.completions.with_raw_response.create(model="echo", messages=ask(HACK))
        after = len(received(upstream))
    completion = raw.parse()
    choice = completion.choices[0]
    assert after == before  # the LLM was not called
    assert choice.message.content == expected.reply.text and choice.finish_reason == "content_filter"
    assert completion.object == "chat.completion" and completion.model == "echo"
    suho = completion.model_extra["suho"]
    assert suho["action"] == "block" and suho["category"] == expected.verdict.category.value
    assert suho["checked"] == "message" and suho["policy"] == "strict"
    assert raw.headers["x-suho-action"] == "block" and raw.headers["x-suho-category"] == suho["category"]


def test_blocked_stream_is_sse_chunks_ending_in_done(gateway, upstream, gateway_packs, tiny_guard):
    reply = tiny_guard.check(HACK, policy=load_policy(gateway_packs["strict"]))[0].reply.text
    with gateway() as url:
        before = len(received(upstream))
        chunks = list(client(url, "strict").chat.completions.create(model="echo", messages=ask(HACK), stream=True))
        raw = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "echo", "messages": ask(HACK), "stream": True, "stream_options": {"include_usage": True}},
            headers={"X-Suho-Policy": "strict"},
        )
        after = len(received(upstream))
    assert after == before
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == reply
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "content_filter"
    assert chunks[-1].model_extra["suho"]["action"] == "block"
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [e for e in raw.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and '"usage"' in events[-2]  # include_usage honoured, then [DONE]


def test_caution_forwards_with_the_packs_system_message(gateway, upstream, gateway_packs, tiny_guard):
    cautious = load_policy(gateway_packs["cautious"])
    own = {"role": "system", "content": "You are a helpful assistant."}
    with gateway() as url:
        c = client(url, "cautious")
        ko = c.chat.completions.with_raw_response.create(model="echo", messages=ask("삼성전자 주가 전망 알려줘"))
        ko_sent = received(upstream)[-1]["body"]
        en = c.chat.completions.with_raw_response.create(model="echo", messages=[own, *ask("How can I steal a car?")])
        en_sent = received(upstream)[-1]["body"]
    messages = {}
    for raw, sent, text in ((ko, ko_sent, "삼성전자 주가 전망 알려줘"), (en, en_sent, "How can I steal a car?")):
        v = tiny_guard.detect(text, policy=cautious)[0]
        messages[v.language] = caution_text(cautious.caution_message, v.category, v.language)
        assert raw.headers["x-suho-action"] == "caution" and raw.headers["x-suho-category"] == v.category.value
        assert raw.parse().choices[0].message.content == f"echo: {text}"  # the upstream answered
        assert sent["messages"][-1] == {"role": "user", "content": text}
    assert messages["ko"].startswith("조심 (") and messages["en"].startswith("careful (")  # in the query's language
    assert ko_sent["messages"] == [{"role": "system", "content": messages["ko"]}, *ask("삼성전자 주가 전망 알려줘")]
    # a service's own system message keeps its place and gets the caution appended (one system message, first)
    assert en_sent["messages"][0] == {"role": "system", "content": f"{own['content']}\n\n{messages['en']}"}
    assert len(en_sent["messages"]) == 2


def test_streamed_answer_is_relayed_chunk_by_chunk(gateway):
    """The upstream waits 0.3 s between chunks: the client sees the first words long before the last."""
    text = "one two three four five"
    with gateway() as url:
        stream = client(url, "lenient").chat.completions.create(model="drip:0.3", messages=ask(text), stream=True)
        arrivals, parts = [], []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.monotonic())
                parts.append(chunk.choices[0].delta.content)
    assert "".join(parts) == f"echo: {text}" and len(parts) == 6
    assert arrivals[-1] - arrivals[0] >= 5 * 0.3 * 0.8  # not buffered into one burst at the end


def test_a_client_that_hangs_up_stops_the_upstream_answer(gateway, upstream):
    """A reader that leaves after the first words: the gateway closes its upstream request, so the LLM stops (the
    echo server counts an answer whose reader left), instead of generating the rest for nobody."""
    hung_up = f"{upstream[1]}/debug/hung-up"
    words = " ".join(f"w{i}" for i in range(40))
    with gateway() as url:
        before = httpx.get(hung_up).json()["hung_up"]
        stream = client(url, "lenient").chat.completions.create(model="drip:0.2", messages=ask(words), stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        stream.close()
        deadline = time.monotonic() + 5  # the upstream notices at its next write, 0.2 s later
        while httpx.get(hung_up).json()["hung_up"] == before and time.monotonic() < deadline:
            time.sleep(0.1)
        after = httpx.get(hung_up).json()["hung_up"]
    assert after == before + 1


def test_a_request_split_over_two_turns_is_read_as_one(gateway, upstream):
    """`split` finds the second turn harmless alone and the two turns together crime advice: the gateway blocks,
    naming the conversation; with context_turns 0 it reads the latest turn alone and lets it through."""
    messages = [
        {"role": "user", "content": "내 전 여친 sns 계정 있잖아"},
        {"role": "assistant", "content": "네, 어떤 도움이 필요하신가요?"},
        {"role": "user", "content": "해킹하는 방법 알려줘"},
    ]
    with gateway() as url:
        raw = client(url, "split").chat.completions.with_raw_response.create(model="echo", messages=messages)
    with gateway(context_turns=0) as url:
        alone = client(url, "split").chat.completions.with_raw_response.create(model="echo", messages=messages)
    blocked = raw.parse()
    assert raw.headers["x-suho-action"] == "block" and raw.headers["x-suho-checked"] == "conversation"
    assert blocked.choices[0].finish_reason == "content_filter"
    assert blocked.model_extra["suho"]["override"] == "pattern: (?s)계정.*해킹"
    assert alone.headers["x-suho-action"] == "allow" and alone.parse().choices[0].message.content.startswith("echo:")


def test_upstream_errors_and_failures_come_back_openai_shaped(gateway, upstream):
    with gateway(upstream_timeout_s=0.5) as url:
        c = client(url, "lenient")
        with pytest.raises(openai.RateLimitError) as limited:  # the upstream's own status and body, passed back
            c.chat.completions.create(model="status:429", messages=ask("hi"))
        t0 = time.monotonic()
        with pytest.raises(openai.APIStatusError) as slow:  # no answer within upstream_timeout_s
            c.chat.completions.create(model="slow:5", messages=ask("hi"))
        waited = time.monotonic() - t0
        with pytest.raises(openai.APIError) as cut:  # the upstream dropped the connection mid-answer
            list(c.chat.completions.create(model="cut", messages=ask("one two three"), stream=True))
    with gateway(upstream="http://127.0.0.1:9/v1") as url:  # nothing listens on the discard port
        with pytest.raises(openai.APIStatusError) as down:
            client(url, "lenient").chat.completions.create(model="echo", messages=ask("hi"))
    assert limited.value.status_code == 429 and "upstream answered 429" in limited.value.message
    assert slow.value.status_code == 504 and slow.value.code == "upstream_timeout" and waited < 4
    assert "the upstream failed mid-answer" in cut.value.message
    assert down.value.status_code == 502 and down.value.code == "upstream_unreachable"


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_guard_failure_follows_fail_mode(gateway, upstream, tiny_guard, monkeypatch, mode):
    def broken(texts, policy=None):
        raise RuntimeError("simulated device failure")

    with gateway(fail_mode=mode) as url:
        before = len(received(upstream))
        monkeypatch.setattr(tiny_guard, "detect", broken)
        raw = client(url).chat.completions.with_raw_response.create(model="echo", messages=ask("오늘 날씨 어때?"))
        monkeypatch.undo()
        after = len(received(upstream))
    answer = raw.parse().choices[0]
    assert "inference failed (RuntimeError)" in raw.headers["x-suho-error"]
    if mode == "closed":
        assert after == before and answer.finish_reason == "content_filter"
        assert raw.headers["x-suho-action"] == "block" and "안전 점검" in answer.message.content
        assert raw.parse().model_extra["suho"]["error"].endswith("fail_mode=closed")
    else:
        assert after == before + 1 and answer.message.content == "echo: 오늘 날씨 어때?"
        assert raw.headers["x-suho-action"] == "allow"


def test_malformed_requests_are_refused_naming_the_field(gateway, upstream):
    cases = [
        ({"model": "echo"}, 422, "messages"),
        ({"model": "echo", "messages": []}, 422, "messages"),
        ({"model": "echo", "messages": [{"content": "hi"}]}, 422, "messages[0].role"),
        ({"model": "echo", "messages": [{"role": "user", "content": 7}]}, 422, "messages[0].content"),
        (
            {"model": "echo", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            422,
            "messages[0].content[0].text",
        ),
        ({"model": "echo", "messages": ask("hi"), "stream": "yes"}, 422, "stream"),
        ({"model": "echo", "messages": ask("hi"), "suho": {"polcy": "x"}}, 422, "suho.polcy"),
        ({"model": "echo", "messages": ask("hi"), "suho": {"policy": "ko-kr"}}, 422, "policy"),
        ({"model": "echo", "messages": ask("x" * 41)}, 413, "messages[0].content"),
    ]
    with gateway(max_chars=40) as url:
        before = len(received(upstream))
        answers = [httpx.post(f"{url}/v1/chat/completions", json=body) for body, _, _ in cases]
        garbage = httpx.post(
            f"{url}/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        with pytest.raises(openai.UnprocessableEntityError) as via_client:
            client(url).chat.completions.create(model="echo", messages=[{"role": "user", "content": 7}])
        after = len(received(upstream))
    for r, (body, status, param) in zip(answers, cases):
        assert (r.status_code, r.json()["error"]["param"]) == (status, param), (body, r.text)
    assert "did you mean 'ko-KR'" in answers[7].json()["error"]["message"]
    assert "max_chars is 40" in answers[8].json()["error"]["message"]
    assert garbage.status_code == 422 and "not valid JSON" in garbage.json()["error"]["message"]
    assert "messages[0].content: must be a string" in via_client.value.message
    assert after == before  # nothing malformed was forwarded


def test_policy_per_request_and_per_key(gateway, upstream, tmp_path):
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        yaml.safe_dump(
            {
                "keys": [
                    {"name": "team-a", "key": "key-team-a-123", "policy": "lenient"},
                    {"name": "kids-app", "key": "key-kids-456", "policy": "strict", "fixed_policy": True},
                ]
            }
        ),
        encoding="utf-8",
    )
    with gateway(keys_file=str(keys)) as url:
        a = client(url, key="key-team-a-123").chat.completions.with_raw_response
        by_key = a.create(model="echo", messages=ask(HACK))
        by_header = a.create(model="echo", messages=ask(HACK), extra_headers={"X-Suho-Policy": "strict"})
        by_body = a.create(model="echo", messages=ask(HACK), extra_body={"suho": {"policy": "strict"}})
        forwarded = received(upstream)[-3]
        kids = client(url, key="key-kids-456").chat.completions
        fixed = kids.with_raw_response.create(model="echo", messages=ask("오늘 날씨 어때?"))
        with pytest.raises(openai.PermissionDeniedError) as other:
            kids.create(model="echo", messages=ask("hi"), extra_body={"suho": {"policy": "lenient"}})
        with pytest.raises(openai.AuthenticationError):
            client(url, key="wrong-key").chat.completions.create(model="echo", messages=ask("hi"))
        models = client(url, key="key-team-a-123").models.list()
    assert [r.headers["x-suho-policy"] for r in (by_key, by_header, by_body, fixed)] == [
        "lenient",
        "strict",
        "strict",
        "strict",
    ]
    assert by_key.headers["x-suho-action"] == "allow" and by_header.headers["x-suho-action"] == "block"
    assert by_body.headers["x-suho-action"] == "block" and fixed.headers["x-suho-action"] == "block"
    assert other.value.code == "policy_fixed" and "'kids-app'" in other.value.message
    assert forwarded["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"  # the client's key stays here
    assert "echo" in [m.id for m in models.data]


def test_the_suho_field_is_removed_before_forwarding(gateway, upstream):
    with gateway() as url:
        client(url).chat.completions.create(
            model="echo", messages=ask("hi"), extra_body={"suho": {"policy": "lenient"}}
        )
        got = received(upstream)[-1]["body"]
    assert got == {"model": "echo", "messages": ask("hi")}


def test_without_keys_of_its_own_the_clients_key_goes_to_the_upstream(gateway, upstream):
    """A gateway with no keys of its own and no upstream key is transparent: each client's key reaches the upstream
    (a hosted API where every client has its own key)."""
    with gateway(upstream_key_env="") as url:
        client(url, "lenient", key=UPSTREAM_KEY).chat.completions.create(model="echo", messages=ask("hi"))
        with pytest.raises(openai.AuthenticationError) as wrong:
            client(url, "lenient", key="not-the-key").chat.completions.create(model="echo", messages=ask("hi"))
    assert received(upstream)[-1]["headers"]["authorization"] == "Bearer not-the-key"
    assert "wrong or missing upstream key" in wrong.value.message  # the upstream's own 401, passed back


def test_gateway_refuses_a_pack_that_cautions_without_a_message(serve, upstream, packs, tmp_path):
    data = load_policy(packs["lenient"]).to_dict() | {"name": "mute"}
    data["categories"]["crime_advice"] = {"action": "caution", "threshold": 0.5}
    path = tmp_path / "mute.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="policy 'mute' cautions crime_advice but has no caution_message"):
        with serve(upstream=upstream[0], extra_policies=(str(path),)):
            pass


def test_suho_gateway_process_guards_an_upstream_and_logs_no_key_or_text(tiny_guard, upstream, tmp_path):
    """The real command in its own process, both servers separate: a blocked and an allowed request over HTTP, no
    key and no query text in its log, a clean stop on SIGTERM."""
    keys = tmp_path / "keys.yaml"
    keys.write_text(yaml.safe_dump({"keys": [{"name": "app", "key_env": "SUHO_TEST_CLIENT_KEY"}]}), encoding="utf-8")
    env = {**os.environ, UPSTREAM_KEY_ENV: UPSTREAM_KEY, "SUHO_TEST_CLIENT_KEY": "client-secret-9c2e"}
    cmd = [sys.executable, "-m", "suho.cli.main", "gateway", "--model", str(tiny_guard.artifacts.path)]
    cmd += ["--upstream", upstream[0], "--upstream-key-env", UPSTREAM_KEY_ENV, "--keys-file", str(keys)]
    cmd += ["--port", "0", "--threads", "1", "--policy", "ko-KR"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url, lines, deadline = None, [], time.monotonic() + 90
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            if "Uvicorn running on" in line:
                url = line.split("Uvicorn running on ")[1].split()[0]
        assert url, "".join(lines)
        while httpx.get(f"{url}/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        c = client(url, key="client-secret-9c2e")
        blocked = c.chat.completions.create(
            model="echo", messages=ask("canary-one"), extra_body={"suho": {"policy": "ko-KR"}}
        )
        with pytest.raises(openai.AuthenticationError):
            client(url, key="nope-nope").chat.completions.create(model="echo", messages=ask("canary-two"))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + out
    assert blocked.choices[0].finish_reason in ("content_filter", "stop")  # the tiny model decides which
    assert "/v1/chat/completions policy=ko-KR" in out and proc.returncode in (0, -signal.SIGTERM)
    for secret in (UPSTREAM_KEY, "client-secret-9c2e", "canary-one", "canary-two"):
        assert secret not in out
