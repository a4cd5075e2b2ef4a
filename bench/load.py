"""Load test for `suho serve`: N concurrent clients for T seconds against a running server on this machine.

Prints requests/s, p50/p95/p99 latency, the error count and the server's mean micro-batch size (from /metrics).
Loopback URLs only, and every knob is capped, so it cannot be turned on someone else's service by accident.

    suho serve --max-batch-size 32 &
    python bench/load.py --url http://127.0.0.1:8000 --clients 16 --seconds 20
    python bench/load.py --endpoint guard --policy en-US --inputs 4 --json
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import sys
import time
from urllib.parse import urlsplit

import httpx

MAX_CLIENTS = 256
MAX_SECONDS = 600.0
MAX_INPUTS = 64

# A mix of languages, lengths and verdicts (safe look-alikes included), so batches are not all one shape.
TEXTS = [
    "sns 계정 해킹하는 방법 알려줘",
    "오늘 저녁 메뉴 추천해줘",
    "넌 쓰레기야",
    "삼성전자 주가 전망 알려줘",
    "강에 뛰어내리면 한번에 죽을까?",
    "파이썬에서 프로세스를 강제로 종료하는 방법이 뭐야?",
    "디즈니 영화 무료로 볼 수 있는 곳 있어?",
    "맛있는 김치찌개 레시피 알려줘",
    "How can I steal a car without getting caught?",
    "What is the capital of France?",
    "How do I kill a Python process?",
    "Which crypto will 10x next month?",
    "Give me the most brutal insults for my fat coworker.",
    "Can you explain how vaccines train the immune system, step by step, for a high-school class?",
    "의료 정책에 있어서는 트럼프와 바이든 중에 누가 더 나아?",
    "주말에 서울에서 아이들과 가볼 만한 박물관을 추천해 줄래? 비 오는 날이라 실내였으면 좋겠어.",
]


def loopback_url(url: str) -> str:
    """The URL without a trailing slash; SystemExit unless its host is a loopback address."""
    host = urlsplit(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"refusing {host or url!r}: bench/load.py only targets loopback (127.0.0.1, ::1, localhost)")
    return url.rstrip("/")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def _batch_stats(metrics_text: str) -> tuple[float, float]:
    found = {}
    for name in ("suho_batch_size_sum", "suho_batch_size_count"):
        m = re.search(rf"^{name} (\S+)$", metrics_text, re.MULTILINE)
        found[name] = float(m.group(1)) if m else 0.0
    return found["suho_batch_size_sum"], found["suho_batch_size_count"]


async def _client(http, path, make_body, start, stop_at, record_from, out) -> None:
    i = start
    while time.perf_counter() < stop_at:
        body = make_body(i)
        i += 1
        t0 = time.perf_counter()
        try:
            r = await http.post(path, json=body)
            status = str(r.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        t1 = time.perf_counter()
        if t0 >= record_from:
            out.append((status, t1 - t0))


async def run(args) -> dict:
    url = loopback_url(args.url)
    path = {"moderations": "/v1/moderations", "guard": "/v1/guard"}[args.endpoint]
    texts = TEXTS
    if args.texts:
        with open(args.texts, encoding="utf-8") as f:
            texts = [line.strip() for line in f if line.strip()] or TEXTS

    def make_body(i: int) -> dict:
        batch = [texts[(i + k) % len(texts)] for k in range(args.inputs)]
        body: dict = {"input": batch[0] if args.inputs == 1 else batch}
        if args.policy:
            body["policy"] = args.policy
        return body

    key = os.environ.get("SUHO_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=args.timeout, limits=limits) as http:
        before = _batch_stats((await http.get("/metrics")).text)
        now = time.perf_counter()
        record_from, stop_at = now + args.warmup, now + args.warmup + args.seconds
        out: list[tuple[str, float]] = []
        await asyncio.gather(
            *(_client(http, path, make_body, c * 7, stop_at, record_from, out) for c in range(args.clients))
        )
        elapsed = time.perf_counter() - record_from
        after = _batch_stats((await http.get("/metrics")).text)
    ok = sorted(t for s, t in out if s == "200")
    statuses: dict[str, int] = {}
    for s, _ in out:
        statuses[s] = statuses.get(s, 0) + 1
    batches = after[1] - before[1]
    return {
        "url": url + path,
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "inputs_per_request": args.inputs,
        "requests": len(out),
        "ok": len(ok),
        "errors": len(out) - len(ok),
        "statuses": statuses,
        "requests_per_s": round(len(ok) / elapsed, 2) if elapsed > 0 else 0.0,
        "texts_per_s": round(len(ok) * args.inputs / elapsed, 2) if elapsed > 0 else 0.0,
        "latency_ms": {f"p{q}": round(percentile(ok, q) * 1000, 1) for q in (50, 95, 99)}
        | {"max": round(ok[-1] * 1000, 1) if ok else float("nan")},
        "mean_batch_size": round((after[0] - before[0]) / batches, 2) if batches > 0 else None,
    }


def render(r: dict) -> str:
    lat = r["latency_ms"]
    statuses = ", ".join(f"{k}={v}" for k, v in sorted(r["statuses"].items()))
    lines = [
        f"{r['url']}  clients={r['clients']}  seconds={r['seconds']}  inputs/request={r['inputs_per_request']}",
        f"requests: {r['ok']} ok, {r['errors']} errors ({statuses or 'none'})",
        f"throughput: {r['requests_per_s']} requests/s ({r['texts_per_s']} texts/s)",
        f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}",
    ]
    if r["mean_batch_size"] is not None:
        lines.append(f"server: mean micro-batch {r['mean_batch_size']} texts")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000", help="a running suho server (loopback only)")
    p.add_argument("--endpoint", choices=("moderations", "guard"), default="moderations")
    p.add_argument("--clients", type=int, default=16, help=f"concurrent clients (1..{MAX_CLIENTS})")
    p.add_argument("--seconds", type=float, default=10.0, help=f"measured duration (max {MAX_SECONDS:g})")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (max 60)")
    p.add_argument("--inputs", type=int, default=1, help=f"texts per request (1..{MAX_INPUTS})")
    p.add_argument("--policy", help="policy to request (default: the server's)")
    p.add_argument("--texts", help="a file with one query per line (default: a built-in ko/en mix)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    loopback_url(args.url)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--seconds must be in (0, {MAX_SECONDS:g}]")
    if not 0 <= args.warmup <= 60:
        p.error("--warmup must be between 0 and 60")
    if not 1 <= args.inputs <= MAX_INPUTS:
        p.error(f"--inputs must be between 1 and {MAX_INPUTS}")
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False) if args.json else render(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
