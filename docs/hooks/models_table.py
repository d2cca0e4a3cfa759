"""MkDocs hook: the pages made at build time from the model registry and the Table 1 results, so they never go stale.

- ``models.md``: a row per registered ranking model (``recommender.registry``): its paper, what it
  uses beyond the interactions, its default settings (``resolve_config``: the fields of its own
  config, those that differ from ``RankingConfig``'s, its learning rate and batch size and any other
  training setting its defaults change) and its seconds per training epoch on dbbook2014 from
  ``bench/results/table1.jsonl`` ("not measured" without a full run there);
- ``benchmarks/table1.md``: CIKGRec's Table 1 from the same file (``bench/table1_report.py``), with
  its figure as ``benchmarks/table1_sparsity.svg``. Every test-selected row further than 5 % from the
  paper's R@50 needs a ``### <model>`` heading naming its measured cause under the page's causes
  marker: a missing one is a warning, which fails ``mkdocs build --strict``.

Each page holds a marker comment where its generated part goes; the configs are torch-free, so no
model module is imported.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:           # bench/ is not an installed package
    sys.path.insert(0, str(REPO))

from bench.table1_report import far_rows, markdown, model_order, read_rows, seconds_per_epoch, sparsity_svg  # noqa: E402

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

RESULTS = REPO / "bench" / "results" / "table1.jsonl"
MODELS_PAGE, TABLE1_PAGE = "models.md", "benchmarks/table1.md"
SVG = "benchmarks/table1_sparsity.svg"
MODELS_MARKER = "<!-- generated: models table -->"
TABLE1_MARKER = "<!-- generated: table 1 -->"
CAUSES_MARKER = "<!-- causes of the rows far from the paper -->"
USES = (("kg", "KG"), ("interests", "interests"), ("contrast", "contrast"))
log = logging.getLogger(f"mkdocs.plugins.{__name__}")


def _value(value: Any) -> str:
    if dataclasses.is_dataclass(value):
        return f"{type(value).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(value).items()) + ")"
    return repr(value)


def default_settings(model: str) -> str:
    """The model's own settings as ``resolve_config`` gives them, then lr, batch size and any other
    training default the model changes."""
    from recommender.config import TrainConfig, resolve_config
    from recommender.models.configs import RankingConfig

    model_config, train_config = resolve_config(model, "")
    base, plain = RankingConfig(), TrainConfig()
    own = [f.name for f in dataclasses.fields(model_config)
           if f.name not in RankingConfig.field_names() or getattr(model_config, f.name) != getattr(base, f.name)]
    train = ["lr", "batch_size"] + [f.name for f in dataclasses.fields(train_config) if f.name not in ("lr", "batch_size")
                                    and getattr(train_config, f.name) != getattr(plain, f.name)]
    pairs = [(name, getattr(model_config, name)) for name in own] + [(name, getattr(train_config, name)) for name in train]
    return ", ".join(f"`{name}={_value(value)}`" for name, value in pairs)


def models_table(rows: list[dict]) -> str:
    """A row per registered ranking model, in registration order."""
    from recommender import registry

    timings = seconds_per_epoch(rows)
    lines = ["| model | what it is | paper | " + " | ".join(label for _, label in USES)
             + " | default settings | s per training epoch on dbbook2014 |",
             "| --- | --- | --- |" + " :---: |" * len(USES) + " --- | --- |"]
    for name in model_order(registry.model_names()):      # Table 1's order, bprmf first, any other after
        spec = registry.model_spec(name)
        uses = " | ".join("yes" if key in spec.uses else "" for key, _ in USES)
        lines.append(f"| `{name}` | {spec.summary} | {spec.paper} | {uses} | {default_settings(name)} | "
                     f"{timings.get(name, 'not measured')} |")
    return "\n".join(lines)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the user-group figure of the Table 1 page, made from the results file."""
    from mkdocs.structure.files import File

    svg = sparsity_svg(read_rows(RESULTS))
    if svg:
        files.append(File.generated(config, SVG, content=svg))
    return files


def on_page_markdown(text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Fill the marker of the Models page or the Table 1 page; warn for a far row with no named cause."""
    from mkdocs.exceptions import PluginError

    source = page.file.src_uri
    if source not in (MODELS_PAGE, TABLE1_PAGE):
        return text
    marker = MODELS_MARKER if source == MODELS_PAGE else TABLE1_MARKER
    if marker not in text:
        raise PluginError(f"{source} lost its marker {marker}: the generated table has nowhere to go.")
    rows = read_rows(RESULTS)
    if source == MODELS_PAGE:
        return text.replace(marker, models_table(rows))
    causes = text.split(CAUSES_MARKER, 1)[1] if CAUSES_MARKER in text else ""
    for model, device, gap in far_rows(rows):
        if f"### {model}" not in causes:
            log.warning(f"{source}: test-selected {model} on {device} is {gap:+.1%} from the paper's R@50 and the "
                        f"page names no cause for it (a '### {model}' heading under the causes marker).")
    figure = Path(SVG).name if files.get_file_from_path(SVG) else None
    return text.replace(marker, markdown(rows, "bench/results/table1.jsonl", figure))
