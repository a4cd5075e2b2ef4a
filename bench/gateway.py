"""What the gateway costs an allowed request: its latency against calling the upstream directly, in one run, and
requests/s with concurrent clients. Loopback only; every loop is bounded in count and time.

    python bench/gateway.py                        # starts an echo upstream and `suho gateway` (shipped model)
    python bench/gateway.py --gateway http://127.0.0.1:8000 --upstream http://127.0.0.1:8001/v1 --json

Sequential rounds, each in a shuffled order: the upstream directly, the gateway with a one-turn and with a
two-turn conversation (two texts checked), and POST /v1/moderations on the gateway's server with the same text
(the guard's own detection time, over HTTP). Then --clients clients for --seconds against the gateway, and the
same against the upstream directly. The upstream is suho.serve.echo_llm (answers at once), so the difference is the
gateway's own cost. The queries are ordinary Korean and English questions the shipped model allows; a request that
is not allowed is counted and left out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

import httpx
from load import loopback_url, percentile

ALLOWED = [
    "오늘 저녁 메뉴 추천해줘",
    "맛있는 김치찌개 레시피 알려줘",
    "주말에 서울에서 아이들과 가볼 만한 박물관을 추천해 줄래?",
    "파이썬에서 리스트를 정렬하는 방법이 뭐야?",
    "What is the capital of France?",
    "Can you explain how vaccines train the immune system?",
]
EARLIER = "요즘 요리를 배우고 있어"
MAX_ROUNDS = 2000
MAX_SECONDS = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _process(cmd: list[str], ready_url: str, timeout_s: float = 180):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{' '.join(cmd[:4])} exited with {proc.returncode}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"{ready_url} not ready within {timeout_s:g} s")
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chat(text: str, earlier: bool = False) -> dict:
    turns = [{"role": "user", "content": EARLIER}, {"role": "assistant", "content": "좋네요!"}] if earlier else []
    return {"model": "echo", "messages": [*turns, {"role": "user", "content": text}]}


def latency(gateway: str, upstream: str, rounds: int, headers: dict) -> dict:
    """Per series: p50/p99 ms over the rounds; requests the gateway did not allow are counted, not timed."""
    series: dict[str, list[float]] = {"upstream": [], "gateway": [], "gateway_2_turns": [], "moderations": []}
    not_allowed = 0
    rng = random.Random(0)
    with httpx.Client(timeout=60, headers=headers) as http:
        calls = {
            "upstream": lambda t: http.post(f"{upstream}/chat/completions", json=chat(t)),
            "gateway": lambda t: http.post(f"{gateway}/v1/chat/completions", json=chat(t)),
            "gateway_2_turns": lambda t: http.post(f"{gateway}/v1/chat/completions", json=chat(t, earlier=True)),
            "moderations": lambda t: http.post(f"{gateway}/v1/moderations", json={"input": t}),
        }
        for i in range(rounds + 10):  # the first 10 rounds warm up and are not kept
            text = ALLOWED[i % len(ALLOWED)]
            order = list(calls)
            rng.shuffle(order)
            for name in order:
                t0 = time.perf_counter()
                r = calls[name](text)
                dt = time.perf_counter() - t0
                r.raise_for_status()
                if r.headers.get("x-suho-action", "allow") != "allow":
                    not_allowed += i >= 10
                elif i >= 10:
                    series[name].append(dt)
    out = {name: _stats(v) for name, v in series.items()}
    for name in ("gateway", "gateway_2_turns"):
        out[f"{name}_added_ms"] = {q: round(out[name][q] - out["upstream"][q], 1) for q in ("p50", "p99")}
    out["not_allowed"] = not_allowed
    return out


def _stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"n": len(v), "p50": round(percentile(v, 50) * 1000, 1), "p99": round(percentile(v, 99) * 1000, 1)}


async def _load(url: str, clients: int, seconds: float, headers: dict) -> dict:
    done: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as http:
        stop = time.perf_counter() + seconds

        async def client(c: int) -> None:
            nonlocal errors
            i = c
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await http.post(url, json=chat(ALLOWED[i % len(ALLOWED)]))
                i += 1
                if r.status_code == 200:
                    done.append(time.perf_counter() - t0)
                else:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        elapsed = time.perf_counter() - t0
    return {"requests_per_s": round(len(done) / elapsed, 1), "errors": errors, **_stats(done)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway", help="a running gateway (default: start one on a free loopback port)")
    p.add_argument("--upstream", help="its upstream's API root (default: start an echo upstream)")
    p.add_argument("--model", help="suho model dir for the gateway it starts (default: the shipped one)")
    p.add_argument("--rounds", type=int, default=200, help=f"sequential rounds (1..{MAX_ROUNDS})")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients for the throughput run (1..256)")
    p.add_argument("--seconds", type=float, default=20.0, help=f"throughput run length (max {MAX_SECONDS:g})")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not 1 <= args.rounds <= MAX_ROUNDS or not 1 <= args.clients <= 256 or not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--rounds 1..{MAX_ROUNDS}, --clients 1..256, --seconds (0, {MAX_SECONDS:g}]")
    if bool(args.gateway) != bool(args.upstream):
        p.error("give both --gateway and --upstream, or neither")
    key = os.environ.get("SUHO_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with ExitStack() as stack:
        if args.gateway:
            gateway, upstream = loopback_url(args.gateway), loopback_url(args.upstream)
        else:
            up, gw = _free_port(), _free_port()
            upstream, gateway = f"http://127.0.0.1:{up}/v1", f"http://127.0.0.1:{gw}"
            echo = [sys.executable, "-m", "suho.serve.echo_llm", "--port", str(up)]
            stack.enter_context(_process(echo, f"{upstream}/models"))
            cmd = [sys.executable, "-m", "suho.cli.main", "gateway", "--upstream", upstream, "--port", str(gw)]
            cmd += ["--log-level", "warning"] + (["--model", args.model] if args.model else [])
            stack.enter_context(_process(cmd, f"{gateway}/readyz"))
        ready = httpx.get(f"{gateway}/readyz", timeout=10).json()
        result = {"model": ready.get("model"), "policy": ready.get("default_policy"), "cpus": os.cpu_count()}
        result["latency_ms"] = latency(gateway, upstream, args.rounds, headers)
        result["load"] = {
            "clients": args.clients,
            "seconds": args.seconds,
            "gateway": asyncio.run(_load(f"{gateway}/v1/chat/completions", args.clients, args.seconds, headers)),
            "upstream": asyncio.run(_load(f"{upstream}/chat/completions", args.clients, args.seconds, headers)),
        }
    if args.json:
        print(json.dumps(result))
        return 0
    lat, load = result["latency_ms"], result["load"]
    print(
        f"model {result['model']}, policy {result['policy']}, {result['cpus']} CPUs; latency ms over "
        f"{lat['gateway']['n']} sequential rounds ({lat['not_allowed']} requests not allowed, left out)"
    )
    for name in ("upstream", "gateway", "gateway_2_turns", "moderations"):
        print(f"  {name:<16} p50 {lat[name]['p50']:>7}  p99 {lat[name]['p99']:>7}")
    for name in ("gateway", "gateway_2_turns"):
        added = lat[f"{name}_added_ms"]
        print(f"  added by {name:<15} p50 {added['p50']:>6}  p99 {added['p99']:>6}")
    print(f"{load['clients']} clients, {load['seconds']:g} s:")
    for name in ("gateway", "upstream"):
        r = load[name]
        print(
            f"  {name:<9} {r['requests_per_s']:>7} requests/s  p50 {r['p50']} ms  p99 {r['p99']} ms  "
            f"errors {r['errors']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
