"""Prompts per second through the ``openai`` backend with 1 vs N OpenAI-compatible servers.

What it measures is the client: how well the endpoint pool spreads requests (least outstanding,
``--max-concurrency`` per server) and what a failing server costs. The servers are the test chat
server (tests/chat_server.py), run in a child process so they do not share the client's
interpreter, each answering after ``--delay`` seconds: a stand-in for a model server whose
generation time is fixed, so N servers can at best give N times the prompts per second of one
(the ``ideal`` column: servers x concurrency / delay). Scenarios: N healthy servers; N healthy plus
one refusing connections; N healthy plus one answering HTTP 500. Configurations are interleaved,
``--repeats`` times each, and the median is reported.

    .venv/bin/python bench/llm_endpoints.py --prompts 200 --delay 0.05 --repeats 5

Writes ``bench/results/llm_endpoints.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repository's packages before bench/ (bench/ingest.py shadows ingest)
sys.path.insert(1, str(REPO / "tests"))  # the test chat server

from bench.machine import describe, git_commit  # noqa: E402
from knowledge.llm.base import ChatRequest, GenerationParams  # noqa: E402
from knowledge.llm.openai_http import OpenAIChatBackend  # noqa: E402

OUT = REPO / "bench" / "results" / "llm_endpoints.json"


def serve(healthy: int, delay: float) -> None:
    """Child process: ``healthy`` servers and one answering 500; print their URLs, run until stdin closes."""
    from chat_server import FakeChatServer, refused_url

    servers = [FakeChatServer(delay=delay, usage=True) for _ in range(healthy)] + [FakeChatServer(fail_after=0)]
    for server in servers:
        server.__enter__()
    print(json.dumps({"healthy": [s.base_url for s in servers[:-1]], "failing": servers[-1].base_url,
                      "refused": refused_url()}), flush=True)
    sys.stdin.read()
    for server in servers:
        server.__exit__()


def measure(urls: list[str], prompts: int, max_concurrency: int, tag: str) -> dict:
    """One run on a fresh backend: prompts/s, and how many requests each server was given."""
    backend = OpenAIChatBackend(endpoints=tuple(urls), model="bench-model", max_concurrency=max_concurrency,
                                max_attempts=4, backoff_base=0.01, unhealthy_seconds=60.0)
    requests = [ChatRequest.user(f"{tag} prompt {i}", GenerationParams(max_new_tokens=8)) for i in range(prompts)]
    started = time.perf_counter()
    completions = backend.complete(requests)
    seconds = time.perf_counter() - started
    assert len(completions) == prompts
    return {"seconds": seconds, "prompts_per_s": prompts / seconds,
            "sent": [row["sent"] for row in backend.pool.snapshot()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds each server takes per answer")
    parser.add_argument("--max-concurrency", type=int, default=4, help="requests in flight per server")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.delay)
        return
    most = max(args.servers)
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(most), "--delay", str(args.delay)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        urls = json.loads(child.stdout.readline())
        configs = [(f"{n} healthy", urls["healthy"][:n], n) for n in args.servers]
        configs += [(f"{most} healthy + 1 refusing connections", [urls["refused"], *urls["healthy"]], most),
                    (f"{most} healthy + 1 answering HTTP 500", [urls["failing"], *urls["healthy"]], most)]
        runs: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
        for repeat in range(args.repeats):  # interleaved: a change of load hits every configuration alike
            for name, endpoints, _ in configs:
                runs[name].append(measure(endpoints, args.prompts, args.max_concurrency, f"{name} {repeat}"))
                print(f"{name:<40} {runs[name][-1]['prompts_per_s']:8.1f} prompts/s", flush=True)
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    ideal = lambda healthy: healthy * args.max_concurrency / args.delay  # noqa: E731
    results = [{"scenario": name, "healthy_servers": healthy, "endpoints": len(endpoints),
                "prompts_per_s_median": round(statistics.median(r["prompts_per_s"] for r in runs[name]), 1),
                "prompts_per_s": [round(r["prompts_per_s"], 1) for r in runs[name]],
                "ideal_prompts_per_s": round(ideal(healthy), 1), "requests_per_endpoint": runs[name][-1]["sent"]}
               for name, endpoints, healthy in configs]
    one = next(r for r in results if r["endpoints"] == 1)["prompts_per_s_median"] if 1 in args.servers else None
    for row in results:
        row["speedup_vs_1"] = round(row["prompts_per_s_median"] / one, 2) if one else None
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"machine": describe(), "commit": git_commit(), "prompts": args.prompts,
                               "delay_s": args.delay, "max_concurrency": args.max_concurrency,
                               "repeats": args.repeats, "servers": "tests/chat_server.py in one child process",
                               "results": results}, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
