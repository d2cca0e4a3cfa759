"""Table 1's markdown and its user-activity figure, made from the results file's rows alone.

``bench/table1.py`` writes them beside its results file, and the docs hook
(``docs/hooks/models_table.py``) makes the same page at build time, so the two never differ. numpy
and the standard library only: the figure is plain SVG text (the environment has no plotting
library, and a hand-made SVG is the same bytes on every machine).

A table shows one kind of row: the full runs, or, in a file without any, the smoke runs under a
banner. Means and standard deviations are over seeds (population std, as numpy gives it), per
model, protocol and device.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

# CIKGRec's Table 1, DBbook2014 (the paper's protocol, best epoch on test): R@50, R@100, N@50, N@100
PAPER: dict[str, tuple[float, float, float, float]] = {
    "lightgcn": (0.4214, 0.5358, 0.2230, 0.2481),
    "sgl": (0.4258, 0.5249, 0.2350, 0.2567),
    "simgcl": (0.4280, 0.5369, 0.2376, 0.2610),
    "cke": (0.3419, 0.4448, 0.1832, 0.2060),
    "cfkg": (0.3586, 0.4559, 0.1627, 0.1816),
    "kgat": (0.4174, 0.5309, 0.2110, 0.2360),
    "kgin": (0.4147, 0.5337, 0.2200, 0.2462),
    "kgcl": (0.4308, 0.5271, 0.2453, 0.2666),
    "mcclk": (0.4376, 0.5491, 0.2054, 0.2273),
    "kgrec-sr": (0.4415, 0.5497, 0.2373, 0.2611),
    "cikgrec": (0.4642, 0.5756, 0.2494, 0.2739),
}
METRICS = ("recall@50", "recall@100", "ndcg@50", "ndcg@100")
LABELS = ("R@50", "R@100", "N@50", "N@100")
WITHIN = 0.05            # a test-selected mean R@50 this close to the paper's (relative) reproduces it
PROTOCOL_LABELS = {"refit": "refit", "test-selected": "test-selected (epoch chosen on test)"}
FAR_HEADING = "Test-selected rows further than 5 % from the paper's R@50"
# twelve colours far enough apart to tell eleven lines apart
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#000000", "#aec7e8")


def read_rows(path: Path) -> list[dict]:
    """Finished jobs of a results file, the last one per (model, protocol, seed, device, smoke or not)."""
    rows: dict[tuple, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                key = (row["model"], row["protocol"], row["seed"], row.get("device", "cpu"), bool(row.get("smoke")))
                rows[key] = row
    return list(rows.values())


def shown(rows: list[dict]) -> tuple[list[dict], bool]:
    """The rows a table shows and whether they are smoke rows: full rows when there are any."""
    full = [r for r in rows if not r.get("smoke")]
    return (full, False) if full else ([r for r in rows if r.get("smoke")], bool(rows))


def model_order(models: Iterable[str]) -> list[str]:
    """bprmf, Table 1's order, then any other model by name."""
    present = set(models)
    known = ["bprmf", *PAPER]
    return [m for m in known if m in present] + sorted(present - set(known))


def grouped(rows: list[dict]) -> list[tuple[str, str, str, list[dict]]]:
    """(model, protocol, device, rows sorted by seed), in table order."""
    key = lambda r: (r["model"], r["protocol"], r.get("device", "cpu"))
    keys = {key(r) for r in rows}
    out = []
    for model in model_order(k[0] for k in keys):
        for protocol in ("refit", "test-selected"):
            for device in sorted(d for m, p, d in keys if m == model and p == protocol):
                runs = sorted((r for r in rows if key(r) == (model, protocol, device)), key=lambda r: r["seed"])
                out.append((model, protocol, device, runs))
    return out


def mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def paper_gap(runs: list[dict]) -> float | None:
    """Relative gap of the mean test R@50 to the paper's (None for a model Table 1 lacks)."""
    paper = PAPER.get(runs[0]["model"])
    if paper is None:
        return None
    return float(np.mean([r["metrics"]["test"]["recall@50"] for r in runs])) / paper[0] - 1


def _within_cell(protocol: str, runs: list[dict]) -> str:
    gap = paper_gap(runs)
    if protocol != "test-selected" or gap is None:
        return "—"
    return f"yes ({gap:+.1%})" if abs(gap) <= WITHIN else f"**no** ({gap:+.1%})"


def results_table(rows: list[dict]) -> str:
    header = ["model", "protocol", "device", "seeds"]
    for label in LABELS:
        header += [label, f"paper {label}"]
    header += ["within 5 % of the paper's R@50", "epochs run", "best epoch", "s/epoch", "eval s", "peak MB"]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- | --- | ---: |" + " ---: |" * 8 + " --- | --- | --- |"
             + " ---: |" * 3]
    for model, protocol, device, runs in grouped(rows):
        paper = PAPER.get(model)
        cells = [model, PROTOCOL_LABELS[protocol], device, ",".join(str(r["seed"]) for r in runs)]
        for i, metric in enumerate(METRICS):
            cells += [mean_std([r["metrics"]["test"][metric] for r in runs]), f"{paper[i]:.4f}" if paper else ""]
        cells += [_within_cell(protocol, runs),
                  ",".join(str(r["metrics"]["epochs_run"]) for r in runs),
                  ",".join(str(r["metrics"]["best_epoch"]) for r in runs),
                  mean_std([r["metrics"]["seconds_per_epoch"] for r in runs], 2),
                  mean_std([r["evaluation_s"] for r in runs], 2),
                  mean_std([r["peak_rss_mb"] for r in runs], 0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def far_rows(rows: list[dict]) -> list[tuple[str, str, float]]:
    """(model, device, gap) of every test-selected group whose mean R@50 is further than 5 % from the paper's."""
    out = []
    for model, protocol, device, runs in grouped(shown(rows)[0]):
        gap = paper_gap(runs)
        if protocol == "test-selected" and gap is not None and abs(gap) > WITHIN:
            out.append((model, device, gap))
    return out


def far_list(rows: list[dict]) -> str:
    """The generated list of test-selected rows further than 5 % from the paper, each needing a named cause."""
    far = far_rows(rows)
    if not far:
        return "None: every test-selected row is within 5 % of the paper's R@50." if shown(rows)[0] else "No rows yet."
    return "\n".join(f"- `{model}` on {device}: mean R@50 {gap:+.1%} from the paper's {PAPER[model][0]:.4f}"
                     for model, device, gap in far)


def _group_spans(rows: list[dict]) -> list[tuple[str, int]]:
    """(train-interaction range, users) of each user group, from the first row's groups."""
    spans, low = [], None
    for group in rows[0]["metrics"]["sparsity_ndcg@50"]:
        spans.append((f"≤ {group['max_train_items']}" if low is None else f"{low}–{group['max_train_items']}",
                      group["users"]))
        low = group["max_train_items"] + 1
    return spans


def sparsity_table(rows: list[dict]) -> str:
    """NDCG@50 on test per user group (sparse to dense), mean ± std over seeds, per model and protocol."""
    rows = [r for r in rows if r["metrics"].get("sparsity_ndcg@50")]
    if not rows:
        return "No per-group results yet."
    labels = [f"{span} ({users:,} users)" for span, users in _group_spans(rows)]
    lines = ["| model | protocol | device | " + " | ".join(labels) + " |",
             "| --- | --- | --- |" + " ---: |" * len(labels)]
    for model, protocol, device, runs in grouped(rows):
        cells = [mean_std([r["metrics"]["sparsity_ndcg@50"][g]["value"] for r in runs]) for g in range(len(labels))]
        lines.append(f"| {model} | {PROTOCOL_LABELS[protocol]} | {device} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _panel(runs_by_model: list[tuple[str, list[float]]], x0: float, title: str, lo: float, hi: float,
           spans: list[tuple[str, int]], colours: dict[str, str]) -> list[str]:
    """One protocol's plot: a line per model across the user groups, with its y axis."""
    top, height, width = 50.0, 280.0, 300.0
    y = lambda v: top + height * (hi - v) / (hi - lo)
    x = lambda g: x0 + 20 + (width - 40) * g / max(len(spans) - 1, 1)
    out = [f'<text x="{x0 + width / 2:.1f}" y="36" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{x0}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>']
    for tick in np.linspace(lo, hi, 6):
        out.append(f'<line x1="{x0 - 4}" y1="{y(tick):.1f}" x2="{x0 + width}" y2="{y(tick):.1f}" stroke="#eee"/>'
                   f'<text x="{x0 - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.3f}</text>')
    for g, (span, users) in enumerate(spans):
        out.append(f'<text x="{x(g):.1f}" y="{top + height + 18}" text-anchor="middle">G{g + 1}: {escape(span)}</text>'
                   f'<text x="{x(g):.1f}" y="{top + height + 32}" text-anchor="middle" fill="#666">{users:,} users</text>')
    for model, values in runs_by_model:
        points = " ".join(f"{x(g):.1f},{y(v):.1f}" for g, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colours[model]}" stroke-width="2">'
                   f'<title>{escape(model)}</title></polyline>')
        out += [f'<circle cx="{x(g):.1f}" cy="{y(v):.1f}" r="3" fill="{colours[model]}"/>' for g, v in enumerate(values)]
    return out


def sparsity_svg(rows: list[dict]) -> str | None:
    """Figure 3 on DBbook2014: mean NDCG@50 on test per user group, one panel per protocol, a line per model."""
    rows = [r for r in shown(rows)[0] if r["metrics"].get("sparsity_ndcg@50")]
    if not rows:
        return None
    n_groups = len(rows[0]["metrics"]["sparsity_ndcg@50"])
    means = {(m, p): [float(np.mean([r["metrics"]["sparsity_ndcg@50"][g]["value"] for r in runs])) for g in range(n_groups)]
             for m, p, _, runs in grouped(rows)}
    values = [v for line in means.values() for v in line]
    lo, hi = np.floor(min(values) * 50) / 50, np.ceil(max(values) * 50) / 50
    hi = hi if hi > lo else lo + 0.02
    models = model_order({m for m, _ in means})
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    body = ['<svg xmlns="http://www.w3.org/2000/svg" width="900" height="400" viewBox="0 0 900 400" '
            'font-family="sans-serif" font-size="12">', '<rect width="900" height="400" fill="white"/>',
            '<text x="20" y="18">NDCG@50 on test by user group (G1 sparse to G4 dense: train interactions per user); '
            'mean over seeds</text>',
            '<text x="16" y="190" transform="rotate(-90 16 190)" text-anchor="middle">NDCG@50</text>']
    for i, protocol in enumerate(p for p in ("refit", "test-selected") if any(k[1] == p for k in means)):
        lines = [(m, means[(m, protocol)]) for m in models if (m, protocol) in means]
        body += _panel(lines, 70 + i * 370, PROTOCOL_LABELS[protocol], lo, hi, _group_spans(rows), colours)
    for i, model in enumerate(models):
        body.append(f'<rect x="790" y="{50 + i * 20}" width="14" height="4" fill="{colours[model]}"/>'
                    f'<text x="810" y="{56 + i * 20}">{escape(model)}</text>')
    return "\n".join([*body, "</svg>"]) + "\n"


def _about(rows: list[dict]) -> str:
    """Which machines, devices, threads and commits the rows come from."""
    cpus = sorted({f"{r['machine']['cpu']} ({r['machine']['cores']} cores)" for r in rows if r.get("machine")})
    commits = sorted({(r.get("commit") or "unknown")[:12] + ("+changes" if "+changes" in (r.get("commit") or "") else "")
                      for r in rows})
    return (f"{len(rows)} jobs · machines: {', '.join(cpus) or 'unknown'} · devices: "
            f"{', '.join(sorted({r.get('device', 'cpu') for r in rows}))} · torch threads per job: "
            f"{', '.join(str(t) for t in sorted({r.get('threads') for r in rows}, key=str))} · kgrec commits: "
            f"{', '.join(commits)} · epoch cap: {', '.join(str(c) for c in sorted({r['max_epochs'] for r in rows}))}")


def markdown(rows: list[dict], source: str, svg_name: str | None) -> str:
    """The whole report: results with the paper's values, the rows far from the paper, Figure 3's numbers."""
    rows, smoke = shown(rows)
    if not rows:
        return f"No results in `{source}` yet: run `bench/table1.py` (see its `--help`)."
    parts = []
    if smoke:
        parts.append(f"> **Smoke runs** (epoch cap {max(r['max_epochs'] for r in rows)}): a check that the bench runs, "
                     "not results. A full run's rows replace them.")
    parts += [f"From `{source}`: {_about(rows)}.",
              "Test metrics, mean ± std over the seeds listed. `refit`: epoch chosen on a validation split carved "
              "from train, then retrained on all of train for best epoch + 1 epochs. `test-selected`: the paper's "
              "protocol, the epoch chosen on test, for comparison with the paper only. Epochs run and best epoch "
              "(0-based) per seed, in seed order; for `refit` they are the validation phase's. s/epoch: mean "
              "training seconds per epoch; eval s: one full-ranking evaluation of every test user; peak MB: the "
              "job's own process, maximum RSS.",
              results_table(rows), f"### {FAR_HEADING}", far_list(rows),
              "### NDCG@50 on test by user activity (Figure 3)",
              "Test users in four groups by their number of train interactions, sparse to dense, each group "
              "holding about a quarter of all train interactions (KGAT's grouping, which CIKGRec's Figure 3 "
              "follows); mean ± std over seeds.",
              sparsity_table(rows)]
    if svg_name:
        parts.append(f"![NDCG@50 by user group, per model and protocol]({svg_name})")
    return "\n\n".join(parts)


def seconds_per_epoch(rows: list[dict]) -> dict[str, str]:
    """Per model, mean training seconds per epoch over its full rows, per device (the Models page's column)."""
    out: dict[str, list[str]] = {}
    full = [r for r in rows if not r.get("smoke")]
    for model in model_order({r["model"] for r in full}):
        for device in sorted({r.get("device", "cpu") for r in full if r["model"] == model}):
            runs = [r for r in full if r["model"] == model and r.get("device", "cpu") == device]
            threads = sorted({r.get("threads") for r in runs}, key=str)
            out.setdefault(model, []).append(
                f"{np.mean([r['metrics']['seconds_per_epoch'] for r in runs]):.2f} s ({device}, "
                f"{'/'.join(str(t) for t in threads)} thread{'s' * (threads != [1])})")
    return {model: "; ".join(cells) for model, cells in out.items()}
