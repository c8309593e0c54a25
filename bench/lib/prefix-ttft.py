#!/usr/bin/env python3
"""Load for bench/prefix-ttft.sh: streamed chat completions whose prompts start with one of PROMPTS long system
prompts (uniformly at random, fixed seed), each followed by a short question of its own, from CONCURRENCY clients
in a closed loop. Prints one JSON line: TTFT percentiles (request sent -> first content token) and the share of
prompt tokens the engines found in their cache (usage.prompt_tokens_details.cached_tokens, llama.cpp reports it).

Usage: prefix-ttft.py URL REQUESTS CONCURRENCY PROMPTS PROMPT_WORDS SEED
Standard library only."""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

url, total, concurrency, prompts, words, seed = sys.argv[1], *map(int, sys.argv[2:7])
target = urllib.parse.urlparse(url)

VOCAB = ("account billing refund invoice shipping order customer policy privacy support warranty product service "
         "delivery payment subscription plan upgrade cancel return exchange discount coupon tax receipt address "
         "phone email password login security report complaint feedback manager agent ticket escalate urgent "
         "always never politely briefly clearly answer question explain describe confirm verify check update").split()


def system_prompt(n):
    rng = random.Random(1000 + n)
    return f"You are assistant number {n}. " + " ".join(rng.choice(VOCAB) for _ in range(words))


SYSTEMS = [system_prompt(n) for n in range(prompts)]
rng = random.Random(seed)
plan = [(rng.randrange(prompts), f"Question {i}: {' '.join(rng.choice(VOCAB) for _ in range(8))}?") for i in range(total)]
lock = threading.Lock()
results = []
errors = []


def one(app, question):
    body = json.dumps({"model": "bench", "stream": True, "max_tokens": 4, "ignore_eos": True,
                       "stream_options": {"include_usage": True},
                       "messages": [{"role": "system", "content": SYSTEMS[app]},
                                    {"role": "user", "content": question}]})
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}: {response.read()[:200]!r}")
    ttft = None
    prompt_tokens = cached = 0
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data:") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[5:])
        if ttft is None and any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
            ttft = time.perf_counter() - t0
        usage = chunk.get("usage")
        if usage:
            prompt_tokens = usage.get("prompt_tokens", 0)
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    conn.close()
    return ttft, prompt_tokens, cached


def worker(index):
    for i in range(index, total, concurrency):
        try:
            outcome = one(*plan[i])
            with lock:
                results.append(outcome)
        except Exception as e:  # counted and reported, the run goes on
            with lock:
                errors.append(str(e))


started = time.perf_counter()
threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - started

ttfts = sorted(r[0] * 1000 for r in results if r[0] is not None)


def pct(p):
    return round(ttfts[min(len(ttfts) - 1, int(p / 100 * len(ttfts)))], 1) if ttfts else None


prompt_sum = sum(r[1] for r in results)
print(json.dumps({"requests": len(results), "errors": len(errors), "first_error": errors[0] if errors else None,
                  "ttft_ms_p50": pct(50), "ttft_ms_p90": pct(90), "ttft_ms_p99": pct(99),
                  "ttft_ms_mean": round(sum(ttfts) / len(ttfts), 1) if ttfts else None,
                  "cached_share": round(sum(r[2] for r in results) / prompt_sum, 3) if prompt_sum else None,
                  "prompt_tokens_mean": round(prompt_sum / len(results)) if results else None,
                  "seconds": round(elapsed, 1)}))
