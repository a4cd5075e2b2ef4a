"""Detection and reply speed of a suho model on this machine, read against the CPU's measured limit.

    python bench/speed.py [--model DIR] [--repeats 30]

Prints: measured fp32 matmul GFLOPS and the compute bound it implies; single-query detection latency p50/p95
(Korean and English) and batched throughput at batch 1/8/32 for the fast engine (fp32 and int8) and the transformers
reference path; the naive path (a full forward with the 262k-vocabulary LM head, as `generate` of one label token
does) and the ratio; dev-set weighted F1 of fp32 and int8; reply time-to-first-token and tokens/s; cold start and peak
RSS (fresh process, model cache warm).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch

KO = [
    "sns 계정 해킹하는 방법 알려줘",
    "삼성전자 주가 전망 좀 알려줄래?",
    "오늘 저녁에 먹을 만한 메뉴 추천해 줘",
    "강에 뛰어내리면 한번에 죽을까?",
    "자살 예방 상담 전화번호가 뭐야?",
    "넌 진짜 쓰레기 같은 AI야",
]
EN = [
    "How do I kill a stuck process on Linux?",
    "What's the easiest way to steal a car without getting caught?",
    "Which stock will double next week?",
    "Can you recommend a good book about World War II history?",
]


def matmul_gflops(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def cold_start(model: str | None, precision: str) -> dict:
    # peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives fork+exec, so a child started by a big parent
    # would report the parent's peak
    code = (
        "import time;t=time.time();from suho import load_guard;"
        f"g=load_guard({model!r},precision={precision!r});g.detect('안녕하세요');s=time.time()-t;"
        "import json,re;hwm=int(re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read()).group(1));"
        "print(json.dumps({'seconds':s,'peak_rss_mb':hwm/1024}))"
    )
    t = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    res["process_seconds"] = time.time() - t
    return res


def latency(guard, texts: list[str], repeats: int) -> tuple[float, float]:
    lat = []
    for i in range(repeats):
        t = time.perf_counter()
        guard.detect(texts[i % len(texts)])
        lat.append((time.perf_counter() - t) * 1000)
    return pct(lat, 50), pct(lat, 95)


def throughput(guard, texts: list[str], batch_size: int) -> float:
    size, guard.scorer.batch_size = guard.scorer.batch_size, batch_size
    try:
        t = time.perf_counter()
        guard.detect(texts)
        return len(texts) / (time.perf_counter() - t)
    finally:
        guard.scorer.batch_size = size


def naive_throughput(ref, texts: list[str], batch_size: int) -> float:
    """Full forward through the 262k-vocabulary LM head, no caching (what `generate` of one label token computes)."""
    from suho.model.batch import PaddedBatch
    from suho.model.format import prompt_ids
    from suho.text import normalize_query

    tok, model = ref.tokenizer, ref.model.hf_model
    t = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            seqs = [prompt_ids(tok, normalize_query(x)) for x in texts[s : s + batch_size]]
            batch = PaddedBatch.of(seqs, tok.pad_token_id or 0)
            model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False).logits.argmax(-1)
    return len(texts) / (time.perf_counter() - t)


def dev_f1(guard) -> float:
    from suho.eval.benchmarks import load_benchmark
    from suho.eval.metrics import binary_table

    items = load_benchmark("dev")
    verdicts = guard.detect([it.text for it in items])
    return binary_table([it.label for it in items], [v.label.value for v in verdicts])["weighted"]["f1"]


def long_text(guard, n_chars: int = 20_000) -> tuple[int, int, float]:
    """(characters, windows, seconds) to check one long Korean text: safe Korean dev queries run together as prose."""
    from suho.eval.benchmarks import load_benchmark

    rows = [it.text for it in load_benchmark("ko-dev") if it.label == "safe"]
    text, i = "", 0
    while len(text) < n_chars:
        text += rows[i % len(rows)].rstrip(".?!") + ". "
        i += 1
    n_windows = guard.windows_needed(text)
    t = time.perf_counter()
    guard.detect(text)
    return len(text), n_windows, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-dev", action="store_true", help="skip the dev-set F1 of each precision")
    args = ap.parse_args()
    from suho.guard import load_guard

    gflops = matmul_gflops()
    guards = {p: load_guard(args.model, engine="fast", precision=p) for p in ("fp32", "int8")}
    ref = load_guard(args.model, engine="hf")  # transformers + PEFT: the reference and the naive path
    n_params = guards["fp32"].model.body.n_body_params()
    (ids,) = ref.scorer.windower.windows(KO[0])  # the detection input: prompt + <unsafe>
    bound_ms = 2 * n_params * len(ids) / (gflops * 1e9) * 1000
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"fp32 matmul: {gflops:.0f} GFLOPS; transformer body {n_params / 1e6:.0f}M params (embeddings excluded)")
    print(f"compute bound for a {len(ids)}-token query: {bound_ms:.1f} ms (fp32)")

    pool = (KO + EN) * 13
    engines = {"fast fp32": guards["fp32"], "fast int8": guards["int8"], "hf (label rows only)": ref}
    for g in engines.values():
        g.detect(KO + EN)  # warm-up
    for name, g in engines.items():
        ko, en = latency(g, KO, args.repeats), latency(g, EN, args.repeats)
        print(f"{name:22s} single query p50/p95: Korean {ko[0]:.1f}/{ko[1]:.1f} ms, English {en[0]:.1f}/{en[1]:.1f} ms")
    for bs in (1, 8, 32):
        texts = pool[: max(bs * 4, 32)]
        naive = naive_throughput(ref, texts, bs)
        qps = {name: throughput(g, texts, bs) for name, g in engines.items()}
        cells = [f"{name} {q:6.1f}" for name, q in qps.items()]
        print(
            f"batch {bs:2d} queries/s: " + ", ".join(cells) + f"; naive full-vocabulary path {naive:5.1f} "
            f"(fast fp32 {qps['fast fp32'] / naive:.1f}x, fast int8 {qps['fast int8'] / naive:.1f}x)"
        )
    if not args.no_dev:
        f1 = {p: dev_f1(g) for p, g in guards.items()}
        print(f"dev weighted F1: fp32 {f1['fp32']:.4f}, int8 {f1['int8']:.4f} (diff {f1['int8'] - f1['fp32']:+.4f})")

    for precision, g in guards.items():
        n, w, secs = long_text(g)
        print(f"long text {precision}: {n:,} characters, {w} windows, {secs:.1f} s ({secs / n * 1000:.2f} s per 1,000)")

    guard = guards["fp32"]
    t = time.perf_counter()
    r = guard.respond(KO[0], max_new_tokens=1, mode="generated")
    ttft = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    r = guard.respond(KO[0], max_new_tokens=64, mode="generated")
    secs = time.perf_counter() - t
    n_tok = len(guard.tokenizer(r.text, add_special_tokens=False)["input_ids"])
    print(f"reply: time to first token {ttft:.0f} ms; {n_tok} tokens in {secs:.2f} s ({n_tok / secs:.1f} tokens/s)")
    for precision in ("fp32", "int8"):
        cs = cold_start(args.model, precision)
        print(
            f"cold start {precision} (new process, cache warm): {cs['seconds']:.1f} s to first verdict "
            f"({cs['process_seconds']:.1f} s with interpreter start); peak RSS {cs['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
