"""The data half of the :mod:`kgrec` facade: connect, ingest, split, and the LLM knowledge stages.

Every function takes an optional ``store``; without one it uses the connection :func:`connect`
made last (or makes one from the environment / the local server). Heavy packages (torch,
sentence-transformers, the LLM backends) are imported inside the calls that need them, so
``import kgrec`` stays quick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError, KgrecError
from kg_store.progress import Progress
from kg_store.settings import Neo4jSettings
from kgrec import api
from kgrec.results import (
    ClusterSummary,
    Descriptions,
    InferredInterests,
    IngestResult,
    InterestSet,
    LLMRun,
    ValidSplit,
)

if TYPE_CHECKING:
    from kg_store.local_server import ServerOptions, ServerStatus
    from knowledge.descriptions import DescribeConfig, DescribeReport
    from knowledge.interests.cluster import ClusterOptions
    from knowledge.interests.infer import InferConfig
    from knowledge.llm.base import ChatBackend
    from knowledge.llm.runner import Shard

    Backend = str | type[ChatBackend] | ChatBackend

_default_store: GraphStore | None = None


def start_local_neo4j(home: Path | None = None, options: ServerOptions | None = None) -> ServerStatus | None:
    """Start kgrec's own Neo4j in ``home`` (or find it running); returns None, starting nothing,
    when ``NEO4J_URI`` points at another server.

    The server needs no Docker: kgrec runs it itself, as ``kgrec neo4j start`` does.

    ```python
    import kgrec

    status = kgrec.start_local_neo4j()
    if status is not None:
        print(status.bolt_uri, status.browser_url)
    ```
    """
    from kg_store.settings import settings_from_env

    return None if settings_from_env() is not None else api.start_local_neo4j(home, options)


def connect(target: Neo4jSettings | GraphStore | str | None = None, *, database: str | None = None,
            local_home: Path | None = None) -> GraphStore:
    """A verified connection, which becomes the default of every later call given no ``store``.

    ``target``: nothing (``NEO4J_*`` settings, else kgrec's local server in ``local_home``),
    :class:`~kg_store.settings.Neo4jSettings`, or an existing store. A ``str`` is a database
    name, as the first argument of earlier versions was.

    ```python
    import kgrec

    kgrec.start_local_neo4j()        # no-op when NEO4J_URI is set
    store = kgrec.connect()          # or kgrec.connect(settings), kgrec.connect(existing_store)
    ```
    """
    global _default_store
    if isinstance(target, str):         # the database name, the first argument of earlier versions
        target, database = None, database or target
    if target is None:
        store = api.connect(database=database, local_home=local_home)
    else:
        if isinstance(target, GraphStore):
            store = target if database is None else GraphStore(target.settings.with_database(database))
        else:
            store = GraphStore(target.with_database(database))
        store.verify()
    _default_store = store
    return store


def new_connection(database: str | None = None, local_home: Path | None = None) -> GraphStore:
    """A verified connection of its own (``NEO4J_*`` settings, else kgrec's local server in
    ``local_home``) that leaves the default connection as it is: for a caller that passes ``store``
    to every call, as the ``kgrec`` command does.

    ```python
    import kgrec

    store = kgrec.new_connection(database="neo4j")
    print(kgrec.list_datasets(store=store))
    ```
    """
    return api.connect(database=database, local_home=local_home)


def default_settings() -> Neo4jSettings:
    """The default connection's settings, else the ones :func:`connect` would use; connects to nothing."""
    from kg_store.settings import resolve_settings

    return _default_store.settings if _default_store is not None else resolve_settings()


def resolve_store(store: GraphStore | None) -> GraphStore:
    """``store``, else the default connection (made on first use)."""
    return store if store is not None else (_default_store or connect())


def ingest(what: str | Path, path: str | Path | None = None, *, dataset: str | None = None,
           store: GraphStore | None = None, bulk: bool = False, batch_size: int | None = None,
           workers: int | None = None, skip_bad_lines: bool = False, verify: bool = True,
           progress: Progress = None, local_home: Path | None = None, catalog_only: bool = False,
           **options: Any) -> IngestResult:
    """Validate a dataset completely, then write it to the graph (idempotent).

    ``what`` is, in this order: a registered source name (``cikg``, ``kgat``, ``movielens``,
    ``recbole``, ``table``) reading ``path`` (a folder; ``table``: its mapping file); a catalog
    dataset name (``dbbook2014``, ...) found by the lookup order (``path`` overrides it) with
    checksums checked unless ``verify=False``; or a folder, whose layout is read from its files
    (or a ``.toml`` table mapping). ``dataset`` names it in the graph (default: the catalog name,
    the folder's or the mapping's). ``catalog_only`` reads ``what`` as a catalog name only (an
    unknown name fails as ``kgrec ingest dataset`` does). ``bulk`` loads through Neo4j's import
    tool into an empty database of kgrec's own local server, which is restarted. ``options`` are
    the source's config fields (``test_ratio``, ``split_seed``, ...).

    ```python
    import kgrec

    kgrec.ingest("dbbook2014")                                  # a catalog dataset
    kgrec.ingest("cikg", "data/my-cikg", dataset="mine")        # a folder in a named layout
    report = kgrec.ingest("data/ml-100k", test_ratio=0.2)       # layout from the files
    print(report.to_json())
    ```
    """
    from ingest import registry as sources
    from ingest.catalog import find_entry

    store = resolve_store(store)
    name = what if isinstance(what, str) else None
    batch_size, workers = _write_settings(name, bulk=bulk, batch_size=batch_size, workers=workers,
                                          skip_bad_lines=skip_bad_lines)
    if catalog_only or (name is not None and name not in sources.names() and find_entry(name) is not None):
        if options:
            raise ConfigError(f"A catalog dataset is read with its own layout; drop {', '.join(sorted(options))}.")
        return IngestResult.of(api.ingest_named(
            store, str(what), dataset=dataset, path=path, batch_size=batch_size, progress=progress,
            skip_bad_lines=skip_bad_lines, verify=verify, bulk=bulk, local_home=local_home, workers=workers))
    if name is not None and name in sources.names():
        if path is None:
            raise ConfigError(f"Source '{name}' reads a folder: give its path.")
        source, folder = name, Path(path)
    else:
        if path is not None:
            raise ConfigError(f"{what!r} is no source or catalog name; known sources: "
                              f"{', '.join(sources.names())}.")
        folder = Path(what)
        if not folder.exists():
            raise ConfigError(f"{what!r} is no source, catalog dataset, folder or mapping file.")
        source = sources.detect(folder)   # KGAT folders read as CIKG unless named; a .toml file as a table mapping
    dataset = dataset or (folder.stem if folder.is_file() else folder.resolve().name)
    if bulk:
        report = api.ingest_bulk(store, source, folder, dataset, progress, local_home,
                                 skip_bad_lines=skip_bad_lines, **options)
    else:
        report = api.ingest(store, source, folder, dataset, batch_size, progress, workers,
                            skip_bad_lines=skip_bad_lines, **options)
    return IngestResult.of(report)


def _write_settings(source: str | None, **given: Any) -> tuple[int, int]:
    """The batch size and workers to write with (defaults for None). A source that writes its own nodes
    (``writes_records`` False) takes none of the record writer's options: any given one is an error."""
    from ingest import registry as sources
    from ingest.writer import DEFAULT_INGEST_WORKERS
    from kg_store.batching import DEFAULT_BATCH_SIZE

    named = [f"{key}={value!r}" for key, value in given.items() if value not in (None, False)]
    if named and source in sources.names() and not sources.get(source).writes_records:
        raise ConfigError(f"Source '{source}' links a graph already in Neo4j and writes only kgrec's own nodes, in "
                          f"one transaction: bulk, batch_size, workers and skip_bad_lines do not apply "
                          f"(given: {', '.join(named)}).")
    return given["batch_size"] or DEFAULT_BATCH_SIZE, given["workers"] or DEFAULT_INGEST_WORKERS


def split(dataset: str, *, ratio: float | None = None, seed: int | None = None, force: bool = False,
          store: GraphStore | None = None) -> ValidSplit:
    """Store the dataset's validation split: a seeded ``ratio`` (1/8) of each user's train interactions.

    Drawn once and kept (``force`` draws again), so interest prompts, training and evaluation all
    see the same train set; ``drawn`` is False when an existing split was left alone.

    ```python
    import kgrec

    report = kgrec.split("dbbook2014", ratio=0.125, seed=2024)
    print(report.valid_edges, report.drawn)
    ```
    """
    from kg_store.splits import DEFAULT_VALID_RATIO, DEFAULT_VALID_SEED, store_valid_split

    report = store_valid_split(resolve_store(store), dataset, ratio=DEFAULT_VALID_RATIO if ratio is None else ratio,
                               seed=DEFAULT_VALID_SEED if seed is None else seed, force=force)
    return ValidSplit.of(report)


def _backend(backend: Backend, backend_options: Mapping[str, Any] | None) -> ChatBackend:
    from knowledge.llm.base import create_backend

    return create_backend(backend, **dict(backend_options or {}))


def _describe_result(dataset: str, kind: str, report: DescribeReport) -> Descriptions:
    return Descriptions(dataset, kind, report.subjects, dict(report.sources), report.cut_tokens,
                        [LLMRun.of(run) for run in report.runs], report)


def describe_items(dataset: str, backend: Backend = "transformers", *, store: GraphStore | None = None,
                   config: DescribeConfig | None = None, backend_options: Mapping[str, Any] | None = None,
                   limit: int | None = None, dry_run: bool = False, progress: Progress = None,
                   shard: Shard | None = None, **config_fields: Any) -> Descriptions:
    """Grounded (and title-only) LLM descriptions of every item, written to ``Item.description``.

    ``backend``: a backend name (``transformers``, ``openai``, ...), class or instance;
    ``config_fields`` override :class:`~knowledge.descriptions.DescribeConfig` (``domain``,
    ``max_prompt_tokens``, ...). Answers go through the graph's cache, so a rerun asks nothing twice.
    ``shard`` asks only one share of the prompts, so several processes can split the work.

    ```python
    import kgrec

    done = kgrec.describe_items("ml1m", "openai", domain="movie",
                                backend_options={"base_url": "http://127.0.0.1:8080/v1", "model": "m"})
    print(done.subjects, done.llm[0].sent)
    ```
    """
    from knowledge.descriptions import DescribeConfig
    from knowledge.descriptions import describe_items as run

    config = replace(config or DescribeConfig(), **config_fields)
    report = run(resolve_store(store), dataset, _backend(backend, backend_options), config, limit=limit,
                 dry_run=dry_run, progress=progress, shard=shard)
    return _describe_result(dataset, "item", report)


def describe_users(dataset: str, backend: Backend = "transformers", *, history: str = "train",
                   store: GraphStore | None = None, config: DescribeConfig | None = None,
                   backend_options: Mapping[str, Any] | None = None, limit: int | None = None,
                   dry_run: bool = False, progress: Progress = None, shard: Shard | None = None,
                   **config_fields: Any) -> Descriptions:
    """An LLM description of each user's taste from demographics and a history (describe items first).

    ``history="train"`` writes ``User.description``; ``"ctr-profile"`` writes
    ``User.description_profile`` from the CTR profile only (safe for CTR text features). ``shard``
    as for :func:`describe_items`.

    ```python
    import kgrec

    done = kgrec.describe_users("ml1m", "transformers", history="ctr-profile", domain="movie")
    print(done.to_dict()["subjects"])
    ```
    """
    from knowledge.descriptions import DescribeConfig
    from knowledge.descriptions import describe_users as run

    config = replace(config or DescribeConfig(), **config_fields)
    report = run(resolve_store(store), dataset, _backend(backend, backend_options), config, history=history,
                 limit=limit, dry_run=dry_run, progress=progress, shard=shard)
    return _describe_result(dataset, "user", report)


def _answers_file(responses: str | Path) -> Path:
    """A JSONL of cached answers: a file, or the one shipped for a catalog dataset's interests."""
    from ingest.locate import shipped_response_cache

    if Path(responses).is_file():
        return Path(responses)
    shipped = shipped_response_cache(str(responses), "interests") if isinstance(responses, str) else None
    if shipped is None:
        raise ConfigError(f"{str(responses)!r} is neither a JSONL file nor a dataset that ships interest answers.")
    return shipped


def infer_interests(dataset: str, backend: Backend = "transformers", *, store: GraphStore | None = None,
                    config: InferConfig | None = None, backend_options: Mapping[str, Any] | None = None,
                    responses: str | Path | None = None, limit: int | None = None, dry_run: bool = False,
                    progress: Progress = None, shard: Shard | None = None,
                    **config_fields: Any) -> InferredInterests:
    """Ask an LLM for each user's interests from the train history (CIKGRec Eq. 1).

    Fixes the validation split first (prompts see train only). ``responses`` imports cached
    answers before asking: a JSONL file, or a catalog name whose answers ship with kgrec
    (``dbbook2014``). ``config_fields`` override :class:`~knowledge.interests.infer.InferConfig`;
    ``shard`` asks only one share of the users, so several processes can split the work.

    ```python
    import kgrec

    asked = kgrec.infer_interests("dbbook2014", "transformers", responses="dbbook2014", domain="books")
    print(asked.users, asked.llm.cached, asked.llm.sent)
    ```
    """
    from knowledge.interests.infer import InferConfig
    from knowledge.interests.infer import infer_interests as run
    from knowledge.llm.cache import import_jsonl

    store, config = resolve_store(store), replace(config or InferConfig(), **config_fields)
    imported = import_jsonl(store, _answers_file(responses))[0] if responses is not None else 0
    report = run(store, dataset, _backend(backend, backend_options), config, limit=limit, dry_run=dry_run,
                 progress=progress, shard=shard)
    split_report = ValidSplit.of(report.valid_split) if report.valid_split is not None else None
    return InferredInterests(dataset, config.task(dataset), report.users, report.empty_histories,
                             report.unparseable, LLMRun.of(report.run), split_report, imported, report)


def interest_phrases(dataset: str, phrases: Mapping[int, Sequence[str]] | str | Path | None = None, *,
                     task: str | None = None, store: GraphStore | None = None) -> dict[int, list[str]]:
    """``{user: [phrase, ...]}`` as :func:`cluster_interests` reads ``phrases`` (the stored answers by
    default), so a caller can check them before clustering."""
    return _user_phrases(resolve_store(store), dataset, phrases, task)


def _user_phrases(store: GraphStore, dataset: str, phrases: Mapping[int, Sequence[str]] | str | Path | None,
                  task: str | None) -> dict[int, list[str]]:
    from knowledge.interests.infer import inferred_phrases
    from knowledge.interests.phrases import read_phrases_jsonl

    if phrases is None:
        return inferred_phrases(store, dataset, task)
    if isinstance(phrases, str | Path):
        return read_phrases_jsonl(phrases)
    return {int(user): list(found) for user, found in phrases.items()}


def cluster_interests(dataset: str, set_name: str, *, store: GraphStore | None = None,
                      options: ClusterOptions | None = None,
                      phrases: Mapping[int, Sequence[str]] | str | Path | None = None, task: str | None = None,
                      allow_empty: bool = False, **option_fields: Any) -> InterestSet:
    """Cluster users' interest phrases and write them as interest set ``set_name`` (only that set changes).

    ``phrases``: by default the answers :func:`infer_interests` stored (``task`` picks another
    prompt task), else a ``{user: [phrase, ...]}`` mapping or a JSONL file of
    ``{"user": id, "phrases": [...]}`` lines. ``option_fields`` override
    :class:`~knowledge.interests.cluster.ClusterOptions`. Nothing is written when no cluster is found,
    unless ``allow_empty`` (then the set is written empty, as ``kgrec interests cluster`` does).

    ```python
    import kgrec

    found = kgrec.cluster_interests("dbbook2014", "smollm2", options=kgrec.ClusterOptions(min_cluster_size=5))
    print(found.interests, found.edges, [c.label for c in found.clusters[:3]])
    ```
    """
    from kg_store.interest_sets import check_interest_set_name, write_interest_set
    from knowledge.interests.cluster import ClusterOptions
    from knowledge.interests.cluster import cluster_interests as cluster

    check_interest_set_name(set_name)
    store = resolve_store(store)
    options = replace(options or ClusterOptions(), **option_fields)
    user_phrases = _user_phrases(store, dataset, phrases, task)
    if not user_phrases:
        raise KgrecError(f"No interest phrases for '{dataset}': run kgrec.infer_interests first, or pass phrases.")
    clustering = cluster(user_phrases, options)
    if not clustering.clusters and not allow_empty:
        raise KgrecError(f"Clustering {len(user_phrases):,} users' phrases found no interest (every phrase was "
                         "noise): lower min_cluster_size, or check the answers.")
    written = write_interest_set(store, dataset, set_name, clustering)
    return InterestSet(dataset, set_name, clustering.method, len(user_phrases), written["interests"],
                       written["edges"], written["edges_skipped"], dict(clustering.quality),
                       [ClusterSummary(c.id, c.label, c.size) for c in clustering.clusters], clustering, written)
