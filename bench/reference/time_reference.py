"""Seconds per training epoch of the reference CIKGRec implementation (laowangzi/CIKGRec) on dbbook2014.

    python bench/reference/time_reference.py --checkout ~/src/CIKGRec [--data "$(kgrec data path dbbook2014)"] \\
        [--threads 1] [--epochs 2] [--device cpu] [--out bench/results/reference_epoch_time.json]

Run it with a Python that has the reference's packages (torch, torch_geometric, pandas, nltk; see
README.md beside this file). It imports the checkout's ``utils`` and ``models.Model`` and drives the
training loop of its ``train.py`` (which cannot be imported: it parses arguments and trains at import
time) without changing a file of the checkout: the same four graphs, the same two Adam optimisers,
one CF pass in batches of the config's size with the contrastive and reconstruction terms, then
``n_triplets // 4096`` TransE steps. Evaluation is left out: an epoch here is what both
implementations train. Thread counts are fixed before torch is imported, so every pool obeys them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.machine import describe, git_commit, load_average  # noqa: E402

REFERENCE_URL = "https://github.com/laowangzi/CIKGRec"
KG_BATCH = 4096  # heads per TransE step, as train.py hard-codes it
IMPORTED_FILES = ("train.py", "utils.py", "models/Model.py", "models/loss_func.py")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, required=True, help="A clone of the reference repository.")
    parser.add_argument("--data", type=Path, default=REPO / "kgrec" / "shipped" / "datasets" / "dbbook2014",
                        help="A folder in the CIKG layout (train.txt, test.txt, kg_final.txt, user_interest_clustered.txt); "
                             "default: the copy that ships with kgrec.")
    parser.add_argument("--dataset", default="dbbook2014", help="The config the reference reads (config/NAME.json).")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda:0 for a GPU.")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--max-steps", type=int, default=0,
                        help="Stop each pass after this many steps (0: full epochs; for a quick check only).")
    parser.add_argument("--commit", default=None,
                        help="The checkout's commit, when it is not a git clone (read from git otherwise).")
    parser.add_argument("--checkout-remark", default="",
                        help="Recorded with the results: how the checkout differs from a clone, if it does.")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reference_epoch_time.json")
    return parser.parse_args()


def fix_threads(threads: int) -> None:
    """Every thread pool the reference may touch (OpenMP, MKL, OpenBLAS) gets the same count."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def checkout_commit(checkout: Path, given: str | None) -> tuple[str | None, str]:
    """The commit measured and where it came from: git when the checkout is a clone of its own, else --commit."""
    try:
        top = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        top = ""
    commit = git_commit(checkout) if top and Path(top).resolve() == checkout.resolve() else None
    if commit:
        return commit, "git"
    return given, "given" if given else "unknown"


def file_hashes(checkout: Path) -> dict[str, str | None]:
    """sha256 of the reference files the loop runs, so a result names the exact code it timed."""
    return {name: hashlib.sha256((checkout / name).read_bytes()).hexdigest() if (checkout / name).exists() else None
            for name in IMPORTED_FILES}


class HeadList(dict):
    """The reference's kg_dict with its heads as a list: ``random.sample`` refuses dict keys since
    Python 3.11, and on older Pythons it turned them into a tuple in the same order, so the draws match."""

    def __init__(self, source: dict) -> None:
        super().__init__(source)
        self._heads = list(source.keys())

    def keys(self) -> list:  # type: ignore[override]
        return self._heads


def build_graphs(loader, torch, coalesce, device: str) -> dict:
    """The edge sets train.py propagates over: the CIKG, the interest view, the KG view, the perturbed view.

    train.py builds its "pure cf graph" from the source and target lists that it extended with the KG
    and interest edges just before, so that view is the whole CIKG; it is the same edge set here."""
    users = loader.train["userid"].to_list()
    items = loader.train["itemid"].to_list()
    cf_src, cf_dst = users + items, items + users
    kg_src = loader.kg_org["head"].to_list() + loader.kg_org["tail"].to_list()
    kg_dst = loader.kg_org["tail"].to_list() + loader.kg_org["head"].to_list()
    in_src = loader.kg_interest["uid"].to_list() + loader.kg_interest["interest"].to_list()
    in_dst = loader.kg_interest["interest"].to_list() + loader.kg_interest["uid"].to_list()

    def edges(src: list, dst: list):
        return coalesce(torch.LongTensor([src, dst])).contiguous().to(device)

    cikg = edges(cf_src + kg_src + in_src, cf_dst + kg_dst + in_dst)
    # the two other views pair the CF sources with themselves: a self-loop on every user and item
    return {"cikg": cikg, "interest": edges(in_src + cf_src, in_dst + cf_src),
            "kg": edges(kg_src + cf_src, kg_dst + cf_src), "cf": cikg.clone()}


def time_epochs(args: argparse.Namespace) -> dict:
    """Load the data with the reference's loader, build its model and time each epoch's two passes."""
    import torch

    torch.set_num_threads(args.threads)
    checkout = args.checkout.resolve()
    sys.path.insert(0, str(checkout))
    from models.Model import CIKGRec
    from torch_geometric.utils import coalesce
    from utils import MyLoader, generate_kg_batch, init_seed

    config = json.loads((checkout / "config" / f"{args.dataset}.json").read_text())
    config["device"] = args.device
    started = time.perf_counter()
    init_seed(args.seed, True)
    loader = MyLoader(config, verbose=False)
    graphs = build_graphs(loader, torch, coalesce, args.device)
    model = CIKGRec(config, graphs["cikg"]).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    kg_optimizer = torch.optim.Adam(model.parameters(), lr=config["lr_kg"])
    train_loader, _ = loader.get_cf_loader(bs=config["batch_size"])
    kg_dict = HeadList(loader.kg_dict)
    setup_s = time.perf_counter() - started

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    epochs = []
    for epoch in range(args.epochs):
        model.train()
        model.gmae_p = model.calc_mask_rate(epoch)
        begun = time.perf_counter()
        cf_steps = 0
        for user, pos, neg in train_loader:
            user, pos, neg = (t.to(args.device).squeeze() for t in (user, pos, neg))
            optimizer.zero_grad()
            loss = (model(user, pos, neg)
                    + model.cross_domain_contrastive_loss(user, pos, graphs["interest"], graphs["kg"], graphs["cf"])
                    + model.interest_recon_loss(graphs["cikg"]))
            loss.backward()
            optimizer.step()
            loss.detach().cpu()
            cf_steps += 1
            if cf_steps == args.max_steps:
                break
        sync()
        cf_done = time.perf_counter()
        kg_steps = config["n_triplets"] // KG_BATCH if config["use_kge"] else 0
        kg_steps = min(kg_steps, args.max_steps) if args.max_steps else kg_steps
        for _ in range(kg_steps):
            head, relation, pos_tail, neg_tail = (t.to(args.device) for t in generate_kg_batch(
                kg_dict, KG_BATCH, config["entities"] - config["interests"], 0))
            kg_loss = model.get_kg_loss(head, pos_tail, neg_tail, relation)
            kg_optimizer.zero_grad()
            kg_loss.backward()
            kg_optimizer.step()
            kg_loss.item()
        sync()
        ended = time.perf_counter()
        epochs.append({"epoch_s": round(ended - begun, 3), "cf_loop_s": round(cf_done - begun, 3),
                       "transe_s": round(ended - cf_done, 3), "cf_steps": cf_steps, "transe_steps": kg_steps})
        print(f"reference epoch {epoch + 1}: {ended - begun:.1f} s (CF {cf_done - begun:.1f} s in {cf_steps} steps, "
              f"TransE {ended - cf_done:.1f} s in {kg_steps} steps)", flush=True)
    import torch_geometric

    return {"epochs": epochs, "setup_s": round(setup_s, 3), "train_pairs": len(loader.train),
            "batch_size": config["batch_size"], "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "torch_threads": torch.get_num_threads()}


def main() -> None:
    args = parse_args()
    fix_threads(args.threads)
    commit, commit_source = checkout_commit(args.checkout, args.commit)
    hashes = file_hashes(args.checkout)
    data = args.data.resolve()
    machine = describe()
    wall = time.perf_counter()
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="kgrec-reference-") as work:
        # the reference reads ./data/<dataset>/: a link in a scratch folder, so the checkout stays as cloned
        (Path(work) / "data").mkdir()
        (Path(work) / "data" / args.dataset).symlink_to(data, target_is_directory=True)
        os.chdir(work)
        try:
            timed = time_epochs(args)
        finally:
            os.chdir(here)
    epochs = timed.pop("epochs")
    result = {
        "what": "seconds per training epoch of the reference CIKGRec code (CF pass with its contrastive and "
                "reconstruction terms, then its TransE pass; evaluation excluded)",
        "machine": {**machine, "load_average_after": load_average()},
        "reference": {"repository": REFERENCE_URL, "commit": commit, "commit_from": commit_source,
                      "file_sha256": hashes, "checkout_remark": args.checkout_remark},
        "settings": {"dataset": args.dataset, "data": str(data.relative_to(REPO) if data.is_relative_to(REPO) else data),
                     "threads": args.threads, "device": args.device, "seed": args.seed, "max_steps": args.max_steps,
                     "epochs": args.epochs},
        **timed,
        "reference_epoch_s": [e["epoch_s"] for e in epochs],
        "cf_loop_s": [e["cf_loop_s"] for e in epochs],
        "transe_s": [e["transe_s"] for e in epochs],
        "cf_steps": [e["cf_steps"] for e in epochs],
        "transe_steps": [e["transe_steps"] for e in epochs],
        "wall_s_incl_setup": round(time.perf_counter() - wall, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
