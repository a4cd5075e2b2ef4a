"""Cost of the query normaliser (suho.text.normalize) on this machine: the work done before the model sees a query.

    python bench/normalise.py

Prints: the one-off table load (spacing, romanisation, English words; `suho serve` pays it while starting), the time
per query on clean Korean and English text and on every disguise benchmark (cold: the first pass, caches empty; warm:
a second pass), and the time for 1 MB texts built to stress each rule. The model's own cost per query is in
bench/speed.py (tens of milliseconds); the normaliser should stay far below it.
"""

from __future__ import annotations

import time


def per_query_ms(texts: list[str]) -> float:
    from suho.text.normalize import normalize_query

    t = time.perf_counter()
    for s in texts:
        normalize_query(s)
    return (time.perf_counter() - t) / len(texts) * 1000


def main() -> None:
    from suho.eval.benchmarks import load_benchmark
    from suho.text.normalize import load_tables, normalize_query

    t = time.perf_counter()
    load_tables()
    print(f"tables loaded in {time.perf_counter() - t:.2f} s")
    for name in ("ko-dev", "en-dev", "xstest", "ko-obfuscated", "ko-keyboard"):
        texts = [it.text for it in load_benchmark(name)]
        cold, warm = per_query_ms(texts), per_query_ms(texts)
        print(f"{name:14s} {len(texts):5d} queries: {cold:.3f} ms per query cold, {warm:.3f} ms warm")
    stress = {
        "spaced syllables": "대 마 키 우 는 법 " * 100_000,
        "typed in English mode": "tkfdls qkdqjq dkffuwnj " * 45_000,
        "English prose": "who sings santa claus is coming to town " * 25_000,
        "digits inside words": "미세8먼지 " * 170_000,
        "one 1M-letter word": "tlqkf" * 200_000,
    }
    for name, text in stress.items():
        t = time.perf_counter()
        normalize_query(text)
        print(f"{name:22s} {len(text) / 1e6:.2f}M characters: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
