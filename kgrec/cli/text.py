"""``kgrec text encode|nearest``: sentence vectors of item and user text, stored and indexed in Neo4j.

Thin wrappers over :func:`kgrec.encode_texts` and :func:`kgrec.nearest_texts`; this module parses
options and prints counts.
"""

from __future__ import annotations

import json

import click

from kgrec.cli.common import KgrecGroup, open_store
from kgrec.knowledge_api import encode_texts, nearest_texts

_LABEL = click.Choice(["item", "user"], case_sensitive=False)
_ENCODER_HELP = ("Sentence-transformers or Hugging Face encoder: name (local cache) or folder "
                 "(default: the packaged all-MiniLM-L6-v2).")


@click.group(cls=KgrecGroup)
def text() -> None:
    """Text features: encode node text into cached vectors with a vector index; nearest neighbours."""


@text.command("encode")
@click.option("--dataset", required=True)
@click.option("--label", type=_LABEL, default="item", show_default=True)
@click.option("--property", "prop", default="description", show_default=True,
              help="Text property (description, description_ungrounded, plot, title), or 'facts' for "
                   "items: title, genres, year and IMDb plot.")
@click.option("--allow-property", is_flag=True, help="Accept a --property outside the known list.")
@click.option("--name", default=None, help="Vector name: property text_vec_NAME (default: the --property).")
@click.option("--encoder", default=None, help=_ENCODER_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Texts per forward pass.")
@click.option("--progress/--no-progress", default=None, help="Force progress bars on or off.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def encode(ctx: click.Context, dataset: str, label: str, prop: str, allow_property: bool, name: str | None,
           encoder: str | None, batch_size: int, progress: bool | None, as_json: bool) -> None:
    """Encode texts whose vector is missing or stale (changed text or encoder); print the counts."""
    report = encode_texts(dataset, label, prop, name=name, encoder=encoder, batch_size=batch_size,
                          allow=[prop] if allow_property else (), progress=progress, store=open_store(ctx))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"{report.nodes:,} {report.label} nodes: {report.encoded:,} encoded, {report.cached:,} cached, "
               f"{report.truncated:,} truncated (over {report.max_tokens} tokens), "
               f"{report.missing:,} missing text"
               + (f"; {report.texts_per_second:.1f} texts/s" if report.encoded else "")
               + f"; encoder {report.encoder}.")
    click.echo(f"Vectors in text_vec_{report.name}; index {report.index} "
               f"{'created' if report.index_created else 'already there'}.")
    if report.hint:
        click.echo(report.hint)


@text.command("nearest")
@click.option("--dataset", required=True)
@click.option("--label", type=_LABEL, default="item", show_default=True)
@click.option("--query", required=True, help="Text to search for (encoded like the stored vectors).")
@click.option("--name", default="description", show_default=True, help="Vector name given to encode.")
@click.option("--encoder", default=None, help="Encoder for the query (default: the stored vectors' one).")
@click.option("-k", type=click.IntRange(1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def nearest_command(ctx: click.Context, dataset: str, label: str, query: str, name: str, encoder: str | None,
                    k: int, as_json: bool) -> None:
    """The k nodes whose text vectors are closest (cosine) to the query."""
    hits = nearest_texts(dataset, query, label=label, k=k, name=name, encoder=encoder, store=open_store(ctx))
    if as_json:
        click.echo(json.dumps(hits, indent=2))
        return
    for hit in hits:
        click.echo(f"{hit['score']:.3f}  {hit['id']}  {hit['title'] or ''}")
