"""Bounded fuzzing of the HTTP API: whatever JSON (or non-JSON) arrives, the answer is 200, 400, 413 or 422 with an
OpenAI-shaped error naming the problem, never a 500 or a hung worker, and the server keeps serving afterwards."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# bodies that look like requests: the right keys with values of any type, plus arbitrary extra keys
REQUESTS = (
    st.fixed_dictionaries(
        {},
        optional={
            "input": JSON | st.text(max_size=300) | st.lists(st.text(max_size=80), max_size=6),
            "policy": JSON | st.sampled_from(["ko-KR", "en-US", "strict", "nope"]),
            "force_reply": JSON,
            "model": JSON,
        },
    )
    | JSON
)
RAW = st.binary(max_size=200)


@pytest.fixture(scope="module")
def server(serve):
    with serve(max_chars=200, max_inputs=4) as (url, _):
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


def _check(resp: httpx.Response) -> None:
    assert resp.status_code in (200, 400, 413, 422), (resp.status_code, resp.text[:300])
    body = resp.json()
    if resp.status_code == 200:
        assert isinstance(body["results"], list) and body["results"]
    else:
        err = body["error"]
        assert err["message"] and err["type"], body


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=REQUESTS, endpoint=st.sampled_from(["/v1/guard", "/v1/moderations"]))
def test_any_json_body_gets_a_defined_answer(server, body, endpoint):
    # force_reply=True would generate a reply per text; keep the fuzz bounded to detection-cost requests
    if isinstance(body, dict) and body.get("force_reply") is True:
        body["force_reply"] = False
    _check(server.post(endpoint, json=body))


@FUZZ
@given(raw=RAW, endpoint=st.sampled_from(["/v1/guard", "/v1/moderations"]))
def test_any_bytes_get_a_defined_answer(server, raw, endpoint):
    _check(server.post(endpoint, content=raw, headers={"Content-Type": "application/json"}))


def test_invalid_utf8_is_a_400_that_says_so(server):
    r = server.post("/v1/guard", content=b'{"input": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("request body is not valid JSON in UTF-8")


def test_server_still_serves_after_the_fuzz(server):
    r = server.post("/v1/guard", json={"input": ["안녕하세요", "\x00\x01 제어 문자", "ｆｕｌｌｗｉｄｔｈ"]})
    assert r.status_code == 200 and len(r.json()["results"]) == 3
