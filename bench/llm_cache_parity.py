"""Ask a local backend live for prompts a cache file already answers, and compare the texts.

A cached answer is found by its key (model file, prompt, generation parameters), whatever machine
or runtime build made it. This bench measures the other half of reproducibility: whether *this*
machine's runtime, asked live, writes the same text. Greedy decoding carries any changed token
(a rounding difference between builds or CPUs) into everything after it, so the result records,
per prompt, whether the text is identical and how many leading characters agree.

    .venv/bin/python bench/llm_cache_parity.py kgrec/shipped/llm_cache/dbbook2014-interests.jsonl --limit 20

The backend follows the cache's model id: ``llama.cpp:...`` runs the llama-cpp backend, any other
id the transformers backend (both on the packaged SmolLM2). Writes ``bench/results/llm_cache_parity.json``,
one entry per cache file (a re-run replaces that file's entry).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, git_commit  # noqa: E402
from knowledge.llm.base import ChatRequest, GenerationParams, create_backend  # noqa: E402
from knowledge.llm.cache import read_jsonl  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "llm_cache_parity.json"


def _request(prompt: str, params: str) -> ChatRequest:
    return ChatRequest(messages=tuple(json.loads(prompt)), params=GenerationParams(**json.loads(params)))


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _runtime(model_id: str) -> tuple[str, str]:
    """(backend name, package and version that runs it)."""
    if model_id.startswith("llama.cpp:"):
        return "llama-cpp", f"xllamacpp {metadata.version('xllamacpp')}"
    return "transformers", f"transformers {metadata.version('transformers')}, torch {metadata.version('torch')}"


def _rows(path: Path, limit: int, model: str | None) -> list:
    """The first ``limit`` answers of ``model`` (default: the model of the file's first line)."""
    rows = []
    for row in read_jsonl(path):
        model = model or row.model
        if row.model == model:
            rows.append(row)
        if len(rows) == limit:
            break
    return rows


def compare(path: Path, limit: int, threads: int, model: str | None = None) -> dict:
    """Live answers for the first ``limit`` answers of one model in ``path`` against their cached text."""
    rows = _rows(path, limit, model)
    backend_name, runtime = _runtime(rows[0].model)
    backend = create_backend(backend_name, num_threads=threads)
    prompts, started = [], time.perf_counter()
    for row in rows:
        live = backend.complete([_request(row.prompt, row.params)])[0].text
        prompts.append({"key": row.key, "identical": live == row.text,
                        "agreeing_characters": _common_prefix(live, row.text), "cached_characters": len(row.text)})
    identical = sum(p["identical"] for p in prompts)
    return {"cache": str(path), "model": backend.model_id, "backend": backend_name, "runtime": runtime,
            "cache_made": sorted({row.created[:10] for row in rows}), "prompts": len(prompts),
            "identical": identical, "share_identical": round(identical / len(prompts), 3),
            "seconds": round(time.perf_counter() - started, 1), "per_prompt": prompts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("caches", nargs="+", type=Path, help="JSONL files of cached answers")
    parser.add_argument("--limit", type=int, default=20, help="prompts per file (the first lines)")
    parser.add_argument("--model", default=None, help="only answers of this model id (default: the first line's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    for cache in args.caches:
        entry = {"machine": describe(), "commit": git_commit(), **compare(cache, args.limit, args.threads, args.model)}
        results["runs"] = [run for run in results["runs"] if run["cache"] != entry["cache"]] + [entry]
        print(f"{cache}: {entry['identical']}/{entry['prompts']} identical ({entry['runtime']}, {entry['seconds']} s)")
        results["what"] = ("live answers of a local backend against cached answers of the same model file, "
                           "prompt and generation parameters: identical texts and agreeing leading characters")
        args.out.write_text(json.dumps(results, indent=2) + "\n")  # after each file: a later failure keeps it


if __name__ == "__main__":
    main()
