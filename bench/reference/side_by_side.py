"""kgrec's epoch time against the reference code's, from the two benches' result files.

    .venv/bin/python bench/reference/side_by_side.py --kgrec BEFORE.json [AFTER.json] \\
        --reference bench/results/reference_epoch_time.json --out bench/results/reference_side_by_side.json

``--kgrec`` takes ``bench/epoch_time.py`` results (``--all-train``, so both sides train on all of
train.txt); pass the run before the reference and the one after it, so a drift of the machine shows.
For each kgrec model the ratio is the reference's mean epoch over kgrec's median epoch, pooled over
the kgrec files; its range pairs the slowest and fastest epochs of either side. The settings must
match (threads, device, training pairs, full epochs), or the script refuses to write.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kgrec", type=Path, nargs="+", required=True, help="bench/epoch_time.py results.")
    parser.add_argument("--reference", type=Path, default=REPO / "bench" / "results" / "reference_epoch_time.json",
                        help="bench/reference/time_reference.py results.")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reference_side_by_side.json")
    return parser.parse_args()


def check_same_settings(reference: dict, kgrec: dict, name: Path) -> None:
    """Refuse to compare runs that trained on different data, threads or devices, or cut epochs short."""
    ref = reference["settings"]
    problems = []
    if ref["max_steps"]:
        problems.append(f"the reference run stopped each pass after {ref['max_steps']} steps")
    if not kgrec["settings"]["all_train"]:
        problems.append("kgrec did not train on all of train.txt (--all-train)")
    for row in kgrec["runs"]:
        if row["threads"] != ref["threads"]:
            problems.append(f"{row['model']}: {row['threads']} threads against the reference's {ref['threads']}")
        if row["train_pairs"] != reference["train_pairs"]:
            problems.append(f"{row['model']}: {row['train_pairs']} training pairs against {reference['train_pairs']}")
        if (row["device"] == "cpu") != (ref["device"] == "cpu"):
            problems.append(f"{row['model']} ran on {row['device']}, the reference on {ref['device']}")
    if problems:
        raise SystemExit(f"{name}: not comparable with the reference run: " + "; ".join(problems))


def ratios(reference: dict, kgrec_files: list[dict]) -> list[dict]:
    """One row per kgrec model: its epochs from every file, pooled, held against the reference's epochs."""
    ref_epochs = reference["reference_epoch_s"]
    ref_mean = statistics.mean(ref_epochs)
    rows = []
    for model in dict.fromkeys(row["model"] for file in kgrec_files for row in file["runs"]):
        runs = [row for file in kgrec_files for row in file["runs"] if row["model"] == model]
        epochs = sorted(t for row in runs for t in row["epochs_s"])
        median = statistics.median(epochs)
        rows.append({"model": model, "batch_size": runs[0]["batch_size"], "threads": runs[0]["threads"],
                     "kgrec_epochs_s": epochs, "kgrec_median_epoch_s": round(median, 3),
                     "reference_epochs_s": ref_epochs, "reference_mean_epoch_s": round(ref_mean, 3),
                     "reference_batch_size": reference["batch_size"],
                     "ratio_mean_over_median": round(ref_mean / median, 2),
                     "ratio_range": [round(min(ref_epochs) / max(epochs), 2), round(max(ref_epochs) / min(epochs), 2)]})
    return rows


def main() -> None:
    args = parse_args()
    reference = json.loads(args.reference.read_text())
    kgrec_files = [json.loads(path.read_text()) for path in args.kgrec]
    for path, file in zip(args.kgrec, kgrec_files, strict=True):
        check_same_settings(reference, file, path)
    result = {
        "what": "seconds per training epoch on dbbook2014, all of train.txt, evaluation excluded: kgrec "
                "(bench/epoch_time.py), the reference CIKGRec code (bench/reference/time_reference.py), kgrec again",
        "machine": reference["machine"],
        "ratios": ratios(reference, kgrec_files),
        "kgrec_before_reference": kgrec_files[0],
        "reference_code": reference,
        **({"kgrec_after_reference": kgrec_files[1]} if len(kgrec_files) > 1 else {}),
        **({"kgrec_further_runs": kgrec_files[2:]} if len(kgrec_files) > 2 else {}),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for row in result["ratios"]:
        print(f"{row['model']:<18} batch {row['batch_size']:>5}: {row['kgrec_median_epoch_s']:7.2f} s/epoch against "
              f"{row['reference_mean_epoch_s']:.1f} s: {row['ratio_mean_over_median']}x "
              f"({row['ratio_range'][0]}-{row['ratio_range'][1]}x)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
