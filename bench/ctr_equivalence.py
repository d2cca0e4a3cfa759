"""Train DeepFM (with and without the SWING contrast) and DLCM on a fixed seed and a small generated
MovieLens-format dataset, and record everything a change of the CTR/rerank plumbing could move:
the stored user split and profile cuts, the sampled candidate lists, and every epoch's losses and
validation metrics plus the test metrics.

Run it on two versions of the code with different labels; the results file keeps one entry per
label and, once a ``before`` and an ``after`` entry exist, whether they agree to float tolerance:

    PYTHONPATH=/path/to/old/tree .venv/bin/python bench/ctr_equivalence.py --label before
    PYTHONPATH=. .venv/bin/python bench/ctr_equivalence.py --label after

Only entry points whose signatures both versions share are called (``kgrec.ctr_training``,
``GraphStore.read`` of the ``cypher/ctr`` queries), so the script runs unchanged on both. Torch runs
on one CPU thread so that a run repeats itself bit for bit. Neo4j: ``NEO4J_URI`` when set, else a
private server started by kgrec's launcher in a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# bench/ holds ingest.py, export.py, ...: off the path, so `ingest` is the package of the tree on PYTHONPATH
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
OUT = HERE / "results" / "ctr_equivalence.json"
N_USERS, N_ITEMS = 60, 40
TINY = {"embedding_dim": 8, "adapter_hidden": 8, "epochs": 4, "patience": 4, "batch_size": 32, "lr": 1e-2}
RUNS: dict[str, dict[str, Any]] = {
    "deepfm": {"kind": "ctr", "model": "deepfm", "contrast": False, "settings": {**TINY, "mlp_dims": (16,)}},
    "deepfm_contrast": {"kind": "ctr", "model": "deepfm", "contrast": True, "settings": {**TINY, "mlp_dims": (16,)}},
    "dlcm": {"kind": "rerank", "model": "dlcm", "contrast": False, "settings": {**TINY, "hidden_dim": 8}},
}
REL_TOL, ABS_TOL = 1e-9, 1e-12


def write_movielens(folder: Path, seed: int = 7) -> Path:
    """u.user, u.item (19 genre flags) and u.data: 8-20 ratings per user, timestamps with ties."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    jobs = ["writer", "doctor", "other", "artist"]
    (folder / "u.user").write_text("".join(f"{u}|{15 + u % 50}|{'MF'[u % 2]}|{jobs[u % 4]}|0000{u}\n"
                                           for u in range(1, N_USERS + 1)))
    (folder / "u.item").write_text("".join(
        f"{i}|Movie {i} ({1930 + 2 * i})|01-Jan-{1930 + 2 * i}||http://example.org/{i}|"
        + "|".join("1" if g in (i % 19, (3 * i) % 19) else "0" for g in range(19)) + "\n"
        for i in range(1, N_ITEMS + 1)))
    lines = []
    for u in range(1, N_USERS + 1):
        for i in rng.choice(np.arange(1, N_ITEMS + 1), rng.integers(8, 21), replace=False):
            lines.append(f"{u}\t{int(i)}\t{int(rng.integers(1, 6))}\t{880_000_000 + int(rng.integers(0, 12)) * 100}\n")
    (folder / "u.data").write_text("".join(lines))
    return folder


@contextmanager
def graph_store() -> Iterator[Any]:
    """``NEO4J_URI``'s server, else a private one in a temporary home, stopped afterwards."""
    from kg_store.connection import GraphStore, close_all_drivers
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port
    from kg_store.settings import settings_from_env

    settings = settings_from_env()
    if settings is not None:
        yield GraphStore(settings)
        return
    with tempfile.TemporaryDirectory(prefix="ctr-equivalence-") as home:
        server = LocalNeo4j(Path(home), ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                      heap="768m", page_cache="256m"))
        server.start()
        try:
            yield GraphStore(server.connection_settings())
        finally:
            close_all_drivers()
            server.stop()


def _digest(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def stored_state(store: Any, dataset: str) -> dict[str, Any]:
    """The split, profile cuts and sampled lists as stored on the graph: sizes and content digests."""
    sequences = store.read("ctr/sequences", dataset=dataset, threshold=3)
    lists = store.read("ctr/candidate_lists", dataset=dataset, list="sampled")
    return {"split_sizes": {r["split"]: r["users"] for r in store.read("ctr/split_sizes", dataset=dataset)},
            "split_digest": _digest([[r["user"], r["split"], r["cut"]] for r in sequences]),
            "sequences_digest": _digest(sequences),
            "sampled_lists": {"users": len(lists), "candidates": sum(len(r["candidates"]) for r in lists),
                              "digest": _digest(lists)}}


def train(store: Any, dataset: str, spec: dict[str, Any]) -> dict[str, Any]:
    from kgrec.ctr_training import train_ctr, train_rerank

    run = train_ctr if spec["kind"] == "ctr" else train_rerank
    outcome = run(store, dataset, spec["model"], contrast=spec["contrast"], seeds=[2024], write_back=False,
                  **spec["settings"])
    result = outcome.results[0]
    return {"best_epoch": result.best_epoch, "valid": result.valid, "test": result.test,
            "epochs": [{"losses": log.losses, "valid": log.valid} for log in result.history]}


def measure() -> dict[str, Any]:
    import torch

    from kg_store.cypher_files import load_query
    from kgrec import api

    torch.set_num_threads(1)
    dataset = f"ctr_equivalence_{uuid.uuid4().hex[:8]}"
    with graph_store() as store, tempfile.TemporaryDirectory() as folder:
        api.ingest_movielens(store, write_movielens(Path(folder) / "ml"), dataset, progress=False)
        try:
            runs = {name: train(store, dataset, spec) for name, spec in RUNS.items()}
            return {"graph": stored_state(store, dataset), "runs": runs}
        finally:
            store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two results disagree: numbers beyond float tolerance, anything else unequal."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for key in a for d in differences(a[key], b[key], f"{path}/{key}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for k, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{k}]")]
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return [] if math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", required=True, help="Name of this entry, e.g. before or after.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from bench.machine import describe

    fixture = {"users": N_USERS, "items": N_ITEMS, "ratings_seed": 7, "train_seed": 2024}
    entry = {"machine": describe(), "torch_threads": 1, "fixture": fixture, "settings": RUNS, **measure()}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("entries", {})[args.label] = entry
    entries = results["entries"]
    if "before" in entries and "after" in entries:
        found = differences({k: entries["before"][k] for k in ("graph", "runs")},
                            {k: entries["after"][k] for k in ("graph", "runs")})
        results["comparison"] = {"rel_tol": REL_TOL, "abs_tol": ABS_TOL, "identical": not found, "differences": found}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=list) + "\n")
    for name, run in entry["runs"].items():
        print(name, "best epoch", run["best_epoch"], "test", json.dumps(run["test"]))
    if "comparison" in results:
        print("before == after:", results["comparison"]["identical"], *results["comparison"]["differences"][:10])


if __name__ == "__main__":
    main()
