"""Detection and reply speed of a suho model on this machine, read against the CPU's measured limit.

    python bench/speed.py [--model DIR] [--repeats 30]

Prints: measured fp32 matmul GFLOPS and the compute bound it implies; single-query detection latency p50/p95
(Korean and English); batched throughput at batch 1/8/32; the same for the naive path (a full forward with the
262k-vocabulary LM head, as `generate` of one label token does) and the ratio; cold start and peak RSS (fresh
process, model cache warm); reply time-to-first-token and tokens/s.
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


def cold_start(model: str | None) -> dict:
    code = (
        "import time,resource;t=time.time();from suho import load_guard;"
        f"g=load_guard({model!r});g.detect('안녕하세요');"
        "import json;print(json.dumps({'seconds':time.time()-t,"
        "'peak_rss_mb':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))"
    )
    t = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    res["process_seconds"] = time.time() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    from suho.guard import load_guard

    gflops = matmul_gflops()
    guard = load_guard(args.model)
    body = guard._body
    n_params = sum(p.numel() for n, p in body.named_parameters() if "embed_tokens" not in n)
    ids = guard._prompt(KO[0]) + [guard.tmap.unsafe]
    bound_ms = 2 * n_params * len(ids) / (gflops * 1e9) * 1000
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"fp32 matmul: {gflops:.0f} GFLOPS; transformer body {n_params / 1e6:.0f}M params (embeddings excluded)")
    print(f"compute bound for a {len(ids)}-token query: {bound_ms:.1f} ms")

    guard.detect(KO + EN)  # warm-up
    for name, texts in (("Korean", KO), ("English", EN)):
        lat = []
        for i in range(args.repeats):
            t = time.perf_counter()
            guard.detect(texts[i % len(texts)])
            lat.append((time.perf_counter() - t) * 1000)
        print(f"single-query detection, {name}: p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms")

    pool = (KO + EN) * 8
    rows = []
    for bs in (1, 8, 32):
        g = guard.with_policy(guard.policy)
        g.batch_size = bs
        n = max(bs * 4, 32)
        texts = (pool * 4)[:n]
        t = time.perf_counter()
        g.detect(texts)
        qps = n / (time.perf_counter() - t)
        # naive path: full forward through the 262k-vocabulary LM head (what generate() of one label token computes)
        tok, model = guard.tokenizer, guard.model
        t = time.perf_counter()
        with torch.inference_mode():
            for s in range(0, n, bs):
                seqs = [guard._prompt(x) for x in texts[s : s + bs]]
                width = max(map(len, seqs))
                pad = tok.pad_token_id or 0
                batch = torch.tensor([x + [pad] * (width - len(x)) for x in seqs])
                mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in seqs])
                model(input_ids=batch, attention_mask=mask, use_cache=False).logits.argmax(-1)
        naive = n / (time.perf_counter() - t)
        rows.append((bs, qps, naive))
        print(f"batch {bs:2d}: {qps:6.1f} queries/s (naive full-vocabulary path {naive:5.1f} q/s, {qps / naive:.1f}x)")

    t = time.perf_counter()
    r = guard.respond(KO[0], max_new_tokens=1, mode="generated")
    ttft = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    r = guard.respond(KO[0], max_new_tokens=64, mode="generated")
    secs = time.perf_counter() - t
    n_tok = len(guard.tokenizer(r.text, add_special_tokens=False)["input_ids"])
    print(f"reply: time to first token {ttft:.0f} ms; {n_tok} tokens in {secs:.2f} s ({n_tok / secs:.1f} tokens/s)")
    cs = cold_start(args.model)
    print(
        f"cold start (new process, cache warm): {cs['seconds']:.1f} s to first verdict "
        f"({cs['process_seconds']:.1f} s with interpreter start); peak RSS {cs['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
