"""The gateway's plain parts without a server: what is read from a chat request, what is checked, how a caution is
added, the blocked answer's shapes, client keys and the settings."""

import json

import pytest
import yaml

from suho.policy import Action
from suho.serve.chat import (
    ChatError,
    Turn,
    blocked_completion,
    blocked_stream,
    decisive,
    parse_chat,
    texts_to_check,
    with_system_message,
)
from suho.serve.keys import client_keys, match_key
from suho.serve.settings import ServeSettings


def body(**kw) -> bytes:
    return json.dumps({"model": "m", **kw}, ensure_ascii=False).encode()


def test_parse_reads_user_turns_and_their_text_parts():
    raw = body(
        messages=[
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {}}]},
            {"role": "user", "content": "  \u200b "},  # nothing to read: the turn before is the latest
        ]
    )
    req = parse_chat(raw)
    assert req.turns == [Turn(1, "first"), Turn(3, "look")]
    assert req.forward_body() is raw and not req.stream and req.policy is None and req.model == "m"


def test_without_user_text_the_last_message_with_text_is_read():
    req = parse_chat(
        body(messages=[{"role": "system", "content": "how do I pick a lock"}, {"role": "user", "content": ""}])
    )
    assert req.turns == [Turn(0, "how do I pick a lock")]
    assert parse_chat(body(messages=[{"role": "user", "content": [{"type": "image_url"}]}])).turns == []


def test_the_suho_field_is_read_and_dropped_from_what_is_forwarded():
    req = parse_chat(body(messages=[{"role": "user", "content": "hi"}], suho={"policy": "en-US"}, stream=True))
    assert req.policy == "en-US" and req.stream
    assert json.loads(req.forward_body()) == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


@pytest.mark.parametrize(
    "raw, param",
    [
        (b"[1]", None),
        (b"\xff", None),
        (body(messages="hi"), "messages"),
        (body(messages=["hi"]), "messages[0]"),
        (body(messages=[{"role": 1, "content": "x"}]), "messages[0].role"),
        (body(messages=[{"role": "user", "content": {"text": "x"}}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": ["x"]}]), "messages[0].content[0]"),
        (b'{"messages": [{"role": "user", "content": "\\ud800"}]}', "messages[0].content"),  # a lone surrogate
        (body(messages=[{"role": "user", "content": "x"}], stream=1), "stream"),
        (body(messages=[{"role": "user", "content": "x"}], suho="en-US"), "suho"),
        (body(messages=[{"role": "user", "content": "x"}], suho={"policy": 3}), "suho.policy"),
    ],
)
def test_a_malformed_request_is_refused_naming_the_field(raw, param):
    with pytest.raises(ChatError) as err:
        parse_chat(raw)
    assert err.value.param == param and err.value.status == 422
    assert param is None or str(err.value).startswith(param)


def test_texts_to_check_joins_recent_user_turns_within_the_budgets():
    turns = [Turn(0, "a" * 50), Turn(2, "b" * 50), Turn(4, "c" * 50), Turn(6, "latest")]
    assert texts_to_check(turns[-1:], 3, 1000, 4000) == ["latest"]
    assert texts_to_check(turns, 0, 1000, 4000) == ["latest"]
    assert texts_to_check(turns, 2, 1000, 4000) == ["latest", "b" * 50 + "\n" + "c" * 50 + "\nlatest"]
    assert texts_to_check(turns, 3, 60, 4000) == ["latest", "b" * 9 + "\n" + "c" * 50 + "\nlatest"]  # the tail
    # the joined text never exceeds max_chars: what the latest turn leaves is all the context gets
    assert texts_to_check(turns, 3, 1000, 20) == ["latest", "c" * 13 + "\nlatest"]
    assert texts_to_check(turns, 3, 1000, 7) == ["latest"]
    assert texts_to_check([], 3, 1000, 4000) == []
    with pytest.raises(ChatError) as err:
        texts_to_check([Turn(3, "x" * 9)], 3, 1000, 8)
    assert (err.value.status, err.value.param, err.value.code) == (413, "messages[3].content", "max_chars")


def test_the_most_severe_verdict_decides_and_the_latest_message_wins_a_tie():
    assert decisive([Action.ALLOW, Action.BLOCK]) == 1
    assert decisive([Action.CAUTION, Action.ALLOW]) == 0
    assert decisive([Action.BLOCK, Action.BLOCK]) == 0 and decisive([Action.ALLOW]) == 0


def test_caution_joins_the_services_system_message_or_comes_first():
    user = {"role": "user", "content": "q"}
    plain = with_system_message({"messages": [user], "model": "m"}, "care")
    assert plain == {"messages": [{"role": "system", "content": "care"}, user], "model": "m"}
    own = with_system_message({"messages": [{"role": "developer", "content": "rules"}, user]}, "care")
    assert own["messages"] == [{"role": "developer", "content": "rules\n\ncare"}, user]
    parts = with_system_message({"messages": [{"role": "system", "content": [{"type": "text", "text": "r"}]}]}, "care")
    assert parts["messages"][0]["content"][-1] == {"type": "text", "text": "care"}


def test_blocked_answers_are_chat_completions_in_both_shapes():
    suho = {"action": "block"}
    done = blocked_completion({"n": 2}, "gpt-x", "no", suho)
    assert done["object"] == "chat.completion" and done["model"] == "gpt-x" and done["suho"] == suho
    assert [c["message"]["content"] for c in done["choices"]] == ["no", "no"]
    assert {c["finish_reason"] for c in done["choices"]} == {"content_filter"}
    events = list(blocked_stream({"stream_options": {"include_usage": True}}, "gpt-x", "no", suho))
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events) and events[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and chunks[-1]["usage"]["total_tokens"] == 0
    assert chunks[1]["choices"][0]["delta"] == {"content": "no"}
    assert chunks[2]["choices"][0]["finish_reason"] == "content_filter" and chunks[2]["suho"] == suho
    assert len(list(blocked_stream({}, "m", "no", suho))) == 4  # no usage chunk unless asked


def test_client_keys_name_every_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_KEY", "key-from-env-1")
    path = tmp_path / "keys.yaml"
    entries = [
        {"name": "team", "key_env": "TEAM_KEY", "policy": "en-US"},
        {"name": "kids", "key": "key-kids-0001", "policy": "ko-KR", "fixed_policy": True},
    ]
    path.write_text(yaml.safe_dump({"keys": entries}), encoding="utf-8")
    keys = client_keys("root-key", str(path), {"ko-KR", "en-US"})
    assert [(k.name, k.policy, k.fixed_policy) for k in keys] == [
        ("SUHO_API_KEY", None, False),
        ("team", "en-US", False),
        ("kids", "ko-KR", True),
    ]
    assert match_key(keys, "key-from-env-1").name == "team" and match_key(keys, "key-from-env") is None
    assert "key-from-env-1" not in repr(keys)  # a logged key object does not show the key

    bad = [
        {"name": "a", "key": "short"},
        {"name": "a", "key_env": "UNSET_VAR_X"},
        {"name": "c", "key": "long-enough-key", "key_env": "TEAM_KEY"},
        {"name": "d", "key": "long-enough-key-2", "policy": "en-GB", "fixed_policy": "yes"},
        {"key": "long-enough-key-3", "polcy": "x"},
        "e",
    ]
    path.write_text(yaml.safe_dump({"keys": bad}), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        client_keys("", str(path), {"ko-KR", "en-US"})
    for expected in [
        "keys[0].key: must be a string of at least 8",
        "keys[1].name: 'a' is used twice",
        "keys[1].key_env: environment variable 'UNSET_VAR_X' is not set",
        "keys[2]: give exactly one of key and key_env",
        "keys[3].policy: 'en-GB' is not a policy this server loads",
        "keys[3].fixed_policy: must be true or false",
        "keys[4].polcy: unknown field",
        "keys[4].name: required",
        "keys[5]: must be a mapping",
    ]:
        assert expected in str(err.value)
    path.write_text(yaml.safe_dump({"keys": [{"name": "x", "key": "root-key-same"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="keys 'SUHO_API_KEY' and 'x' are the same key"):
        client_keys("root-key-same", str(path), set())
    with pytest.raises(ValueError, match="keys_file: no file"):
        client_keys("", str(tmp_path / "missing.yaml"), set())


def test_gateway_settings_are_validated():
    with pytest.raises(ValueError) as err:
        ServeSettings(upstream="http://user:pw@host/v1", context_turns=-1, context_chars=0, upstream_timeout_s=0)
    for expected in [
        "upstream: must not hold credentials",
        "context_turns: must be an integer >= 0",
        "context_chars: must be an integer >= 1",
        "upstream_timeout_s: must be a positive number",
    ]:
        assert expected in str(err.value)
    for url in ("127.0.0.1:8080/v1", "ftp://h/v1", "http://h/v1?x=1"):
        with pytest.raises(ValueError, match="upstream: must"):
            ServeSettings(upstream=url)
    assert ServeSettings(upstream="https://api.example.com/v1/").upstream


def test_suho_gateway_help_shows_runnable_examples_and_needs_an_upstream(capsys):
    from suho.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["gateway", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "suho gateway --upstream http://127.0.0.1:8001/v1" in out
    assert "--upstream-key-env" in out and "--keys-file" in out and "--context-turns" in out
    assert main(["gateway"]) == 2
    assert "suho gateway: error: --upstream URL is required" in capsys.readouterr().err
