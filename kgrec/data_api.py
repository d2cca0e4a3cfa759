"""Datasets on disk through the :mod:`kgrec` facade: the catalog, verified downloads, the lookup order, synthetic sets.

What ``kgrec data`` does, as calls. Nothing here touches the graph: :func:`kgrec.ingest` loads what
these calls find or fetch. The lookup order for a dataset NAME is an explicit path, then
``KGREC_DATA_DIR/NAME``, then the data home (``$XDG_DATA_HOME/kgrec/datasets`` or
``~/.local/share/kgrec/datasets``), then the sets shipped inside kgrec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.catalog import CATALOG, get_entry
from ingest.locate import data_home, describe_locations, locate_if_present
from ingest.synthetic import SyntheticConfig
from kgrec.admin_results import CatalogDataset, DatasetLocation, SyntheticData


def catalog() -> list[CatalogDataset]:
    """Every catalog dataset: its layout, licence and citation, and where the lookup order finds it.

    ```python
    import kgrec

    for entry in kgrec.catalog():
        print(entry.name, entry.layout, entry.location or "absent")
    ```
    """
    rows = []
    for entry in CATALOG.values():
        found = locate_if_present(entry.name)
        rows.append(CatalogDataset(entry.name, entry.layout, entry.verified, str(found.path) if found else None,
                                   found.label if found else None, entry.licence, entry.homepage, entry.citation,
                                   entry.description))
    return rows


def fetch_dataset(name: str, home: Path | str | None = None, *, progress: bool | None = None,
                  trust_unverified: bool = False, echo: Callable[[str], None] | None = None) -> Path:
    """Download catalog dataset ``name``, check every file's sha256, install it as ``<home>/<name>``.

    ``home`` defaults to the data home. A present folder is verified and left alone; an interrupted
    download resumes on the next call. Files the catalog has no sha256 for are refused unless
    ``trust_unverified``. ``echo`` receives the progress lines (default: stderr); ``progress``
    draws bars (None: only on a terminal).

    ```python
    import kgrec

    folder = kgrec.fetch_dataset("ml-1m")
    kgrec.ingest("ml-1m")                 # finds the same folder
    ```
    """
    from ingest.download import fetch_dataset as fetch

    entry = get_entry(name)
    options: dict[str, Any] = {} if echo is None else {"echo": echo}
    return fetch(entry, home or data_home(), progress=progress, trust_unverified=trust_unverified, **options)


def dataset_locations(name: str, path: Path | str | None = None) -> list[DatasetLocation]:
    """Every place the lookup order checks for ``name``, in order, each saying whether it ``exists``.

    ```python
    import kgrec

    for place in kgrec.dataset_locations("dbbook2014"):
        print(place.label, place.path, place.exists)
    ```
    """
    return [DatasetLocation.of(place) for place in describe_locations(name, path)]


def locate_dataset(name: str, path: Path | str | None = None) -> Path:
    """The folder the lookup order finds for ``name`` (``path`` first when given); a
    ``DatasetNotFoundError`` naming every place looked at when it is nowhere.

    ```python
    import kgrec

    print(kgrec.locate_dataset("dbbook2014"))
    ```
    """
    from ingest.locate import locate_dataset as locate

    return locate(name, path)


def write_synthetic(out: Path | str, config: SyntheticConfig | None = None, **config_fields: Any) -> SyntheticData:
    """Write a synthetic CIKG-layout set with DBbook2014's shape into ``out``, for scale tests.

    ``config_fields`` override :class:`~ingest.synthetic.SyntheticConfig` (``interactions``, the
    scale every other count follows; ``seed``). Read it back with ``kgrec.ingest("cikg", out)``.

    ```python
    import kgrec

    made = kgrec.write_synthetic("data/synth", interactions=50_000, seed=1)
    print(made.users, made.items, made.interactions)
    ```
    """
    from ingest.synthetic import write_synthetic as write

    return SyntheticData.of(write(out, replace(config or SyntheticConfig(), **config_fields)))
