"""Seconds of CIKGRec's TransE pass (one epoch's ``epoch_end``) on a saved export, per TransE setting.

kgrec's default (``reference``: KG triples, their inverses and both directions of the interactions;
squared L2; n_KG // 4,096 steps of 4,096 random heads) against ``forward`` (one pass over the forward
KG triples in batches of 8,192). Every step updates the whole
embedding table with Adam, as the reference code does, so the pass costs about steps x table size.

    .venv/bin/python bench/transe_epoch.py --export .gpu/synthetic-846k.npz [--threads 1] [--device cpu]

Save an export with ``bench/scale.py --keep-exports DIR`` (or ``bench/reproduce_cikgrec.py --save-export``).
Writes ``bench/results/transe_epoch.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.saved_exports import device_name  # noqa: E402

SETTINGS = {
    "reference": {},   # CIKGRec's defaults
    "forward": {"transe_triples": "forward", "transe_distance": "l2", "transe_steps": "epoch",
                "transe_batch_size": 8192},
}


def time_transe(export_path: Path, setting: str, threads: int, device: str) -> dict:
    """Build CIKGRec on the export with ``setting`` and time one TransE pass."""
    import torch

    from kg_store.graph_export import GraphExport
    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.models.base import build_model
    from recommender.trainer import pick_device

    torch.set_num_threads(threads)
    data = from_export(GraphExport.load(export_path), valid_ratio=0.0, seed=2024)
    model_config, _ = resolve_config("cikgrec", "dbbook2014", threads=threads, **SETTINGS[setting])
    target = pick_device(device)
    model = build_model("cikgrec", data, model_config, target)
    steps = model.transe_step_count()
    started = time.perf_counter()
    model.epoch_end(None, 0, torch.Generator().manual_seed(0))
    if target.type == "cuda":
        torch.cuda.synchronize()
    return {"setting": setting, "steps": steps, "triples": len(model.triples),
            "table_rows": int(model.embedding.shape[0]), "seconds": round(time.perf_counter() - started, 2),
            "threads": threads, "device": device_name(target)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "transe_epoch.json")
    args = parser.parse_args()
    runs = []
    for setting in args.settings:
        runs.append(time_transe(args.export, setting, args.threads, args.device))
        print(json.dumps(runs[-1]), flush=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "export": args.export.name,
                                    "runs": runs}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
