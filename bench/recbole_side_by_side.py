"""RecBole 1.2.1 and kgrec side by side on one export: seconds per epoch, test R@50 / N@50.

kgrec writes the dataset with its RecBole writer (``kgrec export --format recbole``), RecBole loads
the files with its own loaders (its KG dataset for the KG models), the script asserts that no item
and no interaction was dropped, and RecBole trains each model with its own trainer and early stopping
(validation every epoch, Recall@50 on ``valid.inter``, patience 10). Training seconds and
full-ranking evaluation seconds are measured per epoch, apart; test R@50 / N@50 are RecBole's at the
epoch its early stopping keeps. ``--kgrec`` trains kgrec's models of the same names on the same
export, with the same thread counts, and records the same fields. Every (side, model, threads) job
runs in a fresh process with ``OMP_NUM_THREADS`` set; a job already in the results file is skipped.

RecBole needs its own environment (its pins, e.g. ``colorlog==4.7.2``, conflict with
``requirements.lock``), the ``bench`` extra::

    python3.11 -m venv /tmp/rbvenv && /tmp/rbvenv/bin/pip install -e '.[bench]'
    /tmp/rbvenv/bin/python bench/recbole_side_by_side.py --export-file /tmp/exports/dbbook2014.npz --check-load
    /tmp/rbvenv/bin/python bench/recbole_side_by_side.py --export-file /tmp/exports/dbbook2014.npz \\
        --models LightGCN KGAT CKE CFKG SGL --threads 1 2 --kgrec
    .venv/bin/python bench/recbole_side_by_side.py --table      # docs/benchmarks/recbole.md

Without ``--export-file`` the export is read from Neo4j (``kgrec export``'s files and the training
export of the same graph). SGL is RecBole-GNN's, not RecBole's: it is trained only where
``recbole_gnn`` imports, and skipped with a message otherwise.

Compatibility shims, applied in this process only (no RecBole file is changed):

- ``np.float_``, ``np.complex_`` and ``np.unicode_`` (``float64``, ``complex128``, ``str_``):
  RecBole's ``Config.compatibility_settings`` assigns ``np.float = np.float_`` and the like, names
  numpy 2 removed; its metrics then use ``np.float``, which is ``float64`` as in numpy 1.
- ``scipy.sparse.dok_matrix._update``: LightGCN (and NGCF, GCMC, ...) fill their adjacency with
  this private method, which current SciPy (1.17 here) lacks; the shim does what it did, a dictionary update
  of the stored entries.
- DGL 1.1 under RecBole's KGAT (DGL 2.x's wheel does not import beside current torch: its GraphBolt
  needs torchdata's removed datapipes), while KGAT calls the DGL 0.x API:
  ``dgl.edge_subgraph(..., preserve_nodes=True)`` becomes ``relabel_nodes=False`` and
  ``DGLGraph.adjacency_matrix(transpose=..., scipy_fmt=...)`` becomes ``adj_external`` with the same
  arguments (row = source, column = destination, as before).
- ``torch.load(..., weights_only=False)`` for files under this run's checkpoint folder only:
  torch 2.6 made ``weights_only=True`` the default, and RecBole's checkpoints (which it writes
  itself, then loads for the test evaluation) hold its config object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.jsonl_results import append_result  # noqa: E402
from bench.machine import describe, git_commit  # noqa: E402

RESULTS = REPO / "bench" / "results" / "recbole_side_by_side.jsonl"
PAGE = REPO / "docs" / "benchmarks" / "recbole.md"
WORK = Path.home() / ".cache" / "kgrec" / "bench-runs" / "recbole"
KG_MODELS = {"KGAT", "CKE", "CFKG", "KGCN", "KGIN", "KGNNLS", "KTUP", "MKR", "RippleNet", "MCCLK"}
GNN_MODELS = {"SGL"}  # RecBole-GNN's, not RecBole's
TABLE_START, TABLE_END = "<!-- table: start -->", "<!-- table: end -->"


# -- the export ----------------------------------------------------------------------------------
def export_rows(export: Any) -> Any:
    """A saved :class:`GraphExport` as the row streams kgrec's file formats read (ids, no properties)."""
    from kg_store.formats.base import DatasetRows, Interaction, Node, Pair, Triple
    from kg_store.graph_export import SPLIT_CODES

    split_names = {code: name for name, code in SPLIT_CODES.items()}

    class ExportRows(DatasetRows):
        def users(self):
            return (Node(int(u), {}) for u in export.user_ids)

        def items(self):
            return (Node(int(i), {}) for i in export.item_ids)

        def entities(self):
            return (Node(int(e), {}) for e in export.entity_ids)

        def interactions(self):
            return (Interaction(int(export.user_ids[u]), int(export.item_ids[i]), split_names[int(s)])
                    for (u, i), s in zip(export.interactions, export.interaction_split, strict=True))

        def triples(self):
            return (Triple(int(export.entity_ids[h]), export.relation_types[r], int(export.entity_ids[t]))
                    for h, r, t in export.triples)

        def item_entities(self):
            return (Pair(int(export.item_ids[i]), int(export.entity_ids[e])) for i, e in export.item_entities)

        def user_interests(self):
            return iter(())

    return ExportRows(export.dataset, [], list(export.relation_types))


def write_export(args: argparse.Namespace) -> Path:
    """The dataset's RecBole files in a fresh ``<work>/<dataset>`` folder, written by kgrec's writer."""
    import shutil

    from kg_store.formats.folder import write_atomically
    from kg_store.formats.registry import create

    folder = args.work / args.dataset
    if folder.exists():
        shutil.rmtree(folder)
    if args.export_file is not None:
        from bench.saved_exports import load_export

        rows = export_rows(load_export(args.export_file, args.dataset))
        write_atomically(folder, lambda out: create("recbole").write(rows, out))
    else:
        from kgrec.api import connect
        from kgrec.export_api import export_files

        export_files(connect(), args.dataset, "recbole", folder)
    return folder


def file_counts(folder: Path) -> dict[str, Any]:
    """What RecBole must load: rows per split file and the distinct users and items of the interactions."""
    counts: dict[str, Any] = {}
    users, items = set(), set()
    for split in ("train", "valid", "test"):
        rows = (folder / f"{folder.name}.{split}.inter").read_text(encoding="utf-8").splitlines()[1:]
        counts[split] = len(rows)
        for row in rows:
            user, item = row.split("\t")[:2]
            users.add(user)
            items.add(item)
    return {**counts, "interactions": sum(counts.values()), "users": len(users), "items": len(items)}


# -- RecBole, in a job's process -----------------------------------------------------------------
def apply_shims(checkpoints: Path) -> None:
    """The three compatibility shims of the module docstring."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    for old, new in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if not hasattr(np, old):
            setattr(np, old, new)
    if not hasattr(sp.dok_matrix, "_update"):
        sp.dok_matrix._update = lambda self, entries: self._dict.update(entries)
    apply_dgl_shims()
    plain_load = torch.load

    def load(f: Any, *rest: Any, **kwargs: Any) -> Any:
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve().is_relative_to(checkpoints.resolve()):
            kwargs.setdefault("weights_only", False)
        return plain_load(f, *rest, **kwargs)

    torch.load = load


def apply_dgl_shims() -> None:
    """DGL 0.x's ``edge_subgraph(preserve_nodes=)`` and ``adjacency_matrix(scipy_fmt=)`` on DGL 1.1."""
    import importlib.util

    if importlib.util.find_spec("dgl") is None:
        return  # only RecBole's KGAT needs DGL
    import dgl

    plain_subgraph, plain_adjacency = dgl.edge_subgraph, dgl.DGLGraph.adjacency_matrix

    def edge_subgraph(graph: Any, edges: Any, *rest: Any, preserve_nodes: bool | None = None, **kwargs: Any) -> Any:
        if preserve_nodes is not None:
            kwargs.setdefault("relabel_nodes", not preserve_nodes)
        return plain_subgraph(graph, edges, *rest, **kwargs)

    def adjacency_matrix(self: Any, *rest: Any, **kwargs: Any) -> Any:
        if "scipy_fmt" in kwargs or "transpose" in kwargs:
            return self.adj_external(*rest, **kwargs)
        return plain_adjacency(self, *rest, **kwargs)

    dgl.edge_subgraph, dgl.DGLGraph.adjacency_matrix = edge_subgraph, adjacency_matrix


def recbole_config(model: str, folder: Path, threads: int, epochs: int | None, lr: float | None) -> Any:
    from recbole.config import Config

    settings: dict[str, Any] = {
        "data_path": str(folder.parent), "checkpoint_dir": str(folder.parent / "saved"),
        "benchmark_filename": ["train", "valid", "test"], "seed": 2024, "reproducibility": True,
        "use_gpu": False, "device": "cpu", "show_progress": False, "state": "WARNING", "worker": 0,
        "load_col": {"inter": ["user_id", "item_id"], "kg": ["head_id", "relation_id", "tail_id"],
                     "link": ["item_id", "entity_id"]},
        "eval_args": {"group_by": "user", "order": "RO", "mode": "full"}, "metrics": ["Recall", "NDCG"],
        "topk": [50], "valid_metric": "Recall@50", "stopping_step": 10, "eval_step": 1,
        "train_batch_size": 2048, "eval_batch_size": 409600, "nproc": 1,
    }
    if model not in KG_MODELS:
        del settings["load_col"]["kg"], settings["load_col"]["link"]
    if epochs:
        settings["epochs"] = epochs
    if lr:
        settings["learning_rate"] = lr
    if model in GNN_MODELS:
        from recbole_gnn.config import Config as GnnConfig  # RecBole-GNN's config knows its models

        return GnnConfig(model=model, dataset=folder.name, config_dict=settings)
    return Config(model=model, dataset=folder.name, config_dict=settings)


def check_loaded(dataset: Any, splits: list[Any], expected: dict[str, Any]) -> dict[str, int]:
    """RecBole's own counts against the files: no user, item or interaction dropped, every item linked."""
    loaded = {"interactions": len(dataset.inter_feat), "users": dataset.user_num - 1, "items": dataset.item_num - 1,
              **{name: len(part.inter_feat) for name, part in zip(("train", "valid", "test"), splits, strict=True)}}
    if hasattr(dataset, "item2entity"):
        loaded["linked_items"] = len(dataset.item2entity)
        loaded["entities"] = dataset.entity_num - 1
        assert loaded["linked_items"] == expected["items"], (loaded, expected)
    for key in ("interactions", "users", "items", "train", "valid", "test"):
        assert loaded[key] == expected[key], f"RecBole {key}: {loaded[key]} loaded, {expected[key]} in the files"
    return loaded


def timed(owner: Any, name: str, seconds: list[float]) -> None:
    """Replace ``owner.name`` (an instance's method) by one that appends its wall time to ``seconds``."""
    method = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    setattr(owner, name, wrapper)


def run_recbole(job: dict[str, Any]) -> dict[str, Any]:
    folder = Path(job["folder"])
    apply_shims(folder.parent / "saved")
    import torch

    torch.set_num_threads(job["threads"])
    if job["model"] in GNN_MODELS:
        from recbole_gnn.utils import create_dataset, data_preparation, get_model, get_trainer
    else:
        from recbole.data import create_dataset, data_preparation
        from recbole.utils import get_model, get_trainer
    from recbole.utils import init_seed

    config = recbole_config(job["model"], folder, job["threads"], job.get("epochs_cap"), job.get("lr"))
    init_seed(config["seed"], config["reproducibility"])
    started = time.perf_counter()
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    loaded = check_loaded(dataset, [train._dataset, valid._dataset, test._dataset], job["expected"])
    load_s = time.perf_counter() - started
    if job.get("load_only"):
        return {"loaded": loaded, "load_s": round(load_s, 2)}
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    train_s: list[float] = []
    eval_s: list[float] = []
    saved_epochs: list[int] = []
    timed(trainer, "_train_epoch", train_s)
    timed(trainer, "_valid_epoch", eval_s)
    save = trainer._save_checkpoint
    trainer._save_checkpoint = lambda epoch, *a, **k: (saved_epochs.append(epoch), save(epoch, *a, **k))[1]
    _, best_valid = trainer.fit(train, valid, verbose=False, saved=True, show_progress=False)
    test_result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    return {"loaded": loaded, "load_s": round(load_s, 2), "epochs_run": len(train_s),
            "best_epoch": saved_epochs[-1] if saved_epochs else None, "train_s": train_s, "eval_s": eval_s,
            "valid_recall@50": float(best_valid["recall@50"]), "test_recall@50": float(test_result["recall@50"]),
            "test_ndcg@50": float(test_result["ndcg@50"]), "learning_rate": config["learning_rate"],
            "batch_size": config["train_batch_size"], "max_epochs": config["epochs"]}


# -- kgrec, in a job's process -------------------------------------------------------------------
def run_kgrec(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from bench.saved_exports import load_export
    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.trainer import Trainer

    torch.set_num_threads(job["threads"])
    export_file = Path(job["export_file"]) if job.get("export_file") else None
    model_config, train_config = resolve_config(job["kgrec_model"], job["dataset"], threads=job["threads"],
                                                device="cpu", epochs=job.get("epochs_cap"))
    data = from_export(load_export(export_file, job["dataset"]), valid_ratio=train_config.valid_ratio,
                       seed=train_config.seed)
    expected = job["expected"]
    assert (len(data.train), len(data.valid), len(data.test)) == (expected["train"], expected["valid"],
                                                                  expected["test"]), "kgrec's split differs"
    trainer = Trainer(data, job["kgrec_model"], model_config, train_config, progress=False)
    train_s: list[float] = []
    eval_s: list[float] = []
    timed(trainer, "train_epoch", train_s)
    timed(trainer, "evaluate", eval_s)
    result = trainer.fit_valid()
    valid_evals = eval_s[:result.epochs_run]  # then one more on valid and one on test
    return {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch, "train_s": train_s,
            "eval_s": valid_evals, "valid_recall@50": result.valid.get("recall@50"),
            "test_recall@50": result.test.get("recall@50"), "test_ndcg@50": result.test.get("ndcg@50"),
            "learning_rate": train_config.lr, "batch_size": train_config.batch_size,
            "max_epochs": train_config.epochs}


def run_job(job: dict[str, Any]) -> None:
    """One (side, model, threads) run; prints its result as the last line of stdout."""
    sys.argv = sys.argv[:1]  # RecBole's Config reads settings from the command line
    out = run_recbole(job) if job["side"] == "recbole" else run_kgrec(job)
    print("RESULT " + json.dumps(out), flush=True)


# -- the runs ------------------------------------------------------------------------------------
def job_key(row: dict[str, Any]) -> tuple:
    return row.get("side"), row.get("model"), row.get("threads"), row.get("dataset"), row.get("epochs_cap")


def done_keys(path: Path) -> set[tuple]:
    if not path.exists():
        return set()
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {job_key(row) for row in rows if row.get("kind") == "train"}


def spawn(job: dict[str, Any], work: Path) -> dict[str, Any] | None:
    """Run one job in a fresh interpreter with its thread count; its result, or None after a failure."""
    threads = str(job["threads"])
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--job", json.dumps(job)], cwd=work,
                         env=env, capture_output=True, text=True)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode != 0 or not lines:
        print(f"{job['side']} {job['model']} ({threads} thread(s)) failed:\n{run.stderr[-3000:]}", flush=True)
        return None
    return json.loads(lines[-1].removeprefix("RESULT "))


def summary(out: dict[str, Any]) -> dict[str, Any]:
    """Median seconds per epoch for training and for evaluation, plus every epoch's, rounded."""
    import statistics

    fields = {key: value for key, value in out.items() if key not in ("train_s", "eval_s")}
    for key in ("train_s", "eval_s"):
        values = out.get(key) or []
        fields[f"{key}_per_epoch"] = round(statistics.median(values), 3) if values else None
        fields[f"{key}_epochs"] = [round(v, 3) for v in values]
    return fields


def kgrec_model(name: str) -> str | None:
    """kgrec's registered model of RecBole's ``name`` (lower case), or None while it is not registered."""
    from recommender.registry import model_names

    return name.lower() if name.lower() in model_names() else None


def runnable(side: str, model: str) -> str | None:
    """Why a side cannot train ``model`` here (None: it can)."""
    import importlib.util

    if side == "kgrec":
        return None if kgrec_model(model) else f"kgrec has no model '{model.lower()}' registered yet"
    if importlib.util.find_spec("recbole") is None:
        return "RecBole is not installed in this interpreter (install the bench extra in its own venv)"
    if model in GNN_MODELS and importlib.util.find_spec("recbole_gnn") is None:
        return f"{model} is RecBole-GNN's, and recbole_gnn is not installed"
    return None


def train_all(args: argparse.Namespace, folder: Path, expected: dict[str, Any]) -> None:
    machine, commit = describe(), git_commit()
    done = done_keys(args.results)
    sides = ["recbole", "kgrec"] if args.kgrec else ["recbole"]
    for threads in args.threads:
        for model in args.models:
            for side in sides:
                base = {"kind": "train", "side": side, "model": model, "threads": threads, "dataset": args.dataset,
                        "epochs_cap": args.epochs}
                if job_key(base) in done:
                    print(f"skip {side} {model} ({threads} thread(s)): already in {args.results.name}", flush=True)
                    continue
                if reason := runnable(side, model):
                    print(f"skip {side} {model}: {reason}", flush=True)
                    continue
                name = kgrec_model(model)
                lr = None
                if name and side == "recbole":  # RecBole trains with kgrec's learning rate for the same model
                    from recommender.config import resolve_config

                    lr = resolve_config(name, args.dataset)[1].lr
                job = {**base, "folder": str(folder), "expected": expected, "kgrec_model": name, "lr": lr,
                       "export_file": str(args.export_file) if args.export_file else None}
                out = spawn(job, args.work)
                if out is not None:
                    append_result(args.results, {**base, **summary(out), "export": job["export_file"] or "neo4j",
                                                 "machine": machine, "commit": commit})


def check_load(args: argparse.Namespace, folder: Path, expected: dict[str, Any]) -> None:
    """RecBole's general dataset (LightGCN's config) and KG dataset (CKE's) on the export: nothing dropped."""
    for model in ("LightGCN", "CKE"):
        job = {"side": "recbole", "model": model, "threads": 1, "epochs_cap": None, "folder": str(folder),
               "expected": expected, "load_only": True}
        out = spawn(job, args.work)
        if out is None:
            raise SystemExit(f"RecBole's {model} dataset did not load the export without loss")
        append_result(args.results, {"kind": "load", "model": model, "dataset": args.dataset, "files": expected,
                                     **out, "export": str(args.export_file or "neo4j"), "machine": describe(),
                                     "commit": git_commit()})


# -- the table -----------------------------------------------------------------------------------
def table(path: Path) -> str:
    """The markdown table of the training rows (last row per job wins)."""
    rows: dict[tuple, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        row = json.loads(line)
        if row.get("kind") == "train":
            rows[job_key(row)] = row
    number = lambda value, digits: "–" if value is None else f"{value:.{digits}f}"
    lines = ["| model | threads | side | train s/epoch | eval s/epoch | epochs run (best) | test R@50 | test N@50 "
             "| epochs cap | CPU, load average |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in sorted(rows.values(), key=lambda r: (r["model"], r["threads"], r["side"], str(r["epochs_cap"]))):
        best = "–" if row.get("best_epoch") is None else row["best_epoch"] + 1
        machine = row.get("machine", {})
        lines.append(f"| {row['model']} | {row['threads']} | {row['side']} | {number(row['train_s_per_epoch'], 2)} "
                     f"| {number(row['eval_s_per_epoch'], 2)} | {row['epochs_run']} ({best}) "
                     f"| {number(row['test_recall@50'], 4)} | {number(row['test_ndcg@50'], 4)} "
                     f"| {row['epochs_cap'] or row.get('max_epochs')} | {machine.get('cpu', '?')}, "
                     f"{machine.get('load_average')} |")
    return "\n".join(lines)


def write_table(results: Path, page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    page.write_text(f"{head}{TABLE_START}\n{table(results)}\n{TABLE_END}{tail}", encoding="utf-8")
    print(f"wrote the table of {results.name} into {page}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--export-file", type=Path, default=None,
                        help="a saved export (GraphExport .npz); without it the graph in Neo4j is exported")
    parser.add_argument("--models", nargs="*", default=["LightGCN", "KGAT", "CKE", "CFKG", "SGL"],
                        help="RecBole's model names; kgrec's side trains the registered model of the lower-case name")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=None,
                        help="an epoch cap for both sides (default: each side's own, RecBole 300, kgrec its config's)")
    parser.add_argument("--kgrec", action="store_true", help="also train kgrec's models of the same names")
    parser.add_argument("--check-load", action="store_true",
                        help="only load the export with RecBole's general and KG datasets and check the counts")
    parser.add_argument("--table", action="store_true", help=f"write the results table into {PAGE.relative_to(REPO)}")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--work", type=Path, default=WORK, help="folder for the export, checkpoints and RecBole's logs")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        return run_job(json.loads(args.job))
    if args.table:
        return write_table(args.results, args.page)
    args.work.mkdir(parents=True, exist_ok=True)
    folder = write_export(args)
    expected = file_counts(folder)
    print(f"exported {args.dataset} to {folder}: {json.dumps(expected)}", flush=True)
    if args.check_load:
        return check_load(args, folder, expected)
    train_all(args, folder, expected)


if __name__ == "__main__":
    main()
