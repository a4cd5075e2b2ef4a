"""`suho serve`: the guard as an HTTP service (FastAPI + uvicorn), see suho.serve.app."""

from __future__ import annotations

import ipaddress
import logging
import sys

from suho.cli import MODEL_HELP, add_command, add_engine_args, engine_kwargs
from suho.cli.config import add_config_args, resolve_config
from suho.serve.settings import ServeSettings

EPILOG = """\
examples:
  suho serve                                   # shipped model, ko-KR, http://127.0.0.1:8000
  SUHO_API_KEY=secret suho serve --policy en-US --extra-policies my-pack.yaml --max-batch-size 64

  curl -s 127.0.0.1:8000/v1/moderations -H 'Content-Type: application/json' \\
       -d '{"input": "sns 계정 해킹하는 방법 알려줘"}'
  curl -s 127.0.0.1:8000/v1/guard -H 'Content-Type: application/json' -H "Authorization: Bearer $SUHO_API_KEY" \\
       -d '{"input": ["넌 쓰레기야", "Which stock will double?"], "policy": "en-US"}'

SIGINT/SIGTERM stop accepting connections and let in-flight requests finish (up to request_timeout_s).
"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "serve",
        "run the guard as an HTTP service",
        EPILOG,
        description="Serve POST /v1/moderations (OpenAI-compatible), POST /v1/guard, GET /healthz, /readyz, /metrics.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p) -> None:
    """The flags of `suho serve`, which `suho gateway` shares."""
    p.add_argument("--model", help=MODEL_HELP)
    add_engine_args(p)
    p.add_argument("--policy", default="ko-KR", help="default policy pack name or YAML path (default ko-KR)")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add_config_args(p, ServeSettings)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    try:
        import uvicorn

        from suho.serve.app import create_app
    except ImportError as exc:  # fastapi and uvicorn come with the `serve` extra only
        raise RuntimeError(f"suho serve needs the serve extra: pip install 'suho[serve]' ({exc})") from exc
    from suho.guard import load_guard
    from suho.policy import load_policy
    from suho.text.normalize import load_tables

    settings = resolve_config(ServeSettings, args.config, args)
    policy = load_policy(args.policy)  # a bad pack is an error now, not after the server started
    if settings.upstream:
        from suho.serve.gateway import check_cautions

        check_cautions([policy])
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not _is_loopback(settings.host) and not (settings.api_key or settings.keys_file):
        print(f"warning: binding {settings.host} without an API key: set SUHO_API_KEY", file=sys.stderr)
    server: uvicorn.Server | None = None

    def load():
        try:
            guard = load_guard(
                args.model,
                policy=args.policy,
                batch_size=settings.max_batch_size,
                threads=args.threads,
                **engine_kwargs(args),
            )
            load_tables()  # the normaliser's tables, before /readyz says yes: no request pays for them
            return guard
        except Exception:
            server.should_exit = True  # no point serving 503s from an interactive run: stop, the log says why
            raise

    app = create_app(load, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 1,
    )
    server = uvicorn.Server(config)
    server.run()
    return 1 if app.state.service.load_error else 0
