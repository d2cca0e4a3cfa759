"""One lookup order for dataset folders, used by every command that takes a dataset by name.

1. an explicit path (``--path``, an argument): the dataset folder itself;
2. ``$KGREC_DATA_DIR/<name>``;
3. ``data_home()/<name>`` (where ``kgrec data fetch`` installs: ``$XDG_DATA_HOME/kgrec/datasets``,
   else ``~/.local/share/kgrec/datasets``);
4. the shipped ``kgrec/shipped/datasets/<name>``, package data of ``kgrec`` (dbbook2014 ships there).

The first folder that exists wins; nothing else on disk is searched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from ingest.catalog import find_entry
from kg_store.errors import DatasetNotFoundError
from kg_store.graph_model import check_dataset_name

DATA_DIR_ENV = "KGREC_DATA_DIR"


@dataclass(frozen=True)
class Location:
    """One place the lookup order checks for a dataset."""

    label: str  # "explicit", "KGREC_DATA_DIR", "data home", "shipped"
    path: Path

    @property
    def exists(self) -> bool:
        return self.path.is_dir()


def data_home() -> Path:
    """Where fetched datasets live: ``$XDG_DATA_HOME/kgrec/datasets``, else ``~/.local/share/...``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kgrec" / "datasets"


def shipped_root() -> Path:
    """``kgrec/shipped``: the data that travels inside the ``kgrec`` package, in a checkout and a wheel.

    Found through the import system without importing ``kgrec`` (its ``__init__`` loads the API,
    which imports this module), so the answer is the package Python would import.
    """
    spec = find_spec("kgrec")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the kgrec package is not importable, so its shipped data cannot be found")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "shipped"


def shipped_data_dir() -> Path:
    """The folder of the shipped datasets, one folder each (``kgrec/shipped/datasets``)."""
    return shipped_root() / "datasets"


def shipped_response_cache(dataset: str, task: str) -> Path | None:
    """The shipped JSONL of cached LLM answers for (``dataset``, ``task``), or None when none ships.

    ``("dbbook2014", "interests")`` ships, so the demo infers interests without running a model.
    """
    check_dataset_name(dataset)
    if not task.isidentifier():
        raise ValueError(f"task {task!r} is not a plain name such as 'interests'")
    path = shipped_root() / "llm_cache" / f"{dataset}-{task}.jsonl"
    return path if path.is_file() else None


def describe_locations(name: str, explicit: Path | str | None = None) -> list[Location]:
    """Every place the lookup order checks for ``name``, in order (``KGREC_DATA_DIR`` only when set)."""
    check_dataset_name(name)
    places: list[Location] = []
    if explicit is not None:
        places.append(Location("explicit", Path(explicit).expanduser()))
    env_dir = os.environ.get(DATA_DIR_ENV)
    if env_dir:
        places.append(Location(DATA_DIR_ENV, Path(env_dir).expanduser() / name))
    places.append(Location("data home", data_home() / name))
    places.append(Location("shipped", shipped_data_dir() / name))
    return places


def locate_dataset(name: str, explicit: Path | str | None = None) -> Path:
    """The folder of dataset ``name`` by the lookup order; a clear error when it is nowhere.

    An explicit path that does not exist is an error of its own: the caller said where to look.
    """
    places = describe_locations(name, explicit)
    if explicit is not None:
        if places[0].exists:
            return places[0].path
        raise DatasetNotFoundError(f"{places[0].path} is not a folder (given as the path of dataset {name!r}).")
    for place in places:
        if place.exists:
            return place.path
    raise DatasetNotFoundError(_not_found_message(name, places))


def locate_if_present(name: str) -> Location | None:
    """The location the lookup order would use for ``name``, or None (for listings)."""
    return next((place for place in describe_locations(name) if place.exists), None)


def _not_found_message(name: str, places: list[Location]) -> str:
    where = ", ".join(str(place.path) for place in places)
    if find_entry(name) is not None:
        advice = f"run 'kgrec data fetch {name}' to download it"
    else:
        advice = (f"it is not in the catalog ('kgrec data list'), so put its files in {data_home() / name} "
                  f"or set {DATA_DIR_ENV} to a folder that holds {name}/")
    return f"Dataset {name!r} was not found in {where}; {advice}."
