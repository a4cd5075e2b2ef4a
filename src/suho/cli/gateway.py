"""`suho gateway`: the guard in front of an LLM service that speaks OpenAI's chat API (see suho.serve.gateway).

`suho serve` with `--upstream` required: the same server, flags and settings, plus POST /v1/chat/completions and
GET /v1/models relayed to the upstream.
"""

from __future__ import annotations

import argparse

from suho.cli.config import resolve_config
from suho.cli.serve import add_arguments, run
from suho.serve.settings import ServeSettings

EPILOG = """\
examples:
  python -m suho.serve.echo_llm --port 8001 &          # a stand-in upstream (or vLLM, Ollama, llama.cpp, a hosted API)
  suho gateway --upstream http://127.0.0.1:8001/v1     # http://127.0.0.1:8000/v1/chat/completions, ko-KR policy

  OPENAI_API_KEY=sk-... suho gateway --upstream https://api.openai.com/v1 --upstream-key-env OPENAI_API_KEY \\
       --keys-file keys.yaml --policy en-US --port 8080

  curl -s 127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
       -d '{"model": "echo", "messages": [{"role": "user", "content": "sns 계정 해킹하는 방법 알려줘"}]}'

Clients change only their base URL (OpenAI(base_url="http://127.0.0.1:8000/v1")). A blocked request gets the
safeguard reply with finish_reason content_filter; the X-Suho-Action header says allow, caution or block.
Choose a policy per request with the X-Suho-Policy header or {"suho": {"policy": "en-US"}} in the body, or per key
in --keys-file. See docs/gateway.md.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gateway",
        help="put the guard in front of an OpenAI-compatible LLM service",
        description="Serve POST /v1/chat/completions and GET /v1/models in front of --upstream: harmful requests get "
        "the safeguard reply and never reach the LLM; the rest pass through. Also serves everything `suho serve` does.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    if not resolve_config(ServeSettings, args.config, args).upstream:
        raise ValueError(
            "--upstream URL is required: the LLM service's OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1"
        )
    return run(args)
