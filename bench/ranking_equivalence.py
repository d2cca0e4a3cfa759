"""Fixed-seed CIKGRec and LightGCN runs of two source trees, compared number for number.

The same runs (``tests/fixtures/cikg_small`` and a synthetic two-community dataset with a KG and
interests, each model with its default settings plus the ones below, seed 2024, CPU, one thread)
train once with the reference tree's ``recommender`` (``--before``, e.g. an unpacked ``git
archive`` of an earlier commit) and once with this tree's. Per run: every epoch's logged losses,
the validation history, best epoch and the test metrics; they must be identical (``==`` on the
floats), and seconds per epoch are reported beside them. Writes
``bench/results/ranking_equivalence.json``.

    .venv/bin/python bench/ranking_equivalence.py --before /tmp/rank-before
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "cikg_small"
RESULT = REPO / "bench" / "results" / "ranking_equivalence.json"
MODELS = ("cikgrec", "lightgcn")
SETTINGS = {"embedding_dim": 16, "epochs": 12, "batch_size": 64, "patience": 100, "min_epochs": 0,
            "device": "cpu", "threads": 1, "seed": 2024, "ks": (5, 10), "select_metric": "recall@10"}


def _pairs(path: Path) -> list[tuple[int, int]]:
    rows = [[int(x) for x in line.split()] for line in path.read_text().splitlines() if line.strip()]
    return [(row[0], item) for row in rows for item in row[1:]]


def fixture_data():   # noqa: ANN201  (a RecData of whichever tree is on the path)
    """``cikg_small`` as arrays: items are KG entities 0..n_items-1, interests renumbered in id order."""
    import numpy as np

    from kg_store.graph_export import SPLIT_CODES, GraphExport
    from recommender.data import from_export

    train, test = _pairs(FIXTURE / "train.txt"), _pairs(FIXTURE / "test.txt")
    n_users = len((FIXTURE / "user_list.txt").read_text().splitlines()) - 1
    n_items = len((FIXTURE / "item_list.txt").read_text().splitlines()) - 1
    n_entities = len((FIXTURE / "entity_list.txt").read_text().splitlines()) - 1
    relations = [line.split()[0] for line in (FIXTURE / "relation_list.txt").read_text().splitlines()[1:]]
    triples = np.loadtxt(FIXTURE / "kg_final.txt", dtype=np.int64).reshape(-1, 3)
    held = np.loadtxt(FIXTURE / "user_interest_clustered.txt", dtype=np.int64).reshape(-1, 2)
    interests, held[:, 1] = np.unique(held[:, 1], return_inverse=True)
    interactions = np.array(train + test, dtype=np.int64)
    split = np.array([SPLIT_CODES["train"]] * len(train) + [SPLIT_CODES["test"]] * len(test), dtype=np.int8)
    export = GraphExport(dataset="cikg_small", cache_key="fixture", user_ids=np.arange(n_users),
                         item_ids=np.arange(n_items), entity_ids=np.arange(n_entities), interest_ids=interests,
                         relation_types=relations, interactions=interactions, interaction_split=split,
                         item_entities=np.stack([np.arange(n_items)] * 2, 1), triples=triples,
                         user_interests=held)
    return from_export(export, valid_ratio=1 / 8, seed=2024)


def synthetic_data():   # noqa: ANN201
    """120 users in two communities, each liking one half of 80 items; KG and interests agree."""
    import numpy as np

    from recommender.data import RecData

    rng = np.random.default_rng(0)
    n_users, n_items = 120, 80
    pairs = np.array([(u, int(i)) for u in range(n_users)
                      for i in rng.choice(np.arange(40) + (0 if u < 60 else 40), 12, replace=False)])
    rng.shuffle(pairs)
    train, valid, test = pairs[:1100], pairs[1100:1250], pairs[1250:]
    data = RecData("synthetic", n_users, n_items, train, valid, test)
    data.n_entities, data.n_relations, data.n_interests = n_items + 2, 2, 4
    data.item_entity = np.arange(n_items)
    data.triples = np.array([(i, 0, n_items + (i >= 40)) for i in range(n_items)] + [(n_items, 1, n_items + 1)])
    data.user_interests = np.array([(u, (u >= 60) * 2 + k) for u in range(n_users) for k in (0, 1)])
    return data


def run_all() -> dict:
    """Train every (dataset, model) with this interpreter's ``recommender``; plain JSON values."""
    import recommender
    from recommender.config import resolve_config
    from recommender.trainer import Trainer

    runs = {}
    for dataset, make in (("cikg_small", fixture_data), ("synthetic", synthetic_data)):
        for model in MODELS:
            model_config, train_config = resolve_config(model, dataset, **SETTINGS)
            result = Trainer(make(), model, model_config, train_config, progress=False).fit()
            runs[f"{dataset}/{model}"] = {
                "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "test": result.test,
                "valid": result.valid, "history": result.history,
                "seconds_per_epoch": round(result.seconds_per_epoch, 4)}
    return {"recommender": str(Path(recommender.__file__).parent.parent), "runs": runs}


def _child(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def compare(before: dict, after: dict) -> dict:
    """Per run: whether everything but the timing is identical, and the two timings."""
    rows = {}
    for key, old in before["runs"].items():
        new = after["runs"][key]
        same = all(old[field] == new[field] for field in ("best_epoch", "epochs_run", "test", "valid", "history"))
        rows[key] = {"identical": same, "test_before": old["test"], "test_after": new["test"],
                     "best_epoch": [old["best_epoch"], new["best_epoch"]],
                     "seconds_per_epoch_before": old["seconds_per_epoch"],
                     "seconds_per_epoch_after": new["seconds_per_epoch"]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="Source tree to compare against (its recommender/, kg_store/).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_all()))
        return
    if args.before is None:
        parser.error("--before is required")
    before, after = _child(args.before), _child(REPO)
    assert before["recommender"] != after["recommender"], "both runs imported the same tree"
    rows = compare(before, after)
    report = {"what": "fixed-seed CIKGRec and LightGCN: reference tree vs this tree, everything but time compared "
                      "with ==", "settings": {**SETTINGS, "ks": list(SETTINGS["ks"])},
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, one torch thread",
              "identical": all(row["identical"] for row in rows.values()), "runs": rows}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({key: row["identical"] for key, row in rows.items()}, indent=2))
    if not report["identical"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
